import { sql, type Kysely, type RawBuilder, type SelectQueryBuilder, type Transaction } from 'kysely';
import type { Bundle, DB, Esim, EsimStatus, SmdpStatus } from '../../store/schema.ts';
import { DomainError } from '../errors.ts';
import { emitEvent } from '../events/outbox.ts';
import { makeEid, eidOk } from './identifiers.ts';
import { DAY_MS } from '../../lib/time.ts';

/**
 * The eSIM state machine. Two dimensions, as eSIM Access has them: smdpStatus (what the SM-DP+ and the
 * device did with the profile) and esimStatus (the commercial life of the plan). Every transition runs in
 * one transaction with the events it causes; a refused transition changes nothing.
 *
 *   smdp:  RELEASED → DOWNLOAD → INSTALLATION → ENABLED ⇄ DISABLED;  any installed state → DELETED
 *   esim:  GOT_RESOURCE → IN_USE → USED_UP;  → UNUSED_EXPIRED (download deadline, never activated);
 *          IN_USE/USED_UP → USED_EXPIRED (end of validity);  CANCEL, SUSPENDED, REVOKE by partner actions
 *
 * activeType 1 starts validity at installation, activeType 2 at the first network attach (enable or
 * first data use).
 */
export type DeviceEvent =
  | { kind: 'download'; eid?: string }
  | { kind: 'install'; eid?: string }
  | { kind: 'enable' }
  | { kind: 'disable' }
  | { kind: 'delete' };

const ENDED: EsimStatus[] = ['CANCEL', 'REVOKE', 'UNUSED_EXPIRED', 'USED_EXPIRED'];

type Trx = Transaction<DB>;

interface Loaded {
  esim: Esim;
  bundles: Bundle[];
  orderNo: string;
}

/** An eSIM read for a change, with its bundles in order (see `loadMany`). */
export type LoadedEsim = Loaded;

/**
 * Loads many eSIMs for changes in one transaction: three statements per thousand eSIMs instead of four per
 * eSIM (bulk usage ingestion touches a thousand at a time). `lockRows` (PostgreSQL) takes the row locks
 * `load` takes, in id order, so two batches over the same eSIMs wait for each other instead of deadlocking.
 */
export async function loadMany(trx: Trx, esimIds: string[], lockRows: boolean): Promise<Map<string, LoadedEsim>> {
  const ids = [...new Set(esimIds)].sort();
  const out = new Map<string, LoadedEsim>();
  for (let i = 0; i < ids.length; i += 1000) {
    const part = ids.slice(i, i + 1000);
    let esimQuery = trx.selectFrom('esims').selectAll().where('id', 'in', part).orderBy('id');
    if (lockRows) esimQuery = esimQuery.forUpdate();
    const esims = await esimQuery.execute();
    const bundles = await trx.selectFrom('bundles').selectAll().where('esim_id', 'in', part).orderBy('esim_id').orderBy('seq').execute();
    const orderIds = [...new Set(esims.map((e) => e.order_id))];
    const orders = orderIds.length ? await trx.selectFrom('orders').select(['id', 'order_no']).where('id', 'in', orderIds).execute() : [];
    const orderNos = new Map(orders.map((o) => [o.id, o.order_no]));
    for (const esim of esims) out.set(esim.id, { esim, bundles: [], orderNo: orderNos.get(esim.order_id) ?? '' });
    for (const bundle of bundles) out.get(bundle.esim_id)?.bundles.push(bundle);
  }
  return out;
}

async function load(trx: Trx, esimId: string): Promise<Loaded> {
  // Lock the row first (a no-op update): on PostgreSQL a concurrent transition of the same eSIM (the
  // scheduler and a clock move both expiring it) waits here, then reads the committed state and finds
  // nothing left to do, instead of both applying it. SQLite serialises writers anyway.
  await trx.updateTable('esims').set({ updated_at: sql`updated_at` }).where('id', '=', esimId).execute();
  const esim = await trx.selectFrom('esims').selectAll().where('id', '=', esimId).executeTakeFirst();
  if (!esim) throw new DomainError('esim_not_found', `eSIM ${esimId} does not exist`);
  const bundles = await trx.selectFrom('bundles').selectAll().where('esim_id', '=', esimId).orderBy('seq').execute();
  const order = await trx.selectFrom('orders').select('order_no').where('id', '=', esim.order_id).executeTakeFirst();
  return { esim, bundles, orderNo: order?.order_no ?? '' };
}

function refuse(esim: Esim, what: string): never {
  throw new DomainError('invalid_state', `This operation (${what}) is not allowed while the eSIM is ${esim.esim_status}/${esim.smdp_status}`);
}

async function setEsim(trx: Trx, loaded: Loaded, changes: Partial<Esim>, nowMs: number): Promise<void> {
  Object.assign(loaded.esim, changes);
  await trx.updateTable('esims').set({ ...changes, updated_at: nowMs }).where('id', '=', loaded.esim.id).execute();
}

async function setBundle(trx: Trx, bundle: Bundle, changes: Partial<Bundle>, nowMs: number): Promise<void> {
  Object.assign(bundle, changes);
  await trx.updateTable('bundles').set({ ...changes, updated_at: nowMs }).where('id', '=', bundle.id).execute();
}

function commonPayload(loaded: Loaded) {
  const { esim } = loaded;
  return { esimId: esim.id, orderNo: loaded.orderNo, esimTranNo: esim.esim_tran_no, transactionId: esim.transaction_id, iccid: esim.iccid };
}

async function emitSmdp(trx: Trx, loaded: Loaded, atMs: number, nowMs: number): Promise<void> {
  await emitEvent(
    trx,
    { partnerId: loaded.esim.partner_id, type: 'esim.smdp', subject: loaded.esim.id, payload: { ...commonPayload(loaded), eid: loaded.esim.eid ?? '', esimStatus: loaded.esim.esim_status, smdpStatus: loaded.esim.smdp_status } },
    nowMs,
    atMs,
  );
}

/** Tells the partner of a status change made outside this module (a top-up reviving a used-up eSIM). */
export async function emitEsimStatusChange(trx: Trx, esimId: string, nowMs: number): Promise<void> {
  await emitStatus(trx, await load(trx, esimId), nowMs, nowMs);
}

async function emitStatus(trx: Trx, loaded: Loaded, atMs: number, nowMs: number): Promise<void> {
  await emitEvent(
    trx,
    { partnerId: loaded.esim.partner_id, type: 'esim.status', subject: loaded.esim.id, payload: { ...commonPayload(loaded), esimStatus: loaded.esim.esim_status, smdpStatus: loaded.esim.smdp_status } },
    nowMs,
    atMs,
  );
}

/** Starts validity: the plan's clock runs from here; the first bundle becomes active. */
async function activate(trx: Trx, loaded: Loaded, atMs: number, nowMs: number): Promise<void> {
  if (loaded.esim.activate_time !== null) return;
  await setEsim(trx, loaded, { activate_time: atMs, expired_time: atMs + loaded.esim.total_duration * DAY_MS, esim_status: 'IN_USE' }, nowMs);
  const first = loaded.bundles.find((b) => b.state === 'queued');
  if (first) await setBundle(trx, first, { state: 'active', activated_at: atMs, expires_at: loaded.esim.expired_time }, nowMs);
  await emitStatus(trx, loaded, atMs, nowMs);
}

function assertUsable(esim: Esim, what: string, atMs: number): void {
  if (ENDED.includes(esim.esim_status)) refuse(esim, what);
  if (esim.expired_time !== null && esim.expired_time <= atMs) refuse(esim, `${what} after expiry`);
}

/** A device or SM-DP+ event on one eSIM (the simulated network in sandbox; feeds from suppliers in live). */
export async function applyDeviceEvent(db: Kysely<DB>, esimId: string, event: DeviceEvent, atMs: number): Promise<Esim> {
  return db.transaction().execute(async (trx) => {
    const nowMs = atMs;
    const loaded = await load(trx, esimId);
    const { esim } = loaded;
    const smdp = (status: SmdpStatus) => setEsim(trx, loaded, { smdp_status: status }, nowMs);
    switch (event.kind) {
      case 'download':
      case 'install': {
        assertUsable(esim, event.kind, atMs);
        if (esim.esim_status === 'SUSPENDED') refuse(esim, event.kind);
        if (event.eid !== undefined && !eidOk(event.eid)) throw new DomainError('invalid_argument', 'eid must be 32 digits with valid check digits (mod 97 = 1)');
        if (esim.smdp_status === 'RELEASED') {
          await setEsim(trx, loaded, { smdp_status: 'DOWNLOAD', eid: event.eid ?? esim.eid ?? makeEid() }, nowMs);
          await emitSmdp(trx, loaded, atMs, nowMs);
        } else if (event.kind === 'download' || esim.smdp_status !== 'DOWNLOAD') {
          refuse(esim, event.kind);
        }
        if (event.kind === 'install') {
          await smdp('INSTALLATION');
          await emitSmdp(trx, loaded, atMs, nowMs);
          if (esim.active_type === 1) await activate(trx, loaded, atMs, nowMs);
        }
        break;
      }
      case 'enable': {
        if (esim.smdp_status !== 'INSTALLATION' && esim.smdp_status !== 'DISABLED') refuse(esim, 'enable');
        assertUsable(esim, 'enable', atMs);
        await smdp('ENABLED');
        await emitSmdp(trx, loaded, atMs, nowMs);
        // The device attaches to the network as soon as the profile is enabled.
        if (esim.esim_status === 'GOT_RESOURCE') await activate(trx, loaded, atMs, nowMs);
        break;
      }
      case 'disable': {
        if (esim.smdp_status !== 'ENABLED') refuse(esim, 'disable');
        await smdp('DISABLED');
        await emitSmdp(trx, loaded, atMs, nowMs);
        break;
      }
      case 'delete': {
        if (!['DOWNLOAD', 'INSTALLATION', 'ENABLED', 'DISABLED'].includes(esim.smdp_status)) refuse(esim, 'delete');
        await smdp('DELETED');
        await emitSmdp(trx, loaded, atMs, nowMs);
        break;
      }
    }
    return loaded.esim;
  });
}

export interface UsageOutcome {
  /** Bytes the network let through (a cut-off daily plan or a used-up eSIM grants less than asked). */
  grantedBytes: number;
  esim: Esim;
}

const THRESHOLDS = [50, 80, 90] as const;

/**
 * Consumes data on an eSIM inside the caller's transaction. `enforce` (the simulated network) grants only
 * what the plan allows; usage records from a live supplier are facts and are counted whole.
 */
export async function consumeData(trx: Trx, target: string | LoadedEsim, bytes: number, atMs: number, enforce: boolean): Promise<UsageOutcome> {
  const nowMs = atMs;
  const loaded = typeof target === 'string' ? await load(trx, target) : target;
  const { esim } = loaded;
  if (enforce) {
    if (esim.smdp_status !== 'ENABLED') refuse(esim, 'data use (the profile is not enabled)');
    if (esim.esim_status === 'SUSPENDED') refuse(esim, 'data use while suspended');
    assertUsable(esim, 'data use', atMs);
  }
  if (esim.esim_status === 'GOT_RESOURCE') await activate(trx, loaded, atMs, nowMs);

  // Data flows through the bundles in order. A daily-limit bundle (dataType 2, 3) gives its allowance per day
  // (24 h counted from its activation); once today's is used, later bundles (top-ups) are drawn on; only when
  // none has data left does the daily bundle's rule apply: dataType 2 goes on at reduced speed, 3 stops.
  let remaining = bytes;
  let granted = 0;
  let overDaily: Bundle | null = null;
  for (const bundle of loaded.bundles) {
    if (remaining <= 0) break;
    if (bundle.state !== 'active' && bundle.state !== 'queued') continue;
    if (bundle.state === 'queued') await setBundle(trx, bundle, { state: 'active', activated_at: atMs, expires_at: esim.expired_time }, nowMs);
    if (isDaily(bundle)) {
      const { dayIndex, dayUsed } = dayOf(bundle, atMs);
      const take = Math.max(0, Math.min(remaining, Number(bundle.volume) - dayUsed));
      await setBundle(trx, bundle, { day_index: dayIndex, day_used_bytes: dayUsed + take, used_bytes: Number(bundle.used_bytes) + take }, nowMs);
      granted += take;
      remaining -= take;
      if (remaining > 0) overDaily ??= bundle;
      continue;
    }
    if (bundle.data_type === 4) {
      await setBundle(trx, bundle, { used_bytes: Number(bundle.used_bytes) + remaining }, nowMs);
      granted += remaining;
      remaining = 0;
      break;
    }
    const left = Number(bundle.volume) - Number(bundle.used_bytes);
    const take = Math.min(left, remaining);
    const depleted = take >= left;
    await setBundle(trx, bundle, { used_bytes: Number(bundle.used_bytes) + take, state: depleted ? 'depleted' : 'active' }, nowMs);
    granted += take;
    remaining -= take;
  }
  if (remaining > 0 && overDaily && (overDaily.data_type === 2 || !enforce)) {
    // Speed reduced, not cut off (or a supplier's record, a fact): the rest counts on the daily bundle.
    await setBundle(trx, overDaily, { day_used_bytes: Number(overDaily.day_used_bytes) + remaining, used_bytes: Number(overDaily.used_bytes) + remaining }, nowMs);
    granted += remaining;
    remaining = 0;
  }
  if (!enforce && remaining > 0) granted += remaining; // usage beyond the plan, reported by the supplier
  const throttled = isThrottled(loaded.bundles, atMs);

  const orderUsage = Number(esim.order_usage) + granted;
  const changes: Partial<Esim> = { order_usage: orderUsage, last_usage_at: atMs, throttled: throttled ? 1 : 0 };
  const dataLeft = loaded.bundles.some((b) => (b.state === 'active' || b.state === 'queued') && (b.data_type !== 1 || Number(b.used_bytes) < Number(b.volume)));
  await setEsim(trx, loaded, changes, nowMs);
  if (!dataLeft && esim.esim_status === 'IN_USE') {
    await setEsim(trx, loaded, { esim_status: 'USED_UP' }, nowMs);
    await emitStatus(trx, loaded, atMs, nowMs);
  }
  await announceThresholds(trx, loaded, atMs, nowMs);
  return { grantedBytes: granted, esim: loaded.esim };
}

function isDaily(bundle: Bundle): boolean {
  return bundle.data_type === 2 || bundle.data_type === 3;
}

/** Which day of a daily-limit bundle `atMs` falls in, and what was used on that day so far. */
function dayOf(bundle: Bundle, atMs: number): { dayIndex: number; dayUsed: number } {
  const dayIndex = Math.floor((atMs - Number(bundle.activated_at ?? atMs)) / DAY_MS);
  return { dayIndex, dayUsed: dayIndex === bundle.day_index ? Number(bundle.day_used_bytes) : 0 };
}

/**
 * Throttled (dataType 2: slowed down; 3: cut off): the eSIM has a daily-limit bundle, today's allowance of
 * every one is used, and no other bundle has data left.
 */
function isThrottled(bundles: Bundle[], atMs: number): boolean {
  const usable = bundles.filter((b) => b.state === 'active' || b.state === 'queued');
  const daily = usable.filter(isDaily);
  if (!daily.length) return false;
  const dailyLeft = daily.some((b) => b.state === 'queued' || dayOf(b, atMs).dayUsed < Number(b.volume));
  const otherLeft = usable.some((b) => b.data_type === 4 || (b.data_type === 1 && Number(b.used_bytes) < Number(b.volume)));
  return !dailyLeft && !otherLeft;
}

/** DATA_USAGE at 50, 80 and 90 % used, once each, for plans with a total volume. */
async function announceThresholds(trx: Trx, loaded: Loaded, atMs: number, nowMs: number): Promise<void> {
  const { esim } = loaded;
  if (esim.data_type !== 1 || Number(esim.total_volume) <= 0) return;
  const usedPercent = (Number(esim.order_usage) * 100) / Number(esim.total_volume);
  for (const level of THRESHOLDS) {
    if (level <= esim.usage_alert_level || usedPercent < level) continue;
    await setEsim(trx, loaded, { usage_alert_level: level }, nowMs);
    const totalVolume = Number(esim.total_volume);
    await emitEvent(
      trx,
      {
        partnerId: esim.partner_id,
        type: 'esim.data_usage',
        subject: esim.id,
        payload: {
          ...commonPayload(loaded),
          totalVolume,
          orderUsage: Number(esim.order_usage),
          remain: Math.max(0, totalVolume - Number(esim.order_usage)),
          lastUpdateTimeMs: atMs,
          remainThreshold: Number(((100 - level) / 100).toFixed(1)),
        },
      },
      nowMs,
      atMs,
    );
  }
}

/** The highest threshold still crossed after the volume changed (a top-up re-arms the alerts). */
export function alertLevelFor(orderUsage: number, totalVolume: number, current: number): number {
  if (totalVolume <= 0) return current;
  const usedPercent = (orderUsage * 100) / totalVolume;
  let level = 0;
  for (const t of THRESHOLDS) if (usedPercent >= t) level = t;
  return Math.min(level, current);
}

export interface DueWork {
  esimId: string;
  kind: 'download_deadline' | 'validity_warning' | 'validity_end';
  dueMs: number;
}

/**
 * Everything due by each partner's own clock (sandbox clocks may run ahead), oldest first. `partnerId`
 * limits the scan to one partner (after its clock was moved).
 *
 * Clocks only move forward, so whatever is due by the real clock is due for every partner: that part is an
 * index range scan over all eSIMs (a bound that depended on each row's partner made it a scan of every eSIM
 * in the status: 360 ms at a million, every tick). The eSIMs of partners whose clock was moved are then
 * looked up partner by partner.
 */
export async function findDue(db: Kysely<DB>, realNowMs: number, limit: number, partnerId?: string): Promise<DueWork[]> {
  const partnerClock: Clock = (plusMs) => sql<number>`${realNowMs + plusMs} + partners.clock_offset_ms`;
  const realClock: Clock = (plusMs) => sql<number>`${realNowMs + plusMs}`;
  const rows = partnerId
    ? await dueRows(partnersEsims(db, partnerId), partnerClock, limit)
    : [...(await dueRows(db.selectFrom('esims'), realClock, limit)), ...(await dueRows(partnersEsims(db, 'moved'), partnerClock, limit))];
  const seen = new Set<string>();
  const work: DueWork[] = [];
  for (const row of rows) {
    const key = `${row.kind}:${row.esimId}`;
    if (seen.has(key)) continue;
    seen.add(key);
    work.push(row);
  }
  return work.sort((a, b) => a.dueMs - b.dueMs || (a.kind === 'validity_warning' ? -1 : 1));
}

type EsimsQuery = SelectQueryBuilder<DB, 'esims', {}>;
/** A clock as SQL, `plusMs` ahead of now. */
type Clock = (plusMs: number) => RawBuilder<number>;

/**
 * The eSIMs of one partner, or of every partner whose clock was moved, with `partners` in scope for the
 * clock expression. Partners come first (SQLite keeps a CROSS JOIN's order), then their eSIMs by the
 * (partner_id, esim_status) index. Typed as a query on esims: only esims columns are selected.
 */
function partnersEsims(db: Kysely<DB>, which: string): EsimsQuery {
  const joined = db.selectFrom('partners').crossJoin('esims').whereRef('esims.partner_id', '=', 'partners.id');
  return (which === 'moved' ? joined.where('partners.clock_offset_ms', '>', 0) : joined.where('partners.id', '=', which)) as unknown as EsimsQuery;
}

/** The three kinds of due work among `from`'s eSIMs, by `clock`. */
async function dueRows(from: EsimsQuery, clock: Clock, limit: number): Promise<DueWork[]> {
  const deadline = await from
    .select(['esims.id as esimId', 'esims.download_deadline as dueMs'])
    .where('esims.esim_status', '=', 'GOT_RESOURCE')
    .where('esims.activate_time', 'is', null)
    .where('esims.download_deadline', '<=', clock(0))
    .limit(limit)
    .execute();
  // expired_time <= clock + a day, not expired_time - a day <= clock: the index on expired_time serves it.
  const warning = await from
    .select(['esims.id as esimId', sql<number>`esims.expired_time - ${DAY_MS}`.as('dueMs')])
    .where('esims.esim_status', 'in', ['IN_USE', 'USED_UP'])
    .where('esims.validity_alert_sent', '=', 0)
    .where('esims.expired_time', '<=', clock(DAY_MS))
    .limit(limit)
    .execute();
  const end = await from
    .select(['esims.id as esimId', 'esims.expired_time as dueMs'])
    .where('esims.esim_status', 'in', ['IN_USE', 'USED_UP', 'SUSPENDED'])
    .where('esims.expired_time', '<=', clock(0))
    .limit(limit)
    .execute();
  return [
    ...deadline.map((r) => ({ esimId: r.esimId, kind: 'download_deadline' as const, dueMs: Number(r.dueMs) })),
    ...warning.map((r) => ({ esimId: r.esimId, kind: 'validity_warning' as const, dueMs: Number(r.dueMs) })),
    ...end.map((r) => ({ esimId: r.esimId, kind: 'validity_end' as const, dueMs: Number(r.dueMs) })),
  ];
}

/** Applies one piece of due work; re-checks the state inside the transaction, so running it twice is harmless. */
export async function applyDue(db: Kysely<DB>, work: DueWork): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const loaded = await load(trx, work.esimId);
    const { esim } = loaded;
    const at = work.dueMs;
    if (work.kind === 'download_deadline') {
      if (esim.esim_status !== 'GOT_RESOURCE' || esim.activate_time !== null) return false;
      await setEsim(trx, loaded, { esim_status: 'UNUSED_EXPIRED' }, at);
      for (const b of loaded.bundles) if (b.state === 'queued' || b.state === 'active') await setBundle(trx, b, { state: 'lapsed' }, at);
      await emitStatus(trx, loaded, at, at);
      return true;
    }
    if (work.kind === 'validity_warning') {
      if (esim.validity_alert_sent === 1 || esim.expired_time === null || !['IN_USE', 'USED_UP'].includes(esim.esim_status)) return false;
      await setEsim(trx, loaded, { validity_alert_sent: 1 }, at);
      await emitEvent(
        trx,
        {
          partnerId: esim.partner_id,
          type: 'esim.validity',
          subject: esim.id,
          payload: { ...commonPayload(loaded), durationUnit: esim.duration_unit, totalDuration: esim.total_duration, expiredTimeMs: esim.expired_time, remain: 1 },
        },
        at,
        at,
      );
      return true;
    }
    if (esim.expired_time === null || !['IN_USE', 'USED_UP', 'SUSPENDED'].includes(esim.esim_status)) return false;
    await setEsim(trx, loaded, { esim_status: 'USED_EXPIRED' }, at);
    for (const b of loaded.bundles) if (b.state === 'queued' || b.state === 'active' || b.state === 'depleted') await setBundle(trx, b, { state: 'expired' }, at);
    await emitStatus(trx, loaded, at, at);
    return true;
  });
}

/** Runs everything due now; returns how many transitions happened. */
export async function runDue(db: Kysely<DB>, realNowMs: number, partnerId?: string): Promise<number> {
  let applied = 0;
  for (let round = 0; round < 100; round++) {
    const due = await findDue(db, realNowMs, 500, partnerId);
    if (!due.length) break;
    let progressed = 0;
    for (const work of due) if (await applyDue(db, work)) progressed++;
    applied += progressed;
    if (progressed === 0) break;
  }
  return applied;
}
