import type { Kysely } from 'kysely';
import type { DB, Esim, OrderTable } from '../../store/schema.ts';
import { DomainError } from '../../domain/errors.ts';
import { decodeCursor } from './pagination.ts';
import { Problem } from './problem.ts';

/**
 * Read models for /v1 lists: cursor pages over the partner's own rows. The domain's list functions page by
 * offset (eSIM Access) or not at all; these add keyset pagination without changing them. Every query is
 * scoped by partner_id, so another partner's rows are reported as not found.
 */

export function timeParam(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new Problem('invalid_request', `${name} must be an RFC 3339 time`, { errors: [{ loc: `query.${name}`, msg: 'must be an RFC 3339 time', type: 'format' }] });
  return ms;
}

/** An order by id (ord_…) or order number. */
export async function findOrder(db: Kysely<DB>, partnerId: string, ref: string): Promise<OrderTable> {
  const order = await db
    .selectFrom('orders')
    .selectAll()
    .where('partner_id', '=', partnerId)
    .where(ref.startsWith('ord_') ? 'id' : 'order_no', '=', ref)
    .executeTakeFirst();
  if (!order) throw new DomainError('order_not_found', `The order ${ref} does not exist`);
  return order;
}

export async function orderItems(db: Kysely<DB>, orderIds: string[]) {
  if (!orderIds.length) return new Map<string, import('../../store/schema.ts').OrderItemTable[]>();
  const rows = await db.selectFrom('order_items').selectAll().where('order_id', 'in', orderIds).orderBy('line_no').execute();
  const map = new Map<string, typeof rows>();
  for (const r of rows) {
    const list = map.get(r.order_id) ?? [];
    list.push(r);
    map.set(r.order_id, list);
  }
  return map;
}

export async function listOrders(db: Kysely<DB>, partnerId: string, q: { limit: number; cursor?: string; status?: OrderTable['status']; transactionId?: string }) {
  const after = decodeCursor(q.cursor, ['number', 'string']);
  let query = db.selectFrom('orders').selectAll().where('partner_id', '=', partnerId).where('kind', '=', 'order');
  if (q.status) query = query.where('status', '=', q.status);
  if (q.transactionId) query = query.where('transaction_id', '=', q.transactionId);
  if (after) {
    const [t, id] = after as [number, string];
    query = query.where((eb) => eb.or([eb('created_at', '<', t), eb.and([eb('created_at', '=', t), eb('id', '<', id)])]));
  }
  return query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(q.limit + 1).execute();
}

/** An eSIM by id (esim_…), ICCID (the newest eSIM with it) or esim_tran_no. */
export async function findEsimByRef(db: Kysely<DB>, partnerId: string, ref: string): Promise<Esim> {
  let query = db.selectFrom('esims').selectAll().where('partner_id', '=', partnerId);
  if (ref.startsWith('esim_')) query = query.where('id', '=', ref);
  else if (/^89\d{16,18}F?$/.test(ref)) query = query.where('iccid', '=', ref);
  else query = query.where('esim_tran_no', '=', ref);
  const esim = await query.orderBy('created_at', 'desc').limit(1).executeTakeFirst();
  if (!esim) throw new DomainError('esim_not_found', `The eSIM ${ref} does not exist`);
  return esim;
}

export async function listEsims(db: Kysely<DB>, partnerId: string, q: { limit: number; cursor?: string; orderId?: string; iccid?: string; status?: string; afterMs?: number; beforeMs?: number }) {
  const after = decodeCursor(q.cursor, ['number', 'string']);
  let query = db.selectFrom('esims').selectAll().where('partner_id', '=', partnerId);
  if (q.orderId) query = query.where('order_id', '=', q.orderId);
  if (q.iccid) query = query.where('iccid', '=', q.iccid);
  if (q.status) query = query.where('esim_status', '=', q.status as Esim['esim_status']);
  if (q.afterMs !== undefined) query = query.where('created_at', '>=', q.afterMs);
  if (q.beforeMs !== undefined) query = query.where('created_at', '<', q.beforeMs);
  if (after) {
    const [t, id] = after as [number, string];
    query = query.where((eb) => eb.or([eb('created_at', '<', t), eb.and([eb('created_at', '=', t), eb('id', '<', id)])]));
  }
  return query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(q.limit + 1).execute();
}

/** Bundles and order numbers for a set of eSIMs. */
export async function esimDetails(db: Kysely<DB>, esims: Esim[]) {
  const ids = esims.map((e) => e.id);
  const bundles = ids.length ? await db.selectFrom('bundles').selectAll().where('esim_id', 'in', ids).orderBy('seq').execute() : [];
  const byEsim = new Map<string, typeof bundles>();
  for (const b of bundles) {
    const list = byEsim.get(b.esim_id) ?? [];
    list.push(b);
    byEsim.set(b.esim_id, list);
  }
  const orderIds = [...new Set(esims.map((e) => e.order_id))];
  const orders = orderIds.length ? await db.selectFrom('orders').select(['id', 'order_no']).where('id', 'in', orderIds).execute() : [];
  const orderNos = new Map(orders.map((o) => [o.id, o.order_no]));
  return { bundlesOf: (id: string) => byEsim.get(id) ?? [], orderNoOf: (orderId: string) => orderNos.get(orderId) ?? '' };
}

export async function listUsageRecords(db: Kysely<DB>, esimId: string, q: { limit: number; cursor?: string }) {
  const after = decodeCursor(q.cursor, ['number', 'string']);
  let query = db.selectFrom('usage_records').selectAll().where('esim_id', '=', esimId);
  if (after) {
    const [t, key] = after as [number, string];
    query = query.where((eb) => eb.or([eb('received_at', '<', t), eb.and([eb('received_at', '=', t), eb('record_key', '<', key)])]));
  }
  return query.orderBy('received_at', 'desc').orderBy('record_key', 'desc').limit(q.limit + 1).execute();
}

export async function listSmsPage(db: Kysely<DB>, esimId: string, q: { limit: number; cursor?: string }) {
  const after = decodeCursor(q.cursor, ['number', 'string']);
  let query = db.selectFrom('sms_messages').select(['id', 'direction', 'sender', 'body', 'created_at']).where('esim_id', '=', esimId);
  if (after) {
    const [t, id] = after as [number, string];
    query = query.where((eb) => eb.or([eb('created_at', '<', t), eb.and([eb('created_at', '=', t), eb('id', '<', id)])]));
  }
  return query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(q.limit + 1).execute();
}

export async function listTransferPage(db: Kysely<DB>, partnerId: string, q: { limit: number; cursor?: string; kind?: string; afterMs?: number; beforeMs?: number }) {
  const after = decodeCursor(q.cursor, ['number']);
  let query = db.selectFrom('ledger_transfers').selectAll().where('partner_id', '=', partnerId);
  if (q.kind) query = query.where('kind', '=', q.kind as 'charge');
  if (q.afterMs !== undefined) query = query.where('created_at', '>=', q.afterMs);
  if (q.beforeMs !== undefined) query = query.where('created_at', '<', q.beforeMs);
  if (after) query = query.where('seq', '<', after[0] as number);
  return (await query.orderBy('seq', 'desc').limit(q.limit + 1).execute()) as Array<import('../../store/schema.ts').LedgerTransferTable & { seq: number }>;
}

export async function listDeliveryPage(db: Kysely<DB>, partnerId: string, q: { limit: number; cursor?: string; status?: string }) {
  const after = decodeCursor(q.cursor, ['number', 'string']);
  let query = db
    .selectFrom('webhook_deliveries')
    .innerJoin('events', 'events.id', 'webhook_deliveries.event_id')
    .selectAll('webhook_deliveries')
    .select('events.type as event_type')
    .where('webhook_deliveries.partner_id', '=', partnerId);
  if (q.status) query = query.where('webhook_deliveries.status', '=', q.status as 'pending');
  if (after) {
    const [seq, id] = after as [number, string];
    query = query.where((eb) => eb.or([eb('webhook_deliveries.event_seq', '<', seq), eb.and([eb('webhook_deliveries.event_seq', '=', seq), eb('webhook_deliveries.id', '<', id)])]));
  }
  return query.orderBy('webhook_deliveries.event_seq', 'desc').orderBy('webhook_deliveries.id', 'desc').limit(q.limit + 1).execute();
}

export async function listOperators(db: Kysely<DB>, q: { country?: string; limit: number; cursor?: string }) {
  const after = decodeCursor(q.cursor, ['string', 'string', 'string']);
  let query = db.selectFrom('operators').selectAll();
  if (q.country) query = query.where('country_code', '=', q.country.toUpperCase());
  if (after) {
    const [country, name, id] = after as [string, string, string];
    query = query.where((eb) =>
      eb.or([eb('country_code', '>', country), eb.and([eb('country_code', '=', country), eb.or([eb('name', '>', name), eb.and([eb('name', '=', name), eb('id', '>', id)])])])]),
    );
  }
  return query.orderBy('country_code').orderBy('name').orderBy('id').limit(q.limit + 1).execute();
}
