import { timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../context.ts';
import { ingestUsage, parseUsageCsv, type UsageRecordInput } from '../../domain/usage/ingest.ts';
import { HttpError, sendNativeError } from '../native-errors.ts';

const MAX_RECORDS = 100_000;

/**
 * The operator's internal API (supplier feeds, automation), authenticated by `Authorization: Bearer
 * <ADMIN_TOKEN>`. Disabled (404) when no ADMIN_TOKEN is configured.
 */
export async function internalPlugin(app: FastifyInstance, options: { ctx: AppContext }): Promise<void> {
  const { ctx } = options;
  app.setErrorHandler((error, request, reply) => sendNativeError(request, reply, error));
  app.addContentTypeParser('text/csv', { parseAs: 'string', bodyLimit: 64 * 1024 * 1024 }, (_req, body, done) => done(null, body));

  app.addHook('onRequest', async (request) => {
    if (!ctx.config.adminToken) throw new HttpError(404, 'not_found', 'the internal API is disabled (set ADMIN_TOKEN)');
    const given = /^Bearer\s+(.+)$/i.exec(String(request.headers.authorization ?? ''))?.[1] ?? '';
    const a = createHash('sha256').update(given).digest();
    const b = createHash('sha256').update(ctx.config.adminToken).digest();
    if (!timingSafeEqual(a, b)) throw new HttpError(401, 'unauthenticated', 'a valid Authorization: Bearer <ADMIN_TOKEN> is required');
  });

  /** Usage records as JSON `{records:[{iccid|esimTranNo, bytes, start?, end?, recordId?}], source?}` or as CSV. */
  app.post('/usage', { bodyLimit: 64 * 1024 * 1024 }, async (request) => {
    let records: UsageRecordInput[];
    let source = 'api';
    if (typeof request.body === 'string') {
      const parsed = parseUsageCsv(request.body);
      if (parsed.errors.length) return { accepted: false, errors: parsed.errors };
      records = parsed.records;
    } else {
      const body = (request.body ?? {}) as { records?: unknown; source?: unknown };
      if (!Array.isArray(body.records)) throw new HttpError(400, 'invalid_argument', 'records must be a list');
      if (typeof body.source === 'string' && /^[A-Za-z0-9_.-]{1,40}$/.test(body.source)) source = body.source;
      records = [];
      const errors: Array<{ line: number; reason: string }> = [];
      body.records.forEach((r: any, i: number) => {
        const line = i + 1;
        if (!r || typeof r !== 'object') return errors.push({ line, reason: 'not an object' });
        if (typeof r.bytes !== 'number' || !Number.isSafeInteger(r.bytes) || r.bytes < 0) return errors.push({ line, reason: 'bytes must be a non-negative whole number' });
        if (typeof r.iccid !== 'string' && typeof r.esimTranNo !== 'string') return errors.push({ line, reason: 'iccid or esimTranNo is required' });
        const time = (v: unknown) => (typeof v === 'string' && !Number.isNaN(Date.parse(v)) ? Date.parse(v) : undefined);
        records.push({ iccid: r.iccid, esimTranNo: r.esimTranNo, bytes: r.bytes, startMs: time(r.start), endMs: time(r.end), recordId: typeof r.recordId === 'string' ? r.recordId : undefined, line });
      });
      if (errors.length) return { accepted: false, errors };
    }
    if (records.length > MAX_RECORDS) throw new HttpError(413, 'too_many_records', `at most ${MAX_RECORDS} records per request`);
    const report = await ingestUsage(ctx.store, records, source, ctx.now());
    ctx.notifyEvents();
    return { accepted: true, ...report };
  });
}
