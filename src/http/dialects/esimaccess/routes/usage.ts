import type { AppContext } from '../../../../context.ts';
import { usageOf } from '../../../../domain/usage/query.ts';
import { sendSms } from '../../../../domain/esims/sms.ts';
import { formatEsimAccessTime } from '../../../../lib/time.ts';
import { EsimAccessError } from '../envelope.ts';
import { optionalArray, optionalString, requiredString } from '../params.ts';
import type { RouteTable } from '../plugin.ts';

/** esim/usage/query and esim/sendSms. */
export function usageRoutes(ctx: AppContext): RouteTable {
  return {
    '/esim/usage/query': async ({ auth, body }) => {
      if (!('esimTranNoList' in body)) throw new EsimAccessError('000105', 'Request parameter [esimTranNoList] is mandatory and not contained');
      const list = optionalArray(body, 'esimTranNoList');
      if (!list || list.length === 0) throw new EsimAccessError('000106', 'Request parameter [esimTranNoList] is mandatory and is null or empty');
      const tranNos = list.map((v, i) => {
        if ((typeof v !== 'string' && typeof v !== 'number') || !/^\d{1,30}$/.test(String(v))) throw new EsimAccessError('000107', `esimTranNoList[${i}] must be an esimTranNo (digits)`);
        return String(v);
      });
      const usage = await usageOf(ctx.store.db, auth.partner.id, tranNos);
      return { esimUsageList: usage.map((u) => ({ esimTranNo: u.esimTranNo, dataUsage: u.dataUsage, totalData: u.totalData, lastUpdateTime: formatEsimAccessTime(u.lastUpdateTimeMs) })) };
    },

    '/esim/sendSms': async ({ auth, body, nowMs }) => {
      const iccid = optionalString(body, 'iccid', { max: 22, pattern: /^\d{18,20}F?$/, patternHint: 'must be 18-20 digits' });
      const esimTranNo = optionalString(body, 'esimTranNo', { max: 30, pattern: /^\d{1,30}$/, patternHint: 'must be digits' });
      if (!iccid && !esimTranNo) throw new EsimAccessError('200042', 'Either iccid or esimTranNo is required');
      const message = requiredString(body, 'message', { max: 500 });
      await sendSms(ctx.store.db, auth.partner.id, { iccid, esimTranNo }, message, nowMs);
      return {};
    },
  };
}
