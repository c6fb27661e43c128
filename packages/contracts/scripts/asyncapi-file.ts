export const ASYNCAPI_PATH = new URL("../asyncapi.json", import.meta.url);
export const serializeAsyncApi = (doc: unknown) => `${JSON.stringify(doc, null, 2)}\n`;
