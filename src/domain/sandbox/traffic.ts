import { createHash } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { DB, Esim } from '../../store/schema.ts';
import { applyDeviceEvent, type DeviceEvent } from '../esims/lifecycle.ts';
import { simulateDataUse } from './data-use.ts';
import { DAY_MS } from '../../lib/time.ts';

/**
 * Traffic mode: the sandbox eSIMs of partners who switched it on live realistic lives by themselves, on
 * their partner's clock. A "user" installs the profile within two hours of the purchase and enables it
 * minutes later, then uses data every hour at a rate of their own (some use their plan up before it ends,
 * others let it expire with data left; daily plans go over their allowance on some days), on some days
 * switches the profile off, and once the plan has expired half of them delete the profile (within three days).
 * Expiry and the one-day warning come from the scheduler as for every eSIM.
 *
 * Lives are replayable: every choice is a hash of the eSIM id, so a tick that runs twice (two workers, a
 * retry) makes the same choices, and the usage of an hour is applied once (guarded by `last_usage_at`).
 * A tick catches up on everything that fell due since the last one: after a clock move of days, one usage
 * record per day (the sum of that day's hours) keeps that quick.
 */
const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;
/** eSIMs looked at per scheduler tick, round-robin by id across ticks. */
const PER_TICK = 200;
/** The chance that a day (other than the first) is one with the profile switched off. */
const OFF_DAY_CHANCE = 1 / 6;
/** The chance that a user deletes the profile once its plan has expired (the others keep it installed). */
const DELETE_CHANCE = 1 / 2;
/** Users who delete do so within this long after the expiry. */
const DELETE_WITHIN_MS = 72 * HOUR_MS;

/** A number in [0, 1) fixed by the eSIM and what it decides. */
function unit(esimId: string, what: string, n = 0): number {
  return createHash('sha256').update(`${esimId}:${what}:${n}`).digest().readUInt32BE(0) / 2 ** 32;
}

type Candidate = Pick<Esim, 'id' | 'smdp_status' | 'esim_status' | 'created_at' | 'updated_at' | 'activate_time' | 'expired_time' | 'last_usage_at' | 'total_volume' | 'total_duration' | 'data_type'> & {
  clock_offset_ms: number;
  /** The order's time, on the partner's clock (the eSIM row's created_at is the allocating worker's real time). */
  ordered_at: number;
};

/** The user's habits: when they install and enable, and how much data a day they use. */
function habitsOf(esim: Candidate) {
  const perDayOfPlan = Number(esim.total_volume) / Math.max(1, Number(esim.total_duration));
  // Fixed plans: 0.7–1.9 × the plan's data per day on the days they use it (one in six they do not): most
  // use their plan up before it ends, the others let it expire with data left. Daily plans: 0.5–1.5 × the
  // daily allowance (over it on some days).
  const factor = esim.data_type === 1 ? 0.7 + 1.2 * unit(esim.id, 'rate') : 0.5 + unit(esim.id, 'rate');
  return {
    installAfterMs: Math.floor(unit(esim.id, 'install') * 2 * HOUR_MS),
    enableAfterMs: MINUTE_MS + Math.floor(unit(esim.id, 'enable') * 30 * MINUTE_MS),
    dailyBytes: perDayOfPlan * factor,
  };
}

const isOffDay = (esimId: string, day: number) => day > 0 && unit(esimId, 'off', day) < OFF_DAY_CHANCE;

/** Whether this eSIM's user deletes the profile after its plan expired, and how long after. */
export function deletionAfterExpiry(esimId: string): { deletes: boolean; afterMs: number } {
  return { deletes: unit(esimId, 'delete') < DELETE_CHANCE, afterMs: HOUR_MS + Math.floor(unit(esimId, 'delete-after') * (DELETE_WITHIN_MS - HOUR_MS)) };
}

/** Bytes used in hour `hour` (1 = the first hour after activation) of day `day`: the day's rate varies, so do the hours. */
function hourBytes(esimId: string, dailyBytes: number, day: number, hour: number): number {
  const dayFactor = 0.3 + 1.4 * unit(esimId, 'day', day);
  return Math.max(1, Math.round((dailyBytes * dayFactor * (0.5 + unit(esimId, 'hour', hour))) / 24));
}

/**
 * One step of traffic: every eSIM of traffic partners (or of `partnerId` only) lives up to its partner's
 * clock. Returns how many actions (device events, usage records) it made.
 */
export async function trafficTick(db: Kysely<DB>, realNowMs: number, partnerId?: string): Promise<number> {
  let query = db
    .selectFrom('esims')
    .innerJoin('partners', 'partners.id', 'esims.partner_id')
    .innerJoin('orders', 'orders.id', 'esims.order_id')
    .select([
      'orders.created_at as ordered_at',
      'esims.id',
      'esims.smdp_status',
      'esims.esim_status',
      'esims.created_at',
      'esims.updated_at',
      'esims.activate_time',
      'esims.expired_time',
      'esims.last_usage_at',
      'esims.total_volume',
      'esims.total_duration',
      'esims.data_type',
      'partners.clock_offset_ms',
    ])
    .where('partners.traffic_mode', '=', 1)
    .where('partners.environment', '=', 'sandbox')
    .where('esims.smdp_status', 'in', ['RELEASED', 'DOWNLOAD', 'INSTALLATION', 'ENABLED', 'DISABLED'])
    .where((eb) =>
      eb.or([
        eb('esims.esim_status', 'in', ['GOT_RESOURCE', 'IN_USE']),
        // Expired lately (on the partner's clock): its user may still delete the profile.
        eb.and([eb('esims.esim_status', '=', 'USED_EXPIRED'), eb(sql<number>`esims.expired_time + ${DELETE_WITHIN_MS}`, '>', sql<number>`${realNowMs} + partners.clock_offset_ms`)]),
      ]),
    )
    .orderBy('esims.id');
  if (partnerId) query = query.where('partners.id', '=', partnerId);
  else query = query.where('esims.id', '>', cursor.afterId).limit(PER_TICK);
  const candidates = await query.execute();
  if (!partnerId) cursor.afterId = candidates.length === PER_TICK ? candidates.at(-1)!.id : '';
  let actions = 0;
  for (const esim of candidates) {
    try {
      actions += await live(db, esim, realNowMs + Number(esim.clock_offset_ms));
    } catch {
      // The state changed under us (the partner acted at the same moment): the next tick looks again.
    }
  }
  return actions;
}

/** Where the round-robin over all traffic eSIMs stands (per process; any start point is fine). */
const cursor = { afterId: '' };

/** Brings one eSIM's life up to `nowMs` (its partner's clock). */
async function live(db: Kysely<DB>, esim: Candidate, nowMs: number): Promise<number> {
  const habits = habitsOf(esim);
  const device = async (event: DeviceEvent, atMs: number) => {
    const updated = await applyDeviceEvent(db, esim.id, event, atMs);
    Object.assign(esim, { smdp_status: updated.smdp_status, esim_status: updated.esim_status, activate_time: updated.activate_time, expired_time: updated.expired_time, updated_at: updated.updated_at });
    return 1;
  };
  let actions = 0;
  if (esim.esim_status === 'USED_EXPIRED') {
    const deletion = deletionAfterExpiry(esim.id);
    const at = Number(esim.expired_time) + deletion.afterMs;
    if (!deletion.deletes || esim.smdp_status === 'RELEASED' || esim.smdp_status === 'DOWNLOAD' || at > nowMs) return actions;
    return device({ kind: 'delete' }, at);
  }
  if (esim.smdp_status === 'RELEASED' || esim.smdp_status === 'DOWNLOAD') {
    const bought = Math.max(Number(esim.ordered_at), Number(esim.created_at));
    const at = esim.smdp_status === 'RELEASED' ? bought + habits.installAfterMs : Math.max(Number(esim.updated_at), bought);
    if (at > nowMs) return actions;
    actions += await device({ kind: 'install' }, at);
  }
  if (esim.smdp_status === 'INSTALLATION') {
    const at = Number(esim.updated_at) + habits.enableAfterMs;
    if (at > nowMs) return actions;
    actions += await device({ kind: 'enable' }, at);
  }
  if (esim.esim_status !== 'IN_USE' || esim.activate_time === null || (esim.smdp_status !== 'ENABLED' && esim.smdp_status !== 'DISABLED')) return actions;

  const anchor = Number(esim.activate_time);
  const end = Math.min(nowMs, esim.expired_time === null ? nowMs : Number(esim.expired_time) - 1);
  const from = Math.max(Number(esim.last_usage_at ?? anchor), anchor);
  const firstHour = Math.floor((from - anchor) / HOUR_MS) + 1;
  const lastHour = Math.floor((end - anchor) / HOUR_MS);
  const lastDay = Math.floor((end - anchor) / DAY_MS);
  for (let day = Math.max(0, Math.floor((firstHour - 1) / 24)); day <= lastDay; day++) {
    const switchAt = Math.max(anchor + day * DAY_MS + MINUTE_MS, Number(esim.updated_at));
    if (isOffDay(esim.id, day)) {
      if (esim.smdp_status === 'ENABLED' && switchAt <= end) actions += await device({ kind: 'disable' }, switchAt);
      continue;
    }
    if (esim.smdp_status === 'DISABLED') {
      if (switchAt > end) break;
      actions += await device({ kind: 'enable' }, switchAt);
    }
    const hours: number[] = [];
    for (let hour = Math.max(firstHour, day * 24 + 1); hour <= Math.min(lastHour, day * 24 + 24); hour++) hours.push(hour);
    if (!hours.length) continue;
    const bytes = hours.reduce((sum, hour) => sum + hourBytes(esim.id, habits.dailyBytes, day, hour), 0);
    const used = await useOnce(db, esim.id, bytes, anchor + hours.at(-1)! * HOUR_MS);
    if (!used) break;
    actions++;
    if (used.esim_status !== 'IN_USE') break; // used up
  }
  return actions;
}

/** Data use at `atMs`, applied only if nothing was used at or after that time yet (a tick running twice). */
async function useOnce(db: Kysely<DB>, esimId: string, bytes: number, atMs: number): Promise<Esim | null> {
  return db.transaction().execute(async (trx) => {
    const claimed = await trx
      .updateTable('esims')
      .set({ last_usage_at: atMs })
      .where('id', '=', esimId)
      .where((eb) => eb.or([eb('last_usage_at', 'is', null), eb('last_usage_at', '<', atMs)]))
      .executeTakeFirst();
    if (Number(claimed.numUpdatedRows) !== 1) return null;
    return (await simulateDataUse(trx, esimId, bytes, atMs)).esim;
  });
}
