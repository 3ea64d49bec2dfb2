import { formatEsimAccessTime } from '../../../lib/time.ts';

/**
 * Domain events as eSIM Access webhook bodies:
 * `{"notifyType", "eventGenerateTime", "notifyId", "content": {...}}`, with the content fields of the wire
 * rules. `notifyId` is the event id, so every retry of one event carries the same one.
 *
 * Beyond the seed:
 * - `order.failed` is sent as ORDER_STATUS with `orderStatus: "FAILED"` and a `reason` (the order was
 *   refunded in full); receivers that only look for GOT_RESOURCE ignore it.
 * - `balance.low` is sent as `BALANCE_LOW` with `{balance, lastDepositAmount, remainPercent, lastUpdateTime}`:
 *   `remainPercent` is the threshold crossed (25 or 10, percent of the last deposit left), money is in
 *   1/10,000 units like every eSIM Access amount.
 */
export interface EsimAccessWebhookEvent {
  id: string;
  type: string;
  payload: Record<string, unknown>;
  occurredAtMs: number;
}

export interface EsimAccessNotification {
  notifyType: string;
  eventGenerateTime: string | null;
  notifyId: string;
  content: Record<string, unknown>;
}

/** REVOKE is the stored status; the wire says REVOKED. */
function wireEsimStatus(status: unknown): unknown {
  return status === 'REVOKE' ? 'REVOKED' : status;
}

function num(value: unknown): number | null {
  if (value === null || value === undefined || value === '') return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

function time(value: unknown): string | null {
  const n = num(value);
  return n === null ? null : formatEsimAccessTime(n);
}

/** 0.5 / 0.2 / 0.1: the fraction remaining. Accepts the percent used (50/80/90) as well. */
function remainFraction(value: unknown): number | null {
  const n = num(value);
  if (n === null) return null;
  if (n > 1) return Number(((100 - n) / 100).toFixed(2));
  return n;
}

function contentFor(type: string, p: Record<string, unknown>): { notifyType: string; content: Record<string, unknown> } | null {
  switch (type) {
    case 'order.ready':
      return { notifyType: 'ORDER_STATUS', content: { orderNo: p.orderNo, transactionId: p.transactionId, orderStatus: 'GOT_RESOURCE' } };
    case 'order.failed':
      return { notifyType: 'ORDER_STATUS', content: { orderNo: p.orderNo, transactionId: p.transactionId, orderStatus: 'FAILED', reason: p.reason ?? null } };
    case 'esim.smdp':
      return {
        notifyType: 'SMDP_EVENT',
        content: {
          eid: p.eid ?? '',
          iccid: p.iccid,
          esimStatus: wireEsimStatus(p.esimStatus),
          smdpStatus: p.smdpStatus,
          orderNo: p.orderNo,
          esimTranNo: p.esimTranNo,
          transactionId: p.transactionId,
        },
      };
    case 'esim.status':
      return {
        notifyType: 'ESIM_STATUS',
        content: {
          orderNo: p.orderNo,
          esimTranNo: p.esimTranNo,
          transactionId: p.transactionId,
          iccid: p.iccid,
          esimStatus: wireEsimStatus(p.esimStatus),
          smdpStatus: p.smdpStatus,
        },
      };
    case 'esim.data_usage':
      return {
        notifyType: 'DATA_USAGE',
        content: {
          orderNo: p.orderNo,
          transactionId: p.transactionId,
          esimTranNo: p.esimTranNo,
          iccid: p.iccid,
          totalVolume: num(p.totalVolume),
          orderUsage: num(p.orderUsage),
          remain: num(p.remain),
          lastUpdateTime: time(p.lastUpdateTimeMs),
          remainThreshold: remainFraction(p.remainThreshold),
        },
      };
    case 'esim.validity':
      return {
        notifyType: 'VALIDITY_USAGE',
        content: {
          orderNo: p.orderNo,
          transactionId: p.transactionId,
          iccid: p.iccid,
          durationUnit: p.durationUnit,
          totalDuration: num(p.totalDuration),
          expiredTime: time(p.expiredTimeMs),
          remain: num(p.remain),
        },
      };
    case 'balance.low':
      return {
        notifyType: 'BALANCE_LOW',
        content: {
          balance: num(p.balance),
          lastDepositAmount: num(p.lastDeposit),
          remainPercent: num(p.thresholdPercent),
          lastUpdateTime: null, // filled from the event time below
        },
      };
    default:
      return null;
  }
}

export function renderEsimAccessWebhook(event: EsimAccessWebhookEvent): EsimAccessNotification | null {
  const rendered = contentFor(event.type, event.payload);
  if (!rendered) return null;
  if (rendered.notifyType === 'BALANCE_LOW') rendered.content.lastUpdateTime = formatEsimAccessTime(event.occurredAtMs);
  return { notifyType: rendered.notifyType, eventGenerateTime: formatEsimAccessTime(event.occurredAtMs), notifyId: event.id, content: rendered.content };
}
