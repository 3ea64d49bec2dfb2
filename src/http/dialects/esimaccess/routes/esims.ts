import type { AppContext } from '../../../../context.ts';
import { cancelEsim, queryEsims, revokeEsim, suspendEsim, unsuspendEsim, type EsimRef } from '../../../../domain/esims/esims.ts';
import { topUp } from '../../../../domain/ordering/topup.ts';
import type { OrderLineInput } from '../../../../domain/ordering/ordering.ts';
import { parseClientTime, formatEsimAccessTime } from '../../../../lib/time.ts';
import { EsimAccessError } from '../envelope.ts';
import { optionalArray, optionalInt, optionalObject, optionalString, requiredString, type Body } from '../params.ts';
import type { RouteTable } from '../plugin.ts';
import { effectiveExpiry, renderEsim } from '../render-esim.ts';

const ICCID = { max: 22, pattern: /^\d{18,20}F?$/, patternHint: 'must be 18-20 digits' };
const TRAN_NO = { max: 30, pattern: /^\d{1,30}$/, patternHint: 'must be digits' };

function esimRef(body: Body): EsimRef {
  const iccid = optionalString(body, 'iccid', ICCID);
  const esimTranNo = optionalString(body, 'esimTranNo', TRAN_NO);
  if (!iccid && !esimTranNo) throw new EsimAccessError('200042', 'Either iccid or esimTranNo is required');
  return { iccid, esimTranNo };
}

function clamp(value: number | undefined, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  return Math.min(max, Math.max(min, value));
}

function timeParam(body: Body, name: string): number | undefined {
  const text = optionalString(body, name, { max: 40 });
  if (text === undefined) return undefined;
  const ms = parseClientTime(text);
  if (ms === null) throw new EsimAccessError('000107', `Request parameter [${name}] must be an ISO time such as 2026-09-01T00:00+00:00`);
  return ms;
}

function orderLines(body: Body): OrderLineInput[] {
  if (!('packageInfoList' in body)) throw new EsimAccessError('000105', 'Request parameter [packageInfoList] is mandatory and not contained');
  const list = optionalArray(body, 'packageInfoList');
  if (!list || list.length === 0) throw new EsimAccessError('000106', 'Request parameter [packageInfoList] is mandatory and is null or empty');
  if (list.length > 30) throw new EsimAccessError('200008', 'packageInfoList holds more than 30 lines: at most 30 profiles per order');
  return list.map((entry, i) => {
    if (!entry || typeof entry !== 'object' || Array.isArray(entry)) throw new EsimAccessError('000107', `packageInfoList[${i}] must be an object`);
    const item = entry as Body;
    const code = optionalString(item, 'packageCode', { max: 100 }) ?? optionalString(item, 'slug', { max: 100 });
    if (!code) throw new EsimAccessError('000105', `packageInfoList[${i}] needs packageCode or slug`);
    if (!('count' in item)) throw new EsimAccessError('000105', `packageInfoList[${i}].count is mandatory`);
    const count = optionalInt(item, 'count', 1, 30);
    if (count === undefined) throw new EsimAccessError('000106', `packageInfoList[${i}].count is null`);
    return {
      packageCode: code,
      count,
      priceMinor: optionalInt(item, 'price', 0, 1e12),
      periodNum: optionalInt(item, 'periodNum', 1, 365),
    };
  });
}

/** esim/order, esim/query and the actions on one eSIM. */
export function esimRoutes(ctx: AppContext): RouteTable {
  const publicBase = () => ctx.config.publicBaseUrl;
  return {
    '/esim/order': async ({ auth, body, nowMs }) => {
      const transactionId = requiredString(body, 'transactionId', { max: 50 });
      const lines = orderLines(body);
      const amountMinor = optionalInt(body, 'amount', 0, 1e13);
      const { order } = await ctx.ordering.place({ partner: auth.partner, transactionId, lines, amountMinor, nowMs });
      return { orderNo: order.order_no, transactionId: order.transaction_id };
    },

    '/esim/query': async ({ auth, body }) => {
      const pager = optionalObject(body, 'pager') ?? {};
      // Clients send pageSize 1..500; the docs' range is 5..500: clamp rather than reject.
      const pageSize = clamp(optionalInt(pager, 'pageSize', -1e9, 1e9), 5, 500, 50);
      const pageNum = clamp(optionalInt(pager, 'pageNum', -1e9, 1e9), 1, 10000, 1);
      const page = await queryEsims(ctx.store, auth.partner.id, {
        orderNo: optionalString(body, 'orderNo', { max: 40 }),
        iccid: optionalString(body, 'iccid', ICCID),
        esimTranNo: optionalString(body, 'esimTranNo', TRAN_NO),
        startMs: timeParam(body, 'startTime'),
        endMs: timeParam(body, 'endTime'),
        pageNum,
        pageSize,
      });
      return {
        esimList: page.esims.map((e) => renderEsim(e, ctx.catalog, publicBase())),
        pager: { pageSize: page.pageSize, pageNum: page.pageNum, total: page.total },
      };
    },

    '/esim/cancel': async ({ auth, body, nowMs }) => {
      await cancelEsim(ctx.store.db, auth.partner.id, esimRef(body), nowMs);
      return {};
    },
    '/esim/suspend': async ({ auth, body, nowMs }) => {
      await suspendEsim(ctx.store.db, auth.partner.id, esimRef(body), nowMs);
      return {};
    },
    '/esim/unsuspend': async ({ auth, body, nowMs }) => {
      await unsuspendEsim(ctx.store.db, auth.partner.id, esimRef(body), nowMs);
      return {};
    },
    '/esim/revoke': async ({ auth, body, nowMs }) => {
      await revokeEsim(ctx.store.db, auth.partner.id, esimRef(body), nowMs);
      return {};
    },

    '/esim/topup': async ({ auth, body, nowMs }) => {
      const ref = esimRef(body);
      const packageCode = requiredString(body, 'packageCode', { max: 100 });
      const transactionId = requiredString(body, 'transactionId', { max: 50 });
      const amountMinor = optionalInt(body, 'amount', 0, 1e13);
      const result = await topUp(ctx.store.db, ctx.catalog, { partner: auth.partner, ref, packageCode, transactionId, amountMinor, nowMs });
      return {
        transactionId: result.transactionId,
        iccid: result.iccid,
        expiredTime: formatEsimAccessTime(effectiveExpiry(result.esim)),
        totalVolume: Number(result.esim.total_volume),
        totalDuration: result.esim.total_duration,
        orderUsage: Number(result.esim.order_usage),
      };
    },
  };
}
