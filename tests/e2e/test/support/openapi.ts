import { readFileSync } from "node:fs";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";

/**
 * Every response the e2e suite gets from Quire's APIs, checked against their OpenAPI documents
 * (services/<api>/openapi.json, the committed copies): the status must be documented for the
 * route and method, and the body must match that response's schema (JSON Schema 2020-12, as
 * OpenAPI 3.1 uses it, with formats). A response the document does not describe is recorded as
 * a violation; test/support/setup.ts fails the test that got it.
 */
export type ApiName = "ingestion" | "notifier";

interface Operation {
  responses?: Record<string, { content?: Record<string, { schema?: unknown }> }>;
}
interface Document {
  paths: Record<string, Record<string, Operation>>;
}

/** The committed documents every response is checked against (the fuzzer generates its requests from them too). */
export const documents: Record<ApiName, Document> = {
  ingestion: JSON.parse(
    readFileSync(new URL("../../../../services/ingestion/openapi.json", import.meta.url), "utf8"),
  ) as Document,
  notifier: JSON.parse(
    readFileSync(new URL("../../../../services/notifier/openapi.json", import.meta.url), "utf8"),
  ) as Document,
};

// OpenAPI keywords that are not JSON Schema (example, discriminator…) are annotations: strict off.
const ajv = new Ajv2020({ strict: false, allErrors: true });
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void;
addFormats(ajv);
for (const [name, document] of Object.entries(documents)) ajv.addSchema(document as object, name);

const pointerPart = (part: string) => part.replaceAll("~", "~0").replaceAll("/", "~1");
const routes = (Object.entries(documents) as [ApiName, Document][]).map(([api, document]) => ({
  api,
  paths: Object.keys(document.paths)
    // Literal paths before templated ones, so /docs is never read as /docs/{asset}.
    .sort((a, b) => Number(a.includes("{")) - Number(b.includes("{")))
    .map((template) => ({
      template,
      pattern: new RegExp(`^${template.replaceAll(/\{[^}]+\}/g, "[^/]+").replaceAll(".", "\\.")}$`),
    })),
}));

const validators = new Map<string, ValidateFunction>();
function validatorFor(api: ApiName, pointer: string): ValidateFunction {
  const key = `${api}#${pointer}`;
  let validate = validators.get(key);
  if (!validate) {
    validate = ajv.compile({ $ref: key });
    validators.set(key, validate);
  }
  return validate;
}

export const violations: string[] = [];
/** How many responses were checked, per API: the suite reports it. */
export const checked: Record<ApiName, number> = { ingestion: 0, notifier: 0 };

/** The violation, if the document does not describe this response; undefined when it does. */
export function describeViolation(
  api: ApiName,
  method: string,
  pathname: string,
  status: number,
  contentType: string | null,
  body: string,
): string | undefined {
  const where = `${api}: ${method} ${pathname} answered ${status}`;
  const template = routes.find((r) => r.api === api)!.paths.find((p) => p.pattern.test(pathname))?.template;
  if (!template) return `${where}, but the document has no such path`;
  const operation = documents[api].paths[template]![method.toLowerCase()];
  if (!operation) return `${where}, but the document has no ${method} on ${template}`;
  const responses = operation.responses ?? {};
  const statusKey = [String(status), `${String(status)[0]}XX`, "default"].find((key) => key in responses);
  if (!statusKey)
    return `${where}, a status the document does not list for ${method} ${template} (it lists ${Object.keys(responses).join(", ")})`;
  const content = responses[statusKey]!.content;
  if (!content) return body === "" ? undefined : `${where} with a body, but the document describes none`;
  const mediaType = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  if (!(mediaType in content))
    return `${where} as ${mediaType || "no content type"}, but the document describes ${Object.keys(content).join(", ")}`;
  if (!content[mediaType]!.schema) return undefined;
  let value: unknown = body;
  if (mediaType === "application/json") {
    try {
      value = JSON.parse(body);
    } catch {
      return `${where} with a body that is not JSON: ${body.slice(0, 200)}`;
    }
  }
  const pointer = ["", "paths", template, method.toLowerCase(), "responses", statusKey, "content", mediaType, "schema"]
    .map(pointerPart)
    .join("/");
  const validate = validatorFor(api, pointer);
  if (validate(value)) return undefined;
  const errors = (validate.errors ?? [])
    .map((e) => `${e.instancePath || "/"} ${e.message ?? ""}${e.params ? ` ${JSON.stringify(e.params)}` : ""}`)
    .join("; ");
  return `${where} with a body that does not match ${method} ${template} ${statusKey}: ${errors} — body: ${body.slice(0, 500)}`;
}

/** Checks one response and records what the document does not describe. */
export function checkResponse(
  api: ApiName,
  method: string,
  pathname: string,
  status: number,
  contentType: string | null,
  body: string,
): void {
  checked[api]++;
  const violation = describeViolation(api, method.toUpperCase(), pathname, status, contentType, body);
  if (violation) violations.push(violation);
}

const bases = new Map<string, ApiName>();
/** Responses from `baseUrl` (a running API) are checked against `api`'s document from now on. */
export function registerApi(baseUrl: string, api: ApiName): void {
  bases.set(new URL(baseUrl).origin, api);
}

let installed = false;
/**
 * Wraps the global fetch once: each response from a registered API is checked before the caller
 * gets it — whoever called (the pipeline helper, a spec's own fetch, the CLI's typed client).
 */
export function installResponseValidation(): void {
  if (installed) return;
  installed = true;
  const original = globalThis.fetch;
  globalThis.fetch = async function validatingFetch(
    input: string | URL | Request,
    init?: RequestInit,
  ): Promise<Response> {
    const response = await original(input, init);
    const url = new URL(input instanceof Request ? input.url : String(input));
    const api = bases.get(url.origin);
    if (api) {
      const method = init?.method ?? (input instanceof Request ? input.method : "GET");
      // HEAD has no body to read; the clone leaves the caller's body unread.
      const body = method.toUpperCase() === "HEAD" ? "" : await response.clone().text();
      checkResponse(api, method, url.pathname, response.status, response.headers.get("content-type"), body);
    }
    return response;
  };
}
