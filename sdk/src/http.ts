import type { Page, Problem } from './types.ts';

export interface TransportOptions {
  baseUrl: string;
  /** Sent as `Authorization: Bearer <apiKey>` (your AccessCode). */
  apiKey: string;
  /** Retries after the first attempt, for network errors, 429, 5xx, 409 idempotency_key_in_use and (on reads) 409 order_in_progress. Default 3. */
  maxRetries?: number;
  /** First backoff delay; doubles each retry, with jitter. Default 250 ms. */
  retryBaseDelayMs?: number;
  /** Longest wait between attempts, Retry-After included. Default 30 s. */
  retryMaxDelayMs?: number;
  /** Per attempt. Default 30 s. */
  timeoutMs?: number;
  fetch?: typeof fetch;
  /** Makes Idempotency-Keys; default crypto.randomUUID(). */
  idempotencyKey?: () => string;
  userAgent?: string;
}

export interface RequestOptions {
  /** Overrides the automatic Idempotency-Key of a mutating request. */
  idempotencyKey?: string;
  signal?: AbortSignal;
}

/** A /v1 error: the problem details, plus the HTTP status and request id. */
export class EsimHubError extends Error {
  readonly status: number;
  readonly code: string;
  readonly requestId: string | null;
  readonly problem: Problem | null;
  constructor(status: number, problem: Problem | null, requestId: string | null, fallback: string) {
    super(problem ? `${problem.code}: ${problem.detail}` : fallback);
    this.name = 'EsimHubError';
    this.status = status;
    this.code = problem?.code ?? (status === 0 ? 'network_error' : 'http_error');
    this.requestId = problem?.request_id ?? requestId;
    this.problem = problem;
  }
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Seconds or an HTTP date, as Retry-After allows; null when absent or unreadable. */
export function retryAfterMs(value: string | null, nowMs = Date.now()): number | null {
  if (!value) return null;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.round(Number(value) * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - nowMs);
}

/** A read of an order still allocating (the QR ZIP) is worth repeating; a mutating call's 409 is stored under its key. */
function retriable(status: number, code: string | undefined, method: string): boolean {
  return status === 429 || status >= 500 || (status === 409 && (code === 'idempotency_key_in_use' || (code === 'order_in_progress' && method === 'GET')));
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason);
    }, { once: true });
  });

export class Transport {
  private readonly options: Required<Omit<TransportOptions, 'fetch' | 'userAgent'>> & { fetch: typeof fetch; userAgent?: string };

  constructor(options: TransportOptions) {
    if (!options.apiKey) throw new Error('apiKey is required');
    this.options = {
      maxRetries: 3,
      retryBaseDelayMs: 250,
      retryMaxDelayMs: 30_000,
      timeoutMs: 30_000,
      idempotencyKey: () => globalThis.crypto.randomUUID(),
      ...options,
      baseUrl: options.baseUrl.replace(/\/+$/, ''),
      fetch: options.fetch ?? globalThis.fetch.bind(globalThis),
    };
  }

  /**
   * One logical call: a mutating request gets one Idempotency-Key, reused by every retry, so a retry after a
   * lost answer cannot order twice.
   */
  async request<T>(method: string, path: string, input: { query?: object; body?: unknown; accept?: string; binary?: boolean } = {}, options: RequestOptions = {}): Promise<T> {
    const url = new URL(this.options.baseUrl + path);
    for (const [name, value] of Object.entries(input.query ?? {})) if (value !== undefined && value !== null) url.searchParams.set(name, String(value));
    const headers: Record<string, string> = { authorization: `Bearer ${this.options.apiKey}`, accept: input.accept ?? 'application/json' };
    if (this.options.userAgent) headers['user-agent'] = this.options.userAgent;
    if (input.body !== undefined) headers['content-type'] = 'application/json';
    if (MUTATING.has(method)) headers['idempotency-key'] = options.idempotencyKey ?? this.options.idempotencyKey();
    const body = input.body === undefined ? undefined : JSON.stringify(input.body);

    for (let attempt = 0; ; attempt++) {
      let response: Response;
      try {
        const timeout = AbortSignal.timeout(this.options.timeoutMs);
        response = await this.options.fetch(url, { method, headers, body, signal: options.signal ? AbortSignal.any([options.signal, timeout]) : timeout });
      } catch (error) {
        if (options.signal?.aborted || attempt >= this.options.maxRetries) {
          throw Object.assign(new EsimHubError(0, null, null, `request to ${method} ${path} failed: ${(error as Error).message}`), { cause: error });
        }
        await sleep(this.backoffMs(attempt, null), options.signal);
        continue;
      }
      if (response.ok && input.binary) return new Uint8Array(await response.arrayBuffer()) as T;
      const text = await response.text();
      if (response.ok) {
        if (input.accept && input.accept !== 'application/json') return text as T;
        return (text ? JSON.parse(text) : undefined) as T;
      }
      let problem: Problem | null = null;
      try {
        problem = JSON.parse(text) as Problem;
        if (typeof problem !== 'object' || problem === null || typeof problem.code !== 'string') problem = null;
      } catch {
        problem = null;
      }
      if (attempt < this.options.maxRetries && retriable(response.status, problem?.code, method)) {
        await sleep(this.backoffMs(attempt, retryAfterMs(response.headers.get('retry-after'))), options.signal);
        continue;
      }
      throw new EsimHubError(response.status, problem, response.headers.get('x-request-id'), `HTTP ${response.status} from ${method} ${path}`);
    }
  }

  /** Exponential backoff with full jitter; Retry-After, when sent, is the floor. */
  backoffMs(attempt: number, retryAfter: number | null): number {
    const exponential = Math.min(this.options.retryMaxDelayMs, this.options.retryBaseDelayMs * 2 ** attempt);
    const jittered = exponential / 2 + Math.random() * (exponential / 2);
    return Math.min(this.options.retryMaxDelayMs, Math.max(retryAfter ?? 0, jittered));
  }

  /** A list call: awaiting it gives the first page; `for await` walks every item of every page. */
  list<T>(path: string, params: object = {}): PageIterator<T> {
    return new PageIterator<T>((cursor) => this.request<Page<T>>('GET', path, { query: { ...params, ...(cursor ? { cursor } : {}) } }));
  }
}

export class PageIterator<T> implements PromiseLike<Page<T>>, AsyncIterable<T> {
  private first: Promise<Page<T>> | null = null;

  constructor(private readonly fetchPage: (cursor: string | undefined) => Promise<Page<T>>) {}

  private firstPage(): Promise<Page<T>> {
    this.first ??= this.fetchPage(undefined);
    return this.first;
  }

  then<A = Page<T>, B = never>(onfulfilled?: ((value: Page<T>) => A | PromiseLike<A>) | null, onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<A | B> {
    return this.firstPage().then(onfulfilled, onrejected);
  }

  /** Every page in turn. */
  async *pages(): AsyncGenerator<Page<T>> {
    let page = await this.firstPage();
    yield page;
    while (page.has_more && page.next_cursor) {
      page = await this.fetchPage(page.next_cursor);
      yield page;
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for await (const page of this.pages()) yield* page.data;
  }

  /** Collects up to `max` items (default 10,000) from every page. */
  async toArray(max = 10_000): Promise<T[]> {
    const out: T[] = [];
    for await (const item of this) {
      out.push(item);
      if (out.length >= max) break;
    }
    return out;
  }
}
