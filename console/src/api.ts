/**
 * The console's HTTP client. The console is a client of esimhub's own APIs: /v1 (partner data), /sandbox
 * (the simulated network) and /console/api (sessions, partner extras, operator), all authenticated by the
 * session cookie; state-changing requests echo the session's CSRF token.
 */

export interface Problem {
  type?: string;
  title?: string;
  status: number;
  detail?: string;
  code?: string;
  request_id?: string;
  errors?: Array<{ loc: string; msg: string; type: string }>;
}

export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail || problem.title || `HTTP ${problem.status}`);
    this.name = 'ApiError';
  }
  get status(): number {
    return this.problem.status;
  }
}

export interface SessionInfo {
  user: { id: string; email: string; role: 'partner' | 'operator' };
  partner: { id: string; name: string; environment: 'sandbox' | 'live'; currency: string; price_tier_id: string; status: string } | null;
  csrf_token: string;
}

let csrfToken = '';
let onUnauthenticated: () => void = () => undefined;

export function setCsrfToken(token: string): void {
  csrfToken = token;
}
export function setUnauthenticatedHandler(handler: () => void): void {
  onUnauthenticated = handler;
}

let idempotencyCounter = 0;
/** One key per user action: a retried click never orders twice. */
export function newIdempotencyKey(): string {
  const random = crypto.getRandomValues(new Uint32Array(2));
  return `console-${Date.now().toString(36)}-${(++idempotencyCounter).toString(36)}-${random[0].toString(36)}${random[1].toString(36)}`;
}

export interface RequestOptions {
  body?: unknown;
  idempotencyKey?: string;
  /** Return the raw Response (CSV, ZIP) instead of parsed JSON. */
  raw?: boolean;
  signal?: AbortSignal;
}

export async function request<T = any>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (method !== 'GET' && method !== 'HEAD') headers['x-csrf-token'] = csrfToken;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey;
  let response: Response;
  try {
    response = await fetch(path, { method, headers, credentials: 'same-origin', body: options.body === undefined ? undefined : JSON.stringify(options.body), signal: options.signal });
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    throw new ApiError({ status: 0, title: 'Network error', detail: 'The server could not be reached. Check your connection and try again.' });
  }
  if (!response.ok) {
    const text = await response.text();
    let problem: Problem = { status: response.status, detail: text || response.statusText };
    try {
      const parsed = JSON.parse(text);
      problem = normalizeError(parsed, response.status);
    } catch {
      /* not JSON */
    }
    if (response.status === 401 && !path.startsWith('/console/api/login') && !path.startsWith('/console/api/session')) onUnauthenticated();
    throw new ApiError(problem);
  }
  if (options.raw) return response as unknown as T;
  if (response.status === 204) return undefined as T;
  const type = response.headers.get('content-type') ?? '';
  return (type.includes('json') ? response.json() : response.text()) as Promise<T>;
}

/** /v1 and /console/api answer RFC 9457 problems; /sandbox answers `{ error: { type, message } }`. */
function normalizeError(parsed: any, status: number): Problem {
  if (parsed && typeof parsed === 'object' && 'status' in parsed) return parsed as Problem;
  if (parsed?.error) return { status, code: parsed.error.type ?? parsed.error.code, detail: parsed.error.message, request_id: parsed.error.request_id };
  return { status, detail: JSON.stringify(parsed) };
}

export const api = {
  get: <T = any>(path: string, options?: RequestOptions) => request<T>('GET', path, options),
  post: <T = any>(path: string, body?: unknown, options?: RequestOptions) => request<T>('POST', path, { ...options, body: body ?? {} }),
  patch: <T = any>(path: string, body?: unknown, options?: RequestOptions) => request<T>('PATCH', path, { ...options, body: body ?? {} }),
  put: <T = any>(path: string, body?: unknown, options?: RequestOptions) => request<T>('PUT', path, { ...options, body: body ?? {} }),
  delete: <T = any>(path: string, options?: RequestOptions) => request<T>('DELETE', path, options),
};

/** Builds a query string from the defined values only. */
export function query(params: Record<string, string | number | boolean | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
}
