import { sql, type Insertable, type Kysely, type Transaction } from 'kysely';
import type { DB, Esim, EsimTable, OrderItemTable, OrderTable, PackageTable } from '../../store/schema.ts';
import type { CatalogService } from '../catalog/service.ts';
import { newId, randomBase58 } from '../../lib/ids.ts';
import { DAY_MS } from '../../lib/time.ts';
import { postTransfer } from '../ledger/ledger.ts';
import { emitEvent } from '../events/outbox.ts';
import { activationCode, QR_TOKEN_CHARS, SHORT_CODE_CHARS } from '../esims/identifiers.ts';
import type { SupplyRouter } from '../../supply/router.ts';
import { SupplyError } from '../../supply/types.ts';
import { formatEsimTranNo, nextSequence } from './numbers.ts';
import { poolKeysFor, ProfilePool } from '../../supply/pool.ts';
import type { Logger } from 'pino';
import { checkLowStock } from '../pools/stock.ts';

/**
 * Turns an accepted order into eSIMs. Each eSIM is created in its own transaction keyed by
 * (order item, slot), so a crash between two profiles resumes where it stopped and never doubles one up;
 * the last one marks the order ready and writes ORDER_STATUS to the outbox in the same transaction.
 */
export class Allocator {
  /** Run inside the transaction that fails an order for good (e.g. to give back what the order had reserved). */
  readonly onOrderFailed: Array<(trx: Transaction<DB>, orderId: string, nowMs: number) => Promise<unknown>> = [];

  constructor(
    private readonly db: Kysely<DB>,
    private readonly catalog: CatalogService,
    private readonly supply: SupplyRouter,
    private readonly now: () => number,
    /** Low-stock alerts are also logged here (warn), so an operator watching the logs sees them. */
    private readonly log?: Pick<Logger, 'warn'>,
  ) {}

  async allocate(orderId: string): Promise<'ready' | 'failed' | 'noop'> {
    const order = await this.db.selectFrom('orders').selectAll().where('id', '=', orderId).executeTakeFirst();
    if (!order || order.status !== 'allocating') return 'noop';
    const items = await this.db.selectFrom('order_items').selectAll().where('order_id', '=', orderId).orderBy('line_no').execute();
    const existing = await this.db.selectFrom('esims').select(['order_item_id', 'slot']).where('order_id', '=', orderId).execute();
    const done = new Set(existing.map((e) => `${e.order_item_id}:${e.slot}`));
    try {
      const pending: Slot[] = [];
      for (const item of items) {
        const pkg = this.packageFor(item.package_code);
        for (let slot = 0; slot < item.count; slot++) if (!done.has(`${item.id}:${slot}`)) pending.push({ item, pkg, slot });
      }
      // Up to CHUNK profiles per transaction: few commits for small orders, visible progress for big ones.
      for (let i = 0; i < pending.length; i += CHUNK) await this.allocateChunk(order, pending.slice(i, i + CHUNK));
    } catch (error) {
      if (error instanceof SupplyError && error.permanent) {
        await this.failOrder(orderId, error.message);
        return 'failed';
      }
      throw error;
    } finally {
      await this.checkPools(order.environment, items.map((i) => i.package_code));
    }
    return 'ready';
  }

  /**
   * Allocates several orders in ONE transaction and marks their jobs done in it (`completeInTrx`). Under load
   * this halves the commits per order. All or nothing: on any conflict or supply failure the transaction
   * rolls back and the caller falls back to allocating order by order, which handles those cases.
   */
  async allocateBatch(orderIds: string[], completeInTrx: (trx: Transaction<DB>, orderId: string) => Promise<void>): Promise<Set<string>> {
    const done = new Set<string>();
    const drawn: Array<{ environment: OrderTable['environment']; code: string }> = [];
    await this.db.transaction().execute(async (trx) => {
      const nowMs = this.now();
      const orders = await trx.selectFrom('orders').selectAll().where('id', 'in', orderIds).execute();
      const items = await trx.selectFrom('order_items').selectAll().where('order_id', 'in', orderIds).orderBy('line_no').execute();
      const existing = await trx.selectFrom('esims').select(['order_item_id', 'slot']).where('order_id', 'in', orderIds).execute();
      const made = new Set(existing.map((e) => `${e.order_item_id}:${e.slot}`));
      for (const order of orders) {
        if (order.status === 'allocating') {
          let count = 0;
          for (const item of items.filter((i) => i.order_id === order.id)) {
            const pkg = this.packageFor(item.package_code);
            drawn.push({ environment: order.environment, code: pkg.package_code });
            for (let slot = 0; slot < item.count; slot++) {
              if (made.has(`${item.id}:${slot}`)) continue;
              await this.createEsim(trx, order, item, pkg, slot, nowMs);
              count++;
            }
          }
          await this.recordProgress(trx, order, count, nowMs);
        }
        await completeInTrx(trx, order.id);
        done.add(order.id);
      }
    });
    for (const environment of ['live', 'sandbox'] as const) {
      await this.checkPools(environment, [...new Set(drawn.filter((d) => d.environment === environment).map((d) => d.code))]);
    }
    return done;
  }

  /**
   * Low-stock alerts are checked after commit: inside the transaction other takes are not visible yet. Only
   * pools the orders drew from are checked: the source is chosen per environment and package (a live order
   * for a generated package, whose `supply` says simulated, still draws from the pools).
   */
  private async checkPools(environment: OrderTable['environment'], packageCodes: string[]): Promise<void> {
    const keys = new Set<string>();
    for (const code of packageCodes) {
      const pkg = this.catalog.get(code) ?? this.catalog.all().find((p) => p.package_code === code);
      if (pkg && this.supply.sourceFor(environment, pkg) instanceof ProfilePool) for (const key of await poolKeysFor(this.db, pkg)) keys.add(key);
    }
    if (!keys.size) return;
    // Only pools that have batches are watched (a global package names hundreds of operators).
    const watched = await this.db.selectFrom('profile_batches').select('pool').distinct().where('pool', 'in', [...keys]).execute();
    for (const { pool } of watched) await checkLowStock(this.db, pool, this.now(), this.log);
  }

  private packageFor(code: string): PackageTable {
    const pkg = this.catalog.get(code) ?? this.catalog.all().find((p) => p.package_code === code);
    if (!pkg) throw new SupplyError(`package ${code} is no longer in the catalogue`, true);
    return pkg;
  }

  private async allocateChunk(order: OrderTable, slots: Slot[]): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const nowMs = this.now();
      const current = await trx.selectFrom('orders').select(['status']).where('id', '=', order.id).executeTakeFirst();
      if (current?.status !== 'allocating') return;
      for (const { item, pkg, slot } of slots) await this.createEsim(trx, order, item, pkg, slot, nowMs);
      await this.recordProgress(trx, order, slots.length, nowMs);
    }).catch((error) => {
      // Another worker made these eSIMs first: everything this transaction did (profile claims included)
      // rolled back, and that worker finishes the order.
      if (error instanceof AlreadyAllocated) return;
      throw error;
    });
  }

  /** Counts new profiles; the last one marks the order ready and writes ORDER_STATUS in the same transaction. */
  private async recordProgress(trx: Transaction<DB>, order: OrderTable, added: number, nowMs: number): Promise<void> {
    // Guarded by the status: if the order was failed (and refunded) meanwhile, this transaction must not
    // make it ready. On PostgreSQL the row lock orders this update and failOrder's; the loser changes nothing.
    const updated = await trx
      .updateTable('orders')
      .set({ allocated_count: sql`allocated_count + ${added}`, updated_at: nowMs })
      .where('id', '=', order.id)
      .where('status', '=', 'allocating')
      .returning(['allocated_count', 'total_count'])
      .executeTakeFirst();
    if (!updated) throw new AlreadyAllocated();
    if (Number(updated.allocated_count) >= Number(updated.total_count)) {
      await trx.updateTable('orders').set({ status: 'ready', completed_at: nowMs }).where('id', '=', order.id).execute();
      await emitEvent(trx, { partnerId: order.partner_id, type: 'order.ready', subject: order.id, payload: { orderId: order.id, orderNo: order.order_no, transactionId: order.transaction_id } }, nowMs);
    }
  }

  private async createEsim(trx: Transaction<DB>, order: OrderTable, item: OrderItemTable, pkg: PackageTable, slot: number, nowMs: number): Promise<void> {
    const esimId = newId('esim', nowMs);
    const source = this.supply.sourceFor(order.environment, pkg);
    const profile = await source.take(trx, { partnerId: order.partner_id, environment: order.environment, pkg, esimId, nowMs });
    const periodNum = item.period_num;
    const durationDays = periodNum ?? pkg.duration;
    const totalVolume = Number(pkg.volume) * (periodNum ?? 1);
    const esim: Insertable<EsimTable> = {
      id: esimId,
      esim_tran_no: formatEsimTranNo(await nextSequence(trx, 'esim'), nowMs),
      order_id: order.id,
      order_item_id: item.id,
      slot,
      partner_id: order.partner_id,
      environment: order.environment,
      transaction_id: order.transaction_id,
      package_code: pkg.package_code,
      iccid: profile.iccid,
      imsi: profile.imsi,
      msisdn: profile.msisdn,
      ac: activationCode(profile.smdpAddress, profile.matchingId, profile.confirmationCode !== null),
      smdp_address: profile.smdpAddress,
      matching_id: profile.matchingId,
      confirmation_code: profile.confirmationCode,
      pin: profile.pin,
      puk: profile.puk,
      apn: profile.apn,
      eid: null,
      supply: profile.supply,
      pool_profile_id: profile.poolProfileId,
      smdp_status: 'RELEASED',
      esim_status: 'GOT_RESOURCE',
      status_before_suspend: null,
      sms_status: pkg.sms_status,
      data_type: pkg.data_type,
      active_type: pkg.active_type,
      price: Number(item.unit_price),
      qr_token: randomBase58(QR_TOKEN_CHARS),
      short_code: randomBase58(SHORT_CODE_CHARS),
      download_deadline: order.created_at + pkg.unused_valid_time * DAY_MS,
      activate_time: null,
      expired_time: null,
      total_volume: totalVolume,
      total_duration: durationDays,
      duration_unit: pkg.duration_unit,
      order_usage: 0,
      last_usage_at: null,
      created_at: nowMs,
      updated_at: nowMs,
    };
    // (order_item_id, slot) is unique: if another worker made this eSIM first, this insert changes
    // nothing and the whole transaction (including the profile claim) rolls back.
    const inserted = await trx.insertInto('esims').values(esim).onConflict((oc) => oc.columns(['order_item_id', 'slot']).doNothing()).executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) !== 1) throw new AlreadyAllocated();
    await trx
      .insertInto('bundles')
      .values({
        id: newId('bnd', nowMs),
        esim_id: esimId,
        seq: 1,
        order_id: order.id,
        package_code: pkg.package_code,
        kind: 'BASE',
        state: 'queued',
        volume: Number(pkg.volume),
        used_bytes: 0,
        duration: durationDays,
        duration_unit: pkg.duration_unit,
        data_type: pkg.data_type,
        period_num: periodNum,
        price: Number(item.unit_price),
        activated_at: null,
        expires_at: null,
        created_at: nowMs,
        updated_at: nowMs,
      })
      .execute();
  }

  /** Supply failed for good: cancel what was made, return pooled profiles, refund the whole order, tell the partner. */
  async failOrder(orderId: string, reason: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const nowMs = this.now();
      const order = await trx.selectFrom('orders').selectAll().where('id', '=', orderId).executeTakeFirst();
      if (!order || order.status !== 'allocating') return;
      // Guarded like recordProgress: only one of "ready" and "failed + refunded" can happen to an order.
      const failed = await trx
        .updateTable('orders')
        .set({ status: 'failed', failure_reason: reason.slice(0, 500), completed_at: nowMs, updated_at: nowMs })
        .where('id', '=', orderId)
        .where('status', '=', 'allocating')
        .executeTakeFirst();
      if (Number(failed.numUpdatedRows) !== 1) return;
      await releaseOrderProfiles(trx, orderId, nowMs);
      await trx.updateTable('esims').set({ esim_status: 'CANCEL', updated_at: nowMs }).where('order_id', '=', orderId).execute();
      if (Number(order.amount) > 0) {
        await postTransfer(trx, { idempotencyId: `refund:${orderId}`, partnerId: order.partner_id, kind: 'refund', amountMinor: Number(order.amount), currency: order.currency, reference: order.order_no, memo: `order ${order.order_no} failed: ${reason}`.slice(0, 500) }, nowMs);
      }
      for (const hook of this.onOrderFailed) await hook(trx, orderId, nowMs);
      await emitEvent(trx, { partnerId: order.partner_id, type: 'order.failed', subject: orderId, payload: { orderId, orderNo: order.order_no, transactionId: order.transaction_id, reason } }, nowMs);
    });
    const order = await this.db.selectFrom('orders').select('environment').where('id', '=', orderId).executeTakeFirst();
    const items = await this.db.selectFrom('order_items').select('package_code').where('order_id', '=', orderId).execute();
    if (order) await this.checkPools(order.environment, items.map((i) => i.package_code));
  }
}

class AlreadyAllocated extends Error {}

interface Slot {
  item: OrderItemTable;
  pkg: PackageTable;
  slot: number;
}

const CHUNK = 10;

async function releaseOrderProfiles(trx: Transaction<DB>, orderId: string, nowMs: number): Promise<void> {
  const esims = await trx.selectFrom('esims').select(['pool_profile_id']).where('order_id', '=', orderId).where('pool_profile_id', 'is not', null).execute();
  const ids = esims.map((e) => e.pool_profile_id!).filter(Boolean);
  if (ids.length) await trx.updateTable('pool_profiles').set({ status: 'available', assigned_esim_id: null, assigned_at: null }).where('id', 'in', ids).execute();
  void nowMs;
}
