import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Standard Webhooks (https://www.standardwebhooks.com) verification, as esimhub signs: `webhook-id`,
 * `webhook-timestamp` (Unix seconds) and `webhook-signature` — space-separated `v1,<base64 HMAC-SHA256 of
 * "${id}.${timestamp}.${body}">` (two during a secret rotation). Secrets look like `whsec_<base64>`.
 */
export class WebhookVerificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookVerificationError';
  }
}

export type WebhookHeaders = Record<string, string | string[] | undefined> | Headers;

export interface VerifyOptions {
  /** Allowed clock difference; default 300 s. */
  toleranceSeconds?: number;
  nowMs?: number;
}

function secretBytes(secret: string): Buffer {
  return Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
}

function read(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const record = headers as Record<string, string | string[] | undefined>;
  const value = record[name] ?? record[name.toLowerCase()] ?? Object.entries(record).find(([k]) => k.toLowerCase() === name)?.[1];
  return Array.isArray(value) ? value[0] : value;
}

export function signWebhookPayload(secret: string, msgId: string, timestampSeconds: number, rawBody: string): string {
  return `v1,${createHmac('sha256', secretBytes(secret)).update(`${msgId}.${timestampSeconds}.${rawBody}`).digest('base64')}`;
}

/**
 * Checks a webhook request and returns its parsed JSON body. Pass the raw body exactly as received (not
 * re-serialised JSON). Throws WebhookVerificationError.
 */
export function verifyWebhook<T = unknown>(secret: string, headers: WebhookHeaders, rawBody: string | Buffer, options: VerifyOptions = {}): T {
  const body = typeof rawBody === 'string' ? rawBody : rawBody.toString('utf8');
  const msgId = read(headers, 'webhook-id');
  const timestamp = read(headers, 'webhook-timestamp');
  const signatures = read(headers, 'webhook-signature');
  if (!msgId || !timestamp || !signatures) throw new WebhookVerificationError('missing webhook-id, webhook-timestamp or webhook-signature');
  if (!/^\d+$/.test(timestamp)) throw new WebhookVerificationError('webhook-timestamp is not a Unix time');
  const seconds = Number(timestamp);
  const nowSeconds = Math.floor((options.nowMs ?? Date.now()) / 1000);
  const tolerance = options.toleranceSeconds ?? 300;
  if (nowSeconds - seconds > tolerance) throw new WebhookVerificationError('webhook-timestamp is too old');
  if (seconds - nowSeconds > tolerance) throw new WebhookVerificationError('webhook-timestamp is too new');
  const expected = Buffer.from(signWebhookPayload(secret, msgId, seconds, body).slice(3), 'base64');
  for (const candidate of signatures.split(' ')) {
    const [version, value] = candidate.split(',', 2);
    if (version !== 'v1' || !value) continue;
    const given = Buffer.from(value, 'base64');
    if (given.length === expected.length && timingSafeEqual(given, expected)) return JSON.parse(body) as T;
  }
  throw new WebhookVerificationError('no matching signature');
}

/** The same as a class, in the shape of the `standardwebhooks` package: `new Webhook(secret).verify(body, headers)`. */
export class Webhook {
  constructor(private readonly secret: string, private readonly options: VerifyOptions = {}) {}
  verify<T = unknown>(rawBody: string | Buffer, headers: WebhookHeaders): T {
    return verifyWebhook<T>(this.secret, headers, rawBody, this.options);
  }
}
