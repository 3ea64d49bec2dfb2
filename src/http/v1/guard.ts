import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.ts';
import { partnerNow } from '../../context.ts';
import type { Partner } from '../../store/schema.ts';
import type { IdempotencyScope } from '../../store/connect.ts';
import { whereScope, type IdempotencyClaim } from '../../store/fast-reads.ts';
import { isBlocked, type ResolvedKey } from '../key-resolver.ts';
import { Problem } from './problem.ts';
import { accountFor } from '../sandbox-base.ts';
import { CSRF_HEADER, csrfOk, sessionOf, sessionToken } from '../console/session.ts';

/** What a /v1 handler knows about its caller. */
export interface V1Caller {
  /** The API key, when the caller sent one (console sessions have none). */
  auth: ResolvedKey | null;
  /** What rate limits and idempotency keys are scoped to: the API key id, or the console user id. */
  principalId: string;
  partner: Partner;
  /** The partner's clock (a sandbox clock may run ahead). */
  nowMs: number;
  /** The Idempotency-Key of this request, when one was sent on a mutating request. */
  idempotencyKey?: string;
}

const callers = new WeakMap<FastifyRequest, V1Caller>();
const claims = new WeakMap<FastifyRequest, { scope: IdempotencyScope; claim: IdempotencyClaim }>();

export function caller(request: FastifyRequest): V1Caller {
  const found = callers.get(request);
  if (!found) throw new Problem('unauthenticated', 'send your AccessCode as Authorization: Bearer <AccessCode>');
  return found;
}

const BEARER = /^Bearer\s+(\S{1,128})\s*$/i;

/**
 * onRequest: Bearer AccessCode (the same keys as the dialects), blocklist, account status, rate limit. A
 * request without Authorization may instead carry a web console session cookie (the console is a /v1
 * client); state-changing requests must then echo the session's CSRF token.
 */
export async function authenticate(ctx: AppContext, request: FastifyRequest, viaSandboxBase = false): Promise<void> {
  const header = request.headers.authorization;
  if (header === undefined && sessionToken(request) !== null) return authenticateSession(ctx, request, viaSandboxBase);
  const match = typeof header === 'string' ? BEARER.exec(header) : null;
  if (!match) throw new Problem('unauthenticated', 'send your AccessCode as Authorization: Bearer <AccessCode>', { headers: { 'www-authenticate': 'Bearer realm="esimhub"' } });
  const realNowMs = ctx.now();
  const auth = await ctx.keys.resolve(match[1], realNowMs);
  if (!auth) throw new Problem('unauthenticated', 'the API key is unknown, revoked or expired', { headers: { 'www-authenticate': 'Bearer realm="esimhub", error="invalid_token"' } });
  if (isBlocked(auth, request.ip)) throw new Problem('forbidden', `requests from ${request.ip} are blocked for this account`);
  if (auth.partner.status !== 'active') throw new Problem('forbidden', `the account is ${auth.partner.status}`);
  const perSecond = auth.partner.rate_limit_per_second ?? ctx.config.rateLimitPerSecond;
  const waitMs = await ctx.rateLimiter.acquire(auth.key.id, perSecond, realNowMs);
  if (waitMs > 0) {
    throw new Problem('rate_limited', `rate limit exceeded: ${perSecond} requests per second per API key; retry after ${waitMs} ms`, { headers: { 'retry-after': String(Math.max(1, Math.ceil(waitMs / 1000))) } });
  }
  const partner = await accountFor(ctx, auth.partner, request, viaSandboxBase, realNowMs);
  callers.set(request, { auth, principalId: auth.key.id, partner, nowMs: partnerNow(ctx, partner) });
}

async function authenticateSession(ctx: AppContext, request: FastifyRequest, viaSandboxBase: boolean): Promise<void> {
  const session = await sessionOf(ctx, request);
  if (!session) throw new Problem('unauthenticated', 'the console session has ended; log in again');
  if (!session.partner) throw new Problem('forbidden', 'operator accounts have no partner account; use the operator console');
  if (!csrfOk(request, session)) throw new Problem('forbidden', `send the session's CSRF token in ${CSRF_HEADER}`);
  if (session.partner.status !== 'active') throw new Problem('forbidden', `the account is ${session.partner.status}`);
  const perSecond = session.partner.rate_limit_per_second ?? ctx.config.rateLimitPerSecond;
  const waitMs = await ctx.rateLimiter.acquire(session.user.id, perSecond, ctx.now());
  if (waitMs > 0) throw new Problem('rate_limited', `rate limit exceeded; retry after ${waitMs} ms`, { headers: { 'retry-after': String(Math.max(1, Math.ceil(waitMs / 1000))) } });
  const partner = await accountFor(ctx, session.partner, request, viaSandboxBase, ctx.now());
  callers.set(request, { auth: null, principalId: session.user.id, partner, nowMs: partnerNow(ctx, partner) });
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** A claim not finished within this time is taken to be abandoned (its process died). */
const IN_FLIGHT_LEASE_MS = 60_000;
/** Keys are kept at least this long (Stripe keeps 24 h). */
export const IDEMPOTENCY_RETENTION_MS = 24 * 3600_000;

/**
 * JSON with the keys of every object sorted: `{"a":1,"b":2}` and `{"b":2,"a":1}` are the same request, so a
 * client whose serializer orders keys differently on a retry still gets its stored answer.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const fields = Object.keys(record)
      .filter((k) => record[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`);
    return `{${fields.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function requestHash(request: FastifyRequest): string {
  const at = request.url.indexOf('?');
  const query = at < 0 ? new URLSearchParams() : new URLSearchParams(request.url.slice(at + 1));
  query.sort();
  return createHash('sha256')
    .update(`${query.toString()}\n${request.body === undefined ? '' : canonicalJson(request.body)}`)
    .digest('base64url');
}

/**
 * preHandler (after validation): claims the Idempotency-Key or answers from it. Scoped per API key, method
 * and path. Returns true when the reply was sent (a replay or a refusal).
 */
export async function claimIdempotencyKey(ctx: AppContext, request: FastifyRequest, reply: FastifyReply): Promise<boolean> {
  if (!MUTATING.has(request.method)) return false;
  const given = request.headers['idempotency-key'];
  const key = Array.isArray(given) ? given[0] : given;
  if (key === undefined) return false;
  if (key.length === 0 || key.length > 255) throw new Problem('invalid_request', 'Idempotency-Key must be 1-255 characters', { errors: [{ loc: 'header.idempotency-key', msg: 'must be 1-255 characters', type: 'maxLength' }] });
  const who = caller(request);
  who.idempotencyKey = key;
  const scope = { keyId: who.principalId, method: request.method, path: request.url.split('?')[0], key };
  const hash = requestHash(request);
  const db = ctx.store.db;
  const nowMs = ctx.now();
  const claim = { requestHash: hash, nowMs, expiresAtMs: nowMs + IDEMPOTENCY_RETENTION_MS };
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await ctx.store.fast.claimIdempotencyKey(scope, hash, nowMs + IN_FLIGHT_LEASE_MS, nowMs, nowMs + IDEMPOTENCY_RETENTION_MS)) {
      claims.set(request, { scope, claim });
      return false;
    }
    const row = await whereScope(db.selectFrom('idempotency_keys').selectAll(), scope).executeTakeFirst();
    if (!row) continue; // deleted meanwhile (an expired or failed claim): try again
    if (row.expires_at <= nowMs) {
      await whereScope(db.deleteFrom('idempotency_keys'), scope).where('expires_at', '=', row.expires_at).execute();
      continue;
    }
    if (row.request_hash !== hash) {
      throw new Problem('idempotency_key_reused', `the Idempotency-Key ${key} was used for a different request to ${scope.method} ${scope.path}; use a new key for a new request`);
    }
    if (row.state === 'done') {
      reply.code(row.response_status ?? 200).header('idempotent-replayed', 'true');
      if (row.response_type) reply.type(row.response_type);
      await reply.send(row.response_body ?? undefined);
      return true;
    }
    if (row.locked_until > nowMs) {
      throw new Problem('idempotency_key_in_use', `a request with the Idempotency-Key ${key} is still being processed; retry later`, { headers: { 'retry-after': '1' } });
    }
    // An abandoned claim: take it over (only one taker wins the guarded update).
    const taken = await whereScope(db.updateTable('idempotency_keys').set({ locked_until: nowMs + IN_FLIGHT_LEASE_MS }), scope).where('locked_until', '=', row.locked_until).where('state', '=', 'in_flight').executeTakeFirst();
    if (Number(taken.numUpdatedRows) === 1) {
      claims.set(request, { scope, claim });
      return false;
    }
  }
  throw new Problem('idempotency_key_in_use', `the Idempotency-Key ${key} is contended; retry later`, { headers: { 'retry-after': '1' } });
}


/**
 * onSend: stores the answer under the claimed key before it leaves, so a retry that arrives after the client
 * saw nothing gets the same answer. 5xx answers release the key instead: the retry runs again.
 */
export async function finishIdempotencyKey(ctx: AppContext, request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<void> {
  const claimed = claims.get(request);
  if (!claimed) return;
  claims.delete(request);
  const { scope, claim } = claimed;
  if (reply.statusCode >= 500 || reply.statusCode === 429) {
    await ctx.store.fast.releaseIdempotencyKey(scope);
    return;
  }
  const body = typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : null;
  const type = reply.getHeader('content-type');
  await ctx.store.fast.finishIdempotencyKey(scope, claim, { status: reply.statusCode, body, type: typeof type === 'string' ? type : null });
}

/** Deletes expired keys; cheap, run now and then. */
export async function sweepIdempotencyKeys(ctx: AppContext, nowMs: number): Promise<number> {
  const result = await ctx.store.db.deleteFrom('idempotency_keys').where('expires_at', '<=', nowMs).executeTakeFirst();
  return Number(result.numDeletedRows);
}
