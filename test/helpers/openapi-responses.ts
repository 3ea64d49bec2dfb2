import Ajv2020Module from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

const Ajv2020 = ((Ajv2020Module as any).default ?? Ajv2020Module) as typeof Ajv2020Module.default;
const addFormats = ((addFormatsModule as any).default ?? addFormatsModule) as typeof addFormatsModule.default;

/** One answer a test saw from /v1 or the eSIM Access dialect. */
export interface SeenResponse {
  method: string;
  /** The request path without the query, e.g. /v1/orders/ord_1. */
  path: string;
  status: number;
  contentType: string;
  body: unknown;
}

const DOCUMENTED = /^\/v1\/|^\/api\/v1\/open\//;

/**
 * Collects the answers tests see so they can be checked against the served OpenAPI document at the end. Use
 * `record` after your own fetch, or hand `fetch` to a client (the SDK) so every answer it gets is kept.
 */
export class ResponseLog {
  readonly seen: SeenResponse[] = [];

  record(method: string, url: string, status: number, contentType: string, text: string): unknown {
    const body = contentType.includes('json') && text ? JSON.parse(text) : text;
    const path = new URL(url, 'http://x').pathname;
    if (DOCUMENTED.test(path)) this.seen.push({ method: method.toUpperCase(), path, status, contentType, body });
    return body;
  }

  readonly fetch: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const contentType = response.headers.get('content-type') ?? '';
    // Binary answers (ZIPs) are checked by media type only: their bytes are not text.
    const text = contentType.includes('json') || contentType.startsWith('text/') ? await response.clone().text() : '';
    this.record(init?.method ?? 'GET', url, response.status, contentType, text);
    return response;
  };
}

const escape = (s: string) => s.replace(/[.*+?^$()|[\]\\]/g, '\\$&');

/**
 * Checks every seen answer against the document at `${baseUrl}/openapi.json`: the operation exists, the status
 * is documented, the media type is documented and the body validates. Refusals of what no operation is (404,
 * 405, or 401 before that) must still be problem+json. Returns the failures and the operations covered.
 */
export async function checkResponses(baseUrl: string, seen: SeenResponse[]): Promise<{ failures: string[]; covered: Set<string> }> {
  const doc = await (await fetch(`${baseUrl}/openapi.json`)).json();
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  const compiled = new Map<object, ReturnType<typeof ajv.compile>>();
  const validate = (schema: object, body: unknown) => {
    let fn = compiled.get(schema);
    if (!fn) compiled.set(schema, (fn = ajv.compile(schema)));
    return fn(body) ? null : ajv.errorsText(fn.errors);
  };
  const templates = Object.keys(doc.paths).map((template) => ({ template, pattern: new RegExp(`^${escape(template).replace(/\{[^}]+\}/g, '[^/]+')}$`) }));
  const problemSchema = doc.paths['/v1/orders'].post.responses['4XX'].content['application/problem+json'].schema;
  const failures: string[] = [];
  const covered = new Set<string>();
  for (const r of seen) {
    const method = r.method.toLowerCase();
    const match = templates.find((t) => t.pattern.test(r.path) && doc.paths[t.template][method]);
    if (!match) {
      if (r.path.startsWith('/v1/') && r.status >= 400 && r.status < 500) {
        const error = r.contentType.startsWith('application/problem+json') ? validate(problemSchema, r.body) : `not problem+json (${r.contentType})`;
        if (error) failures.push(`${r.method} ${r.path} ${r.status}: ${error}`);
      } else failures.push(`${r.method} ${r.path}: not in the document`);
      continue;
    }
    const operation = doc.paths[match.template][method];
    const response = operation.responses[String(r.status)] ?? operation.responses[`${String(r.status)[0]}XX`] ?? operation.responses.default;
    if (!response) {
      failures.push(`${r.method} ${match.template}: status ${r.status} not documented`);
      continue;
    }
    covered.add(`${r.method} ${match.template}`);
    if (r.status === 204) continue;
    const mediaType = r.contentType.split(';')[0].trim();
    const content = response.content?.[mediaType];
    if (!content?.schema) {
      failures.push(`${r.method} ${match.template} ${r.status}: ${mediaType} not documented`);
      continue;
    }
    if (!mediaType.includes('json')) continue; // CSV and ZIP: the media type is the contract
    const error = validate(content.schema, r.body);
    if (error) failures.push(`${r.method} ${match.template} ${r.status}: ${error}`);
  }
  return { failures, covered };
}
