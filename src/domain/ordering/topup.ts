import { emitEsimStatusChange } from '../esims/lifecycle.ts';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { DB, Esim, OrderTable, PackageTable, Partner } from '../../store/schema.ts';
import type { CatalogService } from '../catalog/service.ts';
import { DomainError } from '../errors.ts';
import { postTransfer, walletBalance } from '../ledger/ledger.ts';
import { checkLowBalance } from '../notifications/low-balance.ts';
import { newId } from '../../lib/ids.ts';
import { DAY_MS } from '../../lib/time.ts';
import { findEsim, type EsimRef } from '../esims/esims.ts';
import { unitPrice } from './ordering.ts';
import { alertLevelFor } from '../esims/lifecycle.ts';
import { formatOrderNo, nextSequence } from './numbers.ts';

export interface TopupInput {
  partner: Partner;
  ref: EsimRef;
  packageCode: string;
  transactionId: string;
  amountMinor?: number;
  nowMs: number;
}

export interface TopupResult {
  transactionId: string;
  iccid: string;
  esim: Esim;
  created: boolean;
}

/** Top-ups are allowed while the eSIM is New, In Use or Depleted, never after it expired or ended. */
const TOPUP_ALLOWED = new Set(['GOT_RESOURCE', 'IN_USE', 'USED_UP']);

/**
 * Adds a compatible TOPUP package to an eSIM as a further bundle (used after the ones before it), charges it
 * through the ledger in the same transaction, and extends volume and validity. Idempotent by transactionId.
 */
export async function topUp(db: Kysely<DB>, catalog: CatalogService, input: TopupInput): Promise<TopupResult> {
  const { partner, nowMs } = input;
  const earlier = await db.selectFrom('orders').selectAll().where('partner_id', '=', partner.id).where('kind', '=', 'topup').where('transaction_id', '=', input.transactionId).executeTakeFirst();
  if (earlier) return answerFor(db, earlier, input.transactionId);

  const esim = await findEsim(db, partner.id, input.ref);
  const pkg = catalog.get(input.packageCode);
  if (!pkg) throw new DomainError('package_not_found', `The packageCode ${input.packageCode} does not exist`);
  const base = catalog.get(esim.package_code) ?? catalog.all().find((p) => p.package_code === esim.package_code);
  if (pkg.type !== 'TOPUP' || !base || pkg.topup_group !== base.topup_group) {
    throw new DomainError('invalid_argument', `${input.packageCode} is not a top-up for this eSIM: list the ones that fit with package/list {"type":"TOPUP","iccid":"${esim.iccid}"}`, { esimAccessCode: '310243' });
  }
  assertTopupAllowed(esim, nowMs);
  const price = catalog.priceFor ? (await catalog.priceFor(partner, nowMs))(pkg) : unitPrice(pkg, await catalog.tierFactorBps(partner.price_tier_id));
  if (input.amountMinor !== undefined && input.amountMinor !== price) {
    throw new DomainError('price_mismatch', `Package price error: ${pkg.package_code} costs ${price}, not ${input.amountMinor}`);
  }

  const outcome = await db.transaction().execute(async (trx) => {
    const current = await trx.selectFrom('esims').selectAll().where('id', '=', esim.id).executeTakeFirstOrThrow();
    assertTopupAllowed(current, nowMs);
    const orderId = newId('ord', nowMs);
    const order: OrderTable = {
      id: orderId,
      order_no: formatOrderNo(await nextSequence(trx, 'order'), nowMs),
      partner_id: partner.id,
      kind: 'topup',
      transaction_id: input.transactionId,
      status: 'ready',
      environment: partner.environment,
      total_count: 1,
      allocated_count: 1,
      amount: price,
      currency: partner.currency,
      target_esim_id: esim.id,
      failure_reason: null,
      created_at: nowMs,
      updated_at: nowMs,
      completed_at: nowMs,
    };
    const inserted = await trx.insertInto('orders').values(order).onConflict((oc) => oc.columns(['partner_id', 'kind', 'transaction_id']).doNothing()).executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) !== 1) return null;
    await postTransfer(trx, { idempotencyId: `charge:${orderId}`, partnerId: partner.id, kind: 'charge', amountMinor: price, currency: partner.currency, reference: order.order_no, memo: `top-up ${pkg.package_code} on ${current.iccid}` }, nowMs);
    const balanceAfter = (await walletBalance(trx, partner.id)).balanceMinor;
    await checkLowBalance(trx, partner.id, balanceAfter + price, balanceAfter, nowMs);
    await appendBundle(trx, current, pkg, { orderId, priceMinor: price, days: pkg.duration, periodNum: null }, nowMs);
    return order;
  });
  if (!outcome) {
    const winner = await db.selectFrom('orders').selectAll().where('partner_id', '=', partner.id).where('kind', '=', 'topup').where('transaction_id', '=', input.transactionId).executeTakeFirstOrThrow();
    return answerFor(db, winner, input.transactionId);
  }
  const updated = await db.selectFrom('esims').selectAll().where('id', '=', esim.id).executeTakeFirstOrThrow();
  return { transactionId: input.transactionId, iccid: updated.iccid, esim: updated, created: true };
}

/**
 * Puts a further bundle on an eSIM inside the caller's transaction: queued after the bundles it has (used in
 * order), volume and validity grow by the package's (validity from the later of now and the current end), a
 * depleted eSIM comes back in use, and usage alerts no longer crossed are re-armed. Returns the bundle id.
 * Shared by esim/topup and the eSIM Go dialect's bundle assignments.
 */
export async function appendBundle(
  trx: Transaction<DB>,
  current: Esim,
  pkg: PackageTable,
  o: { orderId: string; priceMinor: number; days: number; periodNum: number | null },
  nowMs: number,
): Promise<string> {
  const last = await trx.selectFrom('bundles').select((eb) => eb.fn.max('seq').as('seq')).where('esim_id', '=', current.id).executeTakeFirst();
  const bundleId = newId('bnd', nowMs);
  await trx
    .insertInto('bundles')
    .values({
      id: bundleId,
      esim_id: current.id,
      seq: Number(last?.seq ?? 0) + 1,
      order_id: o.orderId,
      package_code: pkg.package_code,
      kind: 'TOPUP',
      state: 'queued',
      volume: Number(pkg.volume),
      used_bytes: 0,
      duration: o.days,
      duration_unit: pkg.duration_unit,
      data_type: pkg.data_type,
      period_num: o.periodNum,
      price: o.priceMinor,
      activated_at: null,
      expires_at: null,
      created_at: nowMs,
      updated_at: nowMs,
    })
    .execute();
  const extendFrom = current.expired_time !== null ? Math.max(Number(current.expired_time), nowMs) : null;
  await trx
    .updateTable('esims')
    .set({
      total_volume: sql`total_volume + ${Number(pkg.volume)}`,
      total_duration: sql`total_duration + ${o.days}`,
      expired_time: extendFrom !== null ? extendFrom + o.days * DAY_MS : null,
      esim_status: current.esim_status === 'USED_UP' ? 'IN_USE' : current.esim_status,
      usage_alert_level: alertLevelFor(Number(current.order_usage), Number(current.total_volume) + Number(pkg.volume), current.usage_alert_level),
      updated_at: nowMs,
    })
    .where('id', '=', current.id)
    .execute();
  if (current.esim_status === 'USED_UP') await emitEsimStatusChange(trx, current.id, nowMs);
  return bundleId;
}

function assertTopupAllowed(esim: Esim, nowMs: number): void {
  const expired = esim.expired_time !== null && esim.expired_time <= nowMs;
  if (!TOPUP_ALLOWED.has(esim.esim_status) || expired || (esim.activate_time === null && esim.download_deadline <= nowMs)) {
    throw new DomainError('invalid_state', `This operation (top-up) is not allowed: the eSIM is ${expired ? 'expired' : esim.esim_status}`);
  }
}

async function answerFor(db: Kysely<DB>, order: OrderTable, transactionId: string): Promise<TopupResult> {
  const esim = await db.selectFrom('esims').selectAll().where('id', '=', order.target_esim_id!).executeTakeFirstOrThrow();
  return { transactionId, iccid: esim.iccid, esim, created: false };
}
