import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.ts';
import type { Partner } from '../../store/schema.ts';
import { DomainError } from '../../domain/errors.ts';
import { findEsim, type EsimRef } from '../../domain/esims/esims.ts';
import { applyDeviceEvent, type DeviceEvent } from '../../domain/esims/lifecycle.ts';
import { simulateDataUse } from '../../domain/sandbox/data-use.ts';
import { listSms, receiveSms } from '../../domain/esims/sms.ts';
import { advanceClock, partnerClock } from '../../domain/sandbox/clock.ts';
import { HttpError, sendNativeError } from '../native-errors.ts';
import { CSRF_HEADER, csrfOk, sessionOf, sessionToken } from '../console/session.ts';

/**
 * The simulated network for sandbox partners: device events, data use, SMS from the network and the
 * partner's movable clock. Authenticated with the partner's AccessCode (`RT-AccessCode` or `Authorization:
 * Bearer`); live partners get 403.
 */
export async function sandboxPlugin(app: FastifyInstance, options: { ctx: AppContext }): Promise<void> {
  const { ctx } = options;
  // A refused transition carries eSIM Access's code for it, as esim/cancel etc. answer it on the API.
  app.setErrorHandler((error, request, reply) => sendNativeError(request, reply, error, { invalid_state: '200002' }));
  app.setNotFoundHandler((request, reply) => sendNativeError(request, reply, new HttpError(404, 'not_found', `No sandbox route ${request.method} ${request.url.split('?')[0]}`)));

  async function partnerOf(request: FastifyRequest): Promise<Partner> {
    const header = request.headers['rt-accesscode'] ?? /^Bearer\s+(.+)$/i.exec(String(request.headers.authorization ?? ''))?.[1];
    const accessCode = Array.isArray(header) ? header[0] : header;
    if (!accessCode && sessionToken(request) !== null) return consolePartner(request);
    if (!accessCode) throw new HttpError(401, 'unauthenticated', 'send your AccessCode in RT-AccessCode or Authorization: Bearer');
    const auth = await ctx.keys.resolve(String(accessCode).trim(), ctx.now());
    if (!auth || auth.partner.status !== 'active') throw new HttpError(401, 'unauthenticated', 'unknown, revoked or suspended AccessCode');
    // A live key reaches its sandbox twin (created by the sandbox base URL, see dialects/dataplans), if it has one.
    const twinId = auth.partner.environment === 'sandbox' ? null : await ctx.twins.existingTwinOf(auth.partner.id);
    if (auth.partner.environment !== 'sandbox' && !twinId) throw new HttpError(403, 'sandbox_only', 'the simulated network is for sandbox partners only');
    // Read the clock fresh: the key cache may hold a partner row from before the last clock move.
    return ctx.partners.get(twinId ?? auth.partner.id);
  }

  /** The web console drives the simulated network with its session cookie (and CSRF token). */
  async function consolePartner(request: FastifyRequest): Promise<Partner> {
    const session = await sessionOf(ctx, request);
    if (!session?.partner || session.partner.status !== 'active') throw new HttpError(401, 'unauthenticated', 'the console session has ended; log in again');
    if (!csrfOk(request, session)) throw new HttpError(403, 'forbidden', `send the session's CSRF token in ${CSRF_HEADER}`);
    if (session.partner.environment !== 'sandbox') throw new HttpError(403, 'sandbox_only', 'the simulated network is for sandbox partners only');
    return session.partner;
  }

  const nowFor = (partner: Partner) => ctx.now() + Number(partner.clock_offset_ms);

  function refOf(text: string): EsimRef {
    if (/^89\d{17,18}F?$/.test(text)) return { iccid: text };
    if (/^\d{1,30}$/.test(text)) return { esimTranNo: text };
    throw new HttpError(400, 'invalid_argument', 'the eSIM reference must be an ICCID or an esimTranNo');
  }

  function body(request: FastifyRequest): Record<string, unknown> {
    const value = request.body;
    if (value === undefined || value === null || value === '') return {};
    if (typeof value !== 'object' || Array.isArray(value)) throw new HttpError(400, 'invalid_argument', 'the body must be a JSON object');
    return value as Record<string, unknown>;
  }

  function view(esim: Awaited<ReturnType<typeof findEsim>>) {
    return {
      iccid: esim.iccid,
      esimTranNo: esim.esim_tran_no,
      eid: esim.eid,
      smdpStatus: esim.smdp_status,
      esimStatus: esim.esim_status,
      activateTime: esim.activate_time ? new Date(esim.activate_time).toISOString() : null,
      expiredTime: esim.expired_time ? new Date(esim.expired_time).toISOString() : null,
      totalVolume: Number(esim.total_volume),
      orderUsage: Number(esim.order_usage),
      throttled: esim.throttled === 1,
    };
  }

  for (const kind of ['download', 'install', 'enable', 'disable', 'delete'] as const) {
    app.post<{ Params: { ref: string } }>(`/esims/:ref/${kind}`, async (request) => {
      const partner = await partnerOf(request);
      const esim = await findEsim(ctx.store.db, partner.id, refOf(request.params.ref));
      const input = body(request);
      const event: DeviceEvent = kind === 'download' || kind === 'install' ? { kind, eid: typeof input.eid === 'string' ? input.eid : undefined } : { kind };
      const updated = await applyDeviceEvent(ctx.store.db, esim.id, event, nowFor(partner));
      ctx.notifyEvents();
      return view(updated);
    });
  }

  app.post<{ Params: { ref: string } }>('/esims/:ref/usage', async (request) => {
    const partner = await partnerOf(request);
    const bytes = body(request).bytes;
    if (typeof bytes !== 'number' || !Number.isSafeInteger(bytes) || bytes <= 0) throw new HttpError(400, 'invalid_argument', 'bytes must be a positive whole number');
    const esim = await findEsim(ctx.store.db, partner.id, refOf(request.params.ref));
    const outcome = await ctx.store.db.transaction().execute((trx) => simulateDataUse(trx, esim.id, bytes, nowFor(partner)));
    ctx.notifyEvents();
    return { grantedBytes: outcome.grantedBytes, ...view(outcome.esim) };
  });

  app.post<{ Params: { ref: string } }>('/esims/:ref/sms', async (request) => {
    const partner = await partnerOf(request);
    const input = body(request);
    if (typeof input.message !== 'string') throw new HttpError(400, 'invalid_argument', 'message must be a string');
    const sender = typeof input.from === 'string' ? input.from : '+10000000000';
    return receiveSms(ctx.store.db, partner.id, refOf(request.params.ref), sender, input.message, nowFor(partner));
  });

  app.get<{ Params: { ref: string } }>('/esims/:ref/sms', async (request) => {
    const partner = await partnerOf(request);
    const messages = await listSms(ctx.store.db, partner.id, refOf(request.params.ref));
    return { messages: messages.map((m) => ({ id: m.id, direction: m.direction, from: m.sender, message: m.body, createdAt: new Date(Number(m.created_at)).toISOString() })) };
  });

  app.get<{ Params: { ref: string } }>('/esims/:ref', async (request) => {
    const partner = await partnerOf(request);
    return view(await findEsim(ctx.store.db, partner.id, refOf(request.params.ref)));
  });

  app.get('/clock', async (request) => {
    const partner = await partnerOf(request);
    const clock = await partnerClock(ctx.store.db, partner.id, ctx.now());
    return { now: new Date(clock.nowMs).toISOString(), offsetMs: clock.offsetMs };
  });

  app.post('/clock/advance', async (request) => {
    const partner = await partnerOf(request);
    const input = body(request);
    const part = (name: string, unitMs: number) => {
      const v = input[name];
      if (v === undefined || v === null) return 0;
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new HttpError(400, 'invalid_argument', `${name} must be a non-negative number`);
      return Math.round(v * unitMs);
    };
    const byMs = part('days', 86_400_000) + part('hours', 3_600_000) + part('minutes', 60_000) + part('seconds', 1000);
    if (byMs <= 0) throw new DomainError('invalid_argument', 'give days, hours, minutes or seconds greater than zero');
    const result = await advanceClock(ctx.store.db, partner.id, byMs, ctx.now());
    ctx.keys.invalidate();
    ctx.notifyEvents();
    return { now: new Date(result.nowMs).toISOString(), offsetMs: result.offsetMs, transitions: result.transitions };
  });

  app.post('/traffic', async (request) => {
    const partner = await partnerOf(request);
    const enabled = body(request).enabled;
    if (typeof enabled !== 'boolean') throw new HttpError(400, 'invalid_argument', 'enabled must be true or false');
    await ctx.store.db.updateTable('partners').set({ traffic_mode: enabled ? 1 : 0 }).where('id', '=', partner.id).execute();
    return { trafficMode: enabled };
  });
}
