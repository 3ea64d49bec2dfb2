import { sql, type ExpressionBuilder, type Kysely, type Transaction } from 'kysely';
import { jsonArrayFrom } from 'kysely/helpers/postgres';
import type { Bundle, DB, EsimStatus, Esim, OrderTable } from '../../store/schema.ts';
import type { Store } from '../../store/connect.ts';
import { DomainError } from '../errors.ts';
import { postTransfer } from '../ledger/ledger.ts';
import { emitEvent } from '../events/outbox.ts';

type Db = Kysely<DB> | Transaction<DB>;

export interface EsimRef {
  iccid?: string;
  esimTranNo?: string;
}

/**
 * Finds a partner's eSIM by esimTranNo or ICCID (ICCIDs can be reused, so the newest wins). Another
 * partner's eSIM is reported exactly like one that does not exist.
 */
export async function findEsim(db: Db, partnerId: string, ref: EsimRef): Promise<Esim> {
  let query = db.selectFrom('esims').selectAll().where('partner_id', '=', partnerId);
  if (ref.esimTranNo) query = query.where('esim_tran_no', '=', ref.esimTranNo);
  if (ref.iccid) query = query.where('iccid', '=', ref.iccid);
  const esim = await query.orderBy('created_at', 'desc').limit(1).executeTakeFirst();
  if (!esim) {
    const what = ref.esimTranNo ? `esimTranNo ${ref.esimTranNo}` : `ICCID ${ref.iccid}`;
    throw new DomainError('esim_not_found', `The ${what} does not exist`);
  }
  return esim;
}

export interface EsimQuery {
  orderNo?: string;
  iccid?: string;
  esimTranNo?: string;
  startMs?: number;
  endMs?: number;
  pageNum: number;
  pageSize: number;
}

export interface EsimWithBundles extends Esim {
  bundles: Bundle[];
  order_no: string;
}

export interface EsimPage {
  esims: EsimWithBundles[];
  total: number;
  pageNum: number;
  pageSize: number;
}

export function inProgressMessage(order: Pick<OrderTable, 'total_count' | 'allocated_count'>): string {
  return `the batchOrder has been getting resource, total:[${order.total_count}], success:[${order.allocated_count}]`;
}

/**
 * An eSIM's bundles in order, as a JSON array selected beside the eSIM (PostgreSQL): the page and its bundles
 * then come back in one round trip instead of two.
 */
function bundlesOf(eb: ExpressionBuilder<DB, 'esims'>) {
  return jsonArrayFrom(eb.selectFrom('bundles').selectAll('bundles').whereRef('bundles.esim_id', '=', 'esims.id').orderBy('bundles.seq')).as('bundles');
}

export async function queryEsims(store: Pick<Store, 'db' | 'dialect'>, partnerId: string, q: EsimQuery): Promise<EsimPage> {
  const { db } = store;
  // Every round trip counts on PostgreSQL (each is two wake-ups of two processes, and the tail latency of a
  // query grows with them): a lookup by ICCID is one query for the eSIM with its order number and bundles,
  // and so is a page of a ready order. The embedded store has no round trips and reads bundles separately.
  const inline = store.dialect === 'postgres';
  if (q.orderNo && !q.iccid && !q.esimTranNo && q.startMs === undefined && q.endMs === undefined) {
    const page = await readyOrderPage(db, inline, partnerId, q.orderNo, q);
    if (page) return page;
  }
  let order: { id: string; order_no: string } | undefined;
  if (q.orderNo) {
    const found = await db.selectFrom('orders').selectAll().where('order_no', '=', q.orderNo).where('partner_id', '=', partnerId).executeTakeFirst();
    if (!found || found.kind !== 'order') throw new DomainError('order_not_found', `the orderNo ${q.orderNo} doesn't exist`);
    if (found.status === 'allocating') throw new DomainError('order_in_progress', inProgressMessage(found));
    if (found.status === 'failed') {
      throw new DomainError('conflict', `Abnormal order status: order ${found.order_no} failed and was refunded in full (${found.failure_reason ?? 'supply failure'})`);
    }
    order = found;
  }
  // An order's eSIMs are all its partner's (checked above): filtering by the order alone leaves the planner one
  // index (order_id, esim_tran_no) instead of a scan of a large partner's eSIMs in created_at order.
  let base = order ? db.selectFrom('esims').where('esims.order_id', '=', order.id) : db.selectFrom('esims').where('esims.partner_id', '=', partnerId);
  if (q.esimTranNo) base = base.where('esims.esim_tran_no', '=', q.esimTranNo);
  if (q.iccid) base = base.where('esims.iccid', '=', q.iccid);
  if (q.startMs !== undefined) base = base.where('esims.created_at', '>=', q.startMs);
  if (q.endMs !== undefined) base = base.where('esims.created_at', '<=', q.endMs);
  // The order number: known already for an order's page, else joined in.
  const withOrderNo = order
    ? base.selectAll('esims').select(sql<string>`''`.as('order_no'))
    : base.leftJoin('orders', 'orders.id', 'esims.order_id').selectAll('esims').select(sql<string>`coalesce(orders.order_no, '')`.as('order_no'));

  const single = (q.iccid || q.esimTranNo) && !order;
  const selected = inline ? withOrderNo.select(bundlesOf) : withOrderNo;
  let rows: Array<Esim & { order_no: string; bundles?: Bundle[] }>;
  let total: number;
  if (single && q.iccid && !q.esimTranNo) {
    // ICCIDs are reused: the ICCID names its newest eSIM.
    rows = await selected.orderBy('esims.created_at', 'desc').limit(1).execute();
    total = rows.length;
  } else {
    rows = await (order ? selected.orderBy('esims.esim_tran_no') : selected.orderBy('esims.created_at').orderBy('esims.esim_tran_no'))
      .limit(q.pageSize + 1)
      .offset((q.pageNum - 1) * q.pageSize)
      .execute();
    // One row more than the page: a first page without it is everything there is, and needs no count.
    const complete = q.pageNum === 1 && rows.length <= q.pageSize;
    rows = rows.slice(0, q.pageSize);
    total = complete ? rows.length : Number((await base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
  }
  if (single && total === 0) {
    throw new DomainError('esim_not_found', `The ${q.esimTranNo ? `esimTranNo ${q.esimTranNo}` : `ICCID ${q.iccid}`} does not exist`);
  }
  const named = order ? rows.map((r) => ({ ...r, order_no: order.order_no })) : rows;
  return { esims: inline ? (named as EsimWithBundles[]) : await withBundles(db, named), total, pageNum: q.pageNum, pageSize: q.pageSize };
}

/**
 * A page of an order that is ready (or partly cancelled etc.: anything but allocating or failed), in one
 * query with the order joined; null when that finds nothing, and the caller's full path then answers (an
 * unknown, allocating or failed order, or a page past the end).
 */
async function readyOrderPage(db: Kysely<DB>, inline: boolean, partnerId: string, orderNo: string, q: { pageNum: number; pageSize: number }): Promise<EsimPage | null> {
  const page = db
    .selectFrom('orders')
    .innerJoin('esims', 'esims.order_id', 'orders.id')
    .selectAll('esims')
    .select('orders.order_no');
  const rows: Array<Esim & { order_no: string; bundles?: Bundle[] }> = await (inline ? page.select(bundlesOf) : page)
    .where('orders.order_no', '=', orderNo)
    .where('orders.partner_id', '=', partnerId)
    .where('orders.kind', '=', 'order')
    .where('orders.status', 'not in', ['allocating', 'failed'])
    .orderBy('esims.esim_tran_no')
    .limit(q.pageSize + 1)
    .offset((q.pageNum - 1) * q.pageSize)
    .execute();
  if (!rows.length) return null;
  const complete = q.pageNum === 1 && rows.length <= q.pageSize;
  rows.splice(q.pageSize);
  const total = complete ? rows.length : Number((await db.selectFrom('esims').select((eb) => eb.fn.countAll<number>().as('n')).where('order_id', '=', rows[0]!.order_id).executeTakeFirstOrThrow()).n);
  return { esims: inline ? (rows as EsimWithBundles[]) : await withBundles(db, rows), total, pageNum: q.pageNum, pageSize: q.pageSize };
}

/** The bundles of each eSIM, in one query. */
async function withBundles(db: Kysely<DB>, rows: Array<Esim & { order_no: string }>): Promise<EsimWithBundles[]> {
  const bundles = rows.length ? await db.selectFrom('bundles').selectAll().where('esim_id', 'in', rows.map((r) => r.id)).orderBy('seq').execute() : [];
  const byEsim = new Map<string, Bundle[]>();
  for (const b of bundles) {
    const list = byEsim.get(b.esim_id) ?? [];
    list.push(b);
    byEsim.set(b.esim_id, list);
  }
  return rows.map((r) => ({ ...r, bundles: byEsim.get(r.id) ?? [] }));
}

const FINAL: EsimStatus[] = ['CANCEL', 'REVOKE', 'USED_EXPIRED', 'UNUSED_EXPIRED'];

function refuse(esim: Esim, action: string): never {
  throw new DomainError('invalid_state', `This operation (${action}) is not allowed while the eSIM is ${esim.esim_status}/${esim.smdp_status}`);
}

/** A change guarded by the status it read found the status changed by a concurrent one (which committed first). */
class LostRace extends Error {}

/** Tries before a racing action gives up: each try reads the state the previous race left. */
const RACE_TRIES = 5;

/**
 * Runs a partner action on one eSIM in a transaction; when its guarded update lost to a concurrent change, the
 * action is decided again on the state that won (a revoke racing a suspend revokes the suspended eSIM; a
 * suspend racing a revoke is refused, naming REVOKE, not the status it first read).
 */
async function actOnEsim(db: Kysely<DB>, partnerId: string, ref: EsimRef, act: (trx: Transaction<DB>, esim: Esim) => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction().execute(async (trx) => act(trx, await findEsim(trx, partnerId, ref)));
    } catch (error) {
      if (!(error instanceof LostRace)) throw error;
      if (attempt >= RACE_TRIES) refuse(await findEsim(db, partnerId, ref), error.message);
    }
  }
}

/** esim/cancel: only a never-installed profile (GOT_RESOURCE and RELEASED); refunds everything paid for it. */
export async function cancelEsim(db: Kysely<DB>, partnerId: string, ref: EsimRef, nowMs: number): Promise<void> {
  await actOnEsim(db, partnerId, ref, async (trx, esim) => {
    if (esim.esim_status !== 'GOT_RESOURCE' || esim.smdp_status !== 'RELEASED') refuse(esim, 'cancel');
    const changed = await trx.updateTable('esims').set({ esim_status: 'CANCEL', updated_at: nowMs }).where('id', '=', esim.id).where('esim_status', '=', 'GOT_RESOURCE').where('smdp_status', '=', 'RELEASED').executeTakeFirst();
    if (Number(changed.numUpdatedRows) !== 1) throw new LostRace('cancel');
    const bundles = await trx.selectFrom('bundles').select(['price']).where('esim_id', '=', esim.id).execute();
    const refund = bundles.reduce((sum, b) => sum + Number(b.price), 0);
    await trx.updateTable('bundles').set({ state: 'revoked', updated_at: nowMs }).where('esim_id', '=', esim.id).execute();
    const partner = await trx.selectFrom('partners').select(['currency']).where('id', '=', partnerId).executeTakeFirstOrThrow();
    if (refund > 0) {
      await postTransfer(trx, { idempotencyId: `refund:esim:${esim.id}`, partnerId, kind: 'refund', amountMinor: refund, currency: partner.currency, reference: esim.esim_tran_no, memo: `cancel ${esim.iccid}` }, nowMs);
    }
    await emitStatus(trx, { ...esim, esim_status: 'CANCEL' }, nowMs);
  });
}

export async function suspendEsim(db: Kysely<DB>, partnerId: string, ref: EsimRef, nowMs: number): Promise<void> {
  await actOnEsim(db, partnerId, ref, async (trx, esim) => {
    if (esim.esim_status !== 'GOT_RESOURCE' && esim.esim_status !== 'IN_USE' && esim.esim_status !== 'USED_UP') refuse(esim, 'suspend');
    // Guarded by the status read: a revoke (or another suspend) committed since then wins, and this one is decided
    // again on what it left (refused after a revoke or a suspend).
    const changed = await trx.updateTable('esims').set({ esim_status: 'SUSPENDED', status_before_suspend: esim.esim_status, updated_at: nowMs }).where('id', '=', esim.id).where('esim_status', '=', esim.esim_status).executeTakeFirst();
    if (Number(changed.numUpdatedRows) !== 1) throw new LostRace('suspend');
    await emitStatus(trx, { ...esim, esim_status: 'SUSPENDED' }, nowMs);
  });
}

export async function unsuspendEsim(db: Kysely<DB>, partnerId: string, ref: EsimRef, nowMs: number): Promise<void> {
  await actOnEsim(db, partnerId, ref, async (trx, esim) => {
    if (esim.esim_status !== 'SUSPENDED') refuse(esim, 'unsuspend');
    const restored = (esim.status_before_suspend ?? 'IN_USE') as EsimStatus;
    const changed = await trx.updateTable('esims').set({ esim_status: restored, status_before_suspend: null, updated_at: nowMs }).where('id', '=', esim.id).where('esim_status', '=', 'SUSPENDED').executeTakeFirst();
    if (Number(changed.numUpdatedRows) !== 1) throw new LostRace('unsuspend');
    await emitStatus(trx, { ...esim, esim_status: restored }, nowMs);
  });
}

/** esim/revoke: closes the eSIM and its plans for good; not refundable. */
export async function revokeEsim(db: Kysely<DB>, partnerId: string, ref: EsimRef, nowMs: number): Promise<void> {
  await actOnEsim(db, partnerId, ref, async (trx, esim) => {
    if (FINAL.includes(esim.esim_status)) refuse(esim, 'revoke');
    const changed = await trx.updateTable('esims').set({ esim_status: 'REVOKE', updated_at: nowMs }).where('id', '=', esim.id).where('esim_status', '=', esim.esim_status).executeTakeFirst();
    if (Number(changed.numUpdatedRows) !== 1) throw new LostRace('revoke');
    await trx.updateTable('bundles').set({ state: 'revoked', updated_at: nowMs }).where('esim_id', '=', esim.id).where('state', 'in', ['queued', 'active', 'processing', 'depleted']).execute();
    await emitStatus(trx, { ...esim, esim_status: 'REVOKE' }, nowMs);
  });
}

export async function emitStatus(trx: Transaction<DB>, esim: Esim, nowMs: number): Promise<void> {
  const order = await trx.selectFrom('orders').select(['order_no']).where('id', '=', esim.order_id).executeTakeFirst();
  await emitEvent(
    trx,
    {
      partnerId: esim.partner_id,
      type: 'esim.status',
      subject: esim.id,
      payload: { esimId: esim.id, orderNo: order?.order_no ?? null, esimTranNo: esim.esim_tran_no, transactionId: esim.transaction_id, iccid: esim.iccid, esimStatus: esim.esim_status, smdpStatus: esim.smdp_status },
    },
    nowMs,
  );
}
