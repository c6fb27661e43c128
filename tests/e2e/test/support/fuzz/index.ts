export { documentedCodes, matchOperation, operationsOf, type OpenApiDocument, type Operation } from "./document.ts";
export { closeConnections, sendRaw, type RawAnswer } from "./http.ts";
export { FuzzRequest, IdPool, idPatterns, requestsFor, type KnownId, type RequestOptions } from "./requests.ts";
