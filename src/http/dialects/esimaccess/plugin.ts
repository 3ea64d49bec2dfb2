import { accountFor } from '../../sandbox-base.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../../context.ts';
import { isDomainError } from '../../../domain/errors.ts';
import { isBlocked, type ResolvedKey } from '../../key-resolver.ts';
import { EsimAccessError, fail, fromDomainError, MESSAGES, ok } from './envelope.ts';
import { parseBody, type Body } from './params.ts';
import { timestampToMs, verifyEsimAccessSignature } from './signature.ts';
import { readRoutes } from './routes/read.ts';
import { esimRoutes } from './routes/esims.ts';
import { usageRoutes } from './routes/usage.ts';
import { webhookRoutes } from './routes/webhooks.ts';

export interface EsimAccessRequest {
  auth: ResolvedKey;
  body: Body;
  rawBody: string;
  request: FastifyRequest;
  /** The partner's clock (sandbox clocks may run ahead). */
  nowMs: number;
}

/** A pre-serialised `obj`, for large answers such as the whole catalogue. */
export class RawJson {
  private enveloped?: Buffer;
  constructor(readonly json: string) {}

  /** The whole success answer as bytes, made once: a cached answer (the 3 MB catalogue) goes out without being copied or encoded again. */
  successBody(): Buffer {
    return (this.enveloped ??= Buffer.from(`{"success":true,"errorCode":"0","errorMsg":null,"errorMessage":null,"obj":${this.json}}`, 'utf8'));
  }
}

export type EsimAccessHandler = (req: EsimAccessRequest) => Promise<unknown> | unknown;
export type RouteTable = Record<string, EsimAccessHandler>;

const BODY_LIMIT_BYTES = 1024 * 1024;

/** `/api/v1/open`: the eSIM Access dialect. It translates wire ⇄ domain and decides nothing itself. */
export async function esimAccessPlugin(app: FastifyInstance, options: { ctx: AppContext; routes?: RouteTable[]; /** Mounted at a sandbox base: live keys reach their sandbox twin. */ sandbox?: boolean }): Promise<void> {
  const { ctx } = options;
  // The body is kept as the raw string: signatures cover the bytes as received, and a body with a wrong or
  // missing Content-Type must still be read as JSON.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: BODY_LIMIT_BYTES }, (_req, body, done) => done(null, body));

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reply.code(200).send(fail('000107', `Request body is larger than ${BODY_LIMIT_BYTES} bytes`));
    if (error.statusCode && error.statusCode < 500) return reply.code(200).send(fail('000104', `${MESSAGES.invalidJson}: ${error.message}`));
    request.log.error({ err: error }, 'unhandled error');
    return reply.code(200).send(fail('000001', MESSAGES.serverError));
  });
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send(fail('000103', `No such endpoint: ${request.method} ${request.url.split('?')[0]}`));
  });

  const tables = options.routes ?? [readRoutes(ctx), esimRoutes(ctx), usageRoutes(ctx), webhookRoutes(ctx)];
  for (const table of tables) {
    for (const [path, handler] of Object.entries(table)) {
      app.route({
        method: ['POST', 'GET', 'PUT', 'DELETE', 'PATCH'],
        url: path,
        handler: (request, reply) => dispatch(ctx, handler, request, reply, options.sandbox === true),
      });
    }
  }
}

async function dispatch(ctx: AppContext, handler: EsimAccessHandler, request: FastifyRequest, reply: FastifyReply, viaSandboxBase: boolean) {
  try {
    if (request.method !== 'POST') throw new EsimAccessError('000103', MESSAGES.methodNotSupported);
    const rawBody = typeof request.body === 'string' ? request.body : '';
    const authenticated = await authenticate(ctx, request, rawBody);
    const account = await accountFor(ctx, authenticated.partner, request, viaSandboxBase, ctx.now());
    const auth = account === authenticated.partner ? authenticated : { ...authenticated, partner: account };
    const body = parseBody(rawBody);
    const nowMs = ctx.now() + (auth.partner.environment === 'sandbox' ? Number(auth.partner.clock_offset_ms) : 0);
    const result = await handler({ auth, body, rawBody, request, nowMs });
    reply.header('content-type', 'application/json; charset=utf-8');
    if (result instanceof RawJson) {
      return reply.send(result.successBody());
    }
    return reply.send(JSON.stringify(ok(result ?? {})));
  } catch (error) {
    reply.header('content-type', 'application/json; charset=utf-8');
    if (error instanceof EsimAccessError) {
      for (const [name, value] of Object.entries(error.headers)) reply.header(name, value);
      return reply.code(error.httpStatus).send(JSON.stringify(fail(error.code, error.message)));
    }
    if (isDomainError(error)) return reply.code(200).send(JSON.stringify(fromDomainError(error)));
    request.log.error({ err: error }, 'unhandled error in eSIM Access handler');
    return reply.code(200).send(JSON.stringify(fail('000001', MESSAGES.serverError)));
  }
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  const text = Array.isArray(value) ? value[0] : value;
  return text === undefined || text.trim() === '' ? undefined : text.trim();
}

/**
 * RT-AccessCode alone authenticates. When a signature is sent (or the key requires one) the timestamp
 * window, the RequestID's single use and the HMAC are all checked.
 */
async function authenticate(ctx: AppContext, request: FastifyRequest, rawBody: string): Promise<ResolvedKey> {
  const realNowMs = ctx.now();
  const accessCode = header(request, 'rt-accesscode');
  if (!accessCode) throw new EsimAccessError('000101', MESSAGES.headerNull('RT-AccessCode'));
  if (accessCode.length > 128) throw new EsimAccessError('000101', MESSAGES.headerInvalid('RT-AccessCode'));
  const auth = await ctx.keys.resolve(accessCode, realNowMs);
  if (!auth) throw new EsimAccessError('000101', MESSAGES.headerInvalid('RT-AccessCode'));
  if (isBlocked(auth, request.ip)) throw new EsimAccessError('101002', `This IP is in the blocklist: ${request.ip}`);
  if (auth.partner.status !== 'active') throw new EsimAccessError('401001', `Authentication failed: the account is ${auth.partner.status}`);

  const signature = header(request, 'rt-signature');
  const timestamp = header(request, 'rt-timestamp');
  const requestId = header(request, 'rt-requestid');
  if (signature || auth.key.signature_required === 1) {
    if (!signature) throw new EsimAccessError('101003', 'Request signature mismatch: this key requires RT-Signature, RT-Timestamp and RT-RequestID');
    if (!timestamp) throw new EsimAccessError('101003', `Request signature mismatch: ${MESSAGES.headerNull('RT-Timestamp')}`);
    if (!requestId) throw new EsimAccessError('101003', `Request signature mismatch: ${MESSAGES.headerNull('RT-RequestID')}`);
    const timestampMs = timestampToMs(timestamp);
    if (timestampMs === null) throw new EsimAccessError('000102', 'Req Header:[RT-Timestamp] must be a Unix time in milliseconds or seconds');
    if (Math.abs(realNowMs - timestampMs) > ctx.config.signatureWindowMs) {
      throw new EsimAccessError('101001', `The timestamp of the request has expired: RT-Timestamp must be within ${ctx.config.signatureWindowMs / 1000} s of server time`);
    }
    if (requestId.length > 100) throw new EsimAccessError('000102', 'Req Header:[RT-RequestID] is longer than 100 characters');
    if (!verifyEsimAccessSignature({ signature, timestamp, requestId, accessCode, secretKey: auth.secretKey, rawBody })) {
      throw new EsimAccessError('101003', 'Request signature mismatch');
    }
    // Single use within the window: a captured signed request cannot be replayed.
    if (!(await ctx.nonces.claim(auth.key.id, requestId, realNowMs))) {
      throw new EsimAccessError('101001', 'Req Header:[RT-RequestID] was already used: a signed request can be sent only once');
    }
  }

  const perSecond = auth.partner.rate_limit_per_second ?? ctx.config.rateLimitPerSecond;
  const waitMs = await ctx.rateLimiter.acquire(auth.key.id, perSecond, realNowMs);
  if (waitMs > 0) {
    throw new EsimAccessError('900001', `Rate limit exceeded: ${perSecond} requests per second per AccessCode; retry after ${waitMs} ms`, 200, {
      'retry-after': String(Math.ceil(waitMs / 1000)),
    });
  }
  return auth;
}
