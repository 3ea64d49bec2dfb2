import { sql, type Kysely, type Transaction } from 'kysely';
import type { DB, LedgerTransferTable } from '../../store/schema.ts';
import { DomainError } from '../errors.ts';
import { newId } from '../../lib/ids.ts';

/**
 * Double-entry, append-only ledger. A transfer moves an amount from a debit account to a credit account;
 * rows are never updated or deleted, corrections are new transfers. Account totals
 * (debits_posted, credits_posted) are kept in the same transaction as each transfer, so a wallet's balance
 * is one row read and still equals the sum of its transfers.
 */
export type TransferKind = LedgerTransferTable['kind'];

export interface TransferRequest {
  /** Unique across the ledger: retrying with the same id returns the first transfer and moves nothing. */
  idempotencyId: string;
  partnerId: string;
  kind: TransferKind;
  amountMinor: number;
  currency: string;
  reference?: string | null;
  memo?: string | null;
  /** For adjustments only: true takes money from the wallet, false adds it. */
  adjustmentDebitsWallet?: boolean;
}

export interface TransferResult {
  transfer: LedgerTransferTable & { seq: number };
  /** false when the idempotency id had been used before and nothing moved now. */
  created: boolean;
}

type Db = Kysely<DB> | Transaction<DB>;

export const walletAccountId = (partnerId: string) => `wallet:${partnerId}`;
// System accounts are per partner: one shared revenue row would serialise every charge of every partner
// on PostgreSQL. Totals per kind are sums over these rows.
const fundingAccountId = (partnerId: string, currency: string) => `funding:${partnerId}:${currency}`;
const revenueAccountId = (partnerId: string, currency: string) => `revenue:${partnerId}:${currency}`;

export async function ensureWallet(db: Db, partnerId: string, currency: string, nowMs: number): Promise<void> {
  await db
    .insertInto('ledger_accounts')
    .values([
      { id: walletAccountId(partnerId), kind: 'wallet', partner_id: partnerId, currency, debits_posted: 0, credits_posted: 0, debits_must_not_exceed_credits: 1, updated_at: nowMs },
      { id: fundingAccountId(partnerId, currency), kind: 'funding', partner_id: partnerId, currency, debits_posted: 0, credits_posted: 0, debits_must_not_exceed_credits: 0, updated_at: nowMs },
      { id: revenueAccountId(partnerId, currency), kind: 'revenue', partner_id: partnerId, currency, debits_posted: 0, credits_posted: 0, debits_must_not_exceed_credits: 0, updated_at: nowMs },
    ])
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
}

/** Which accounts a kind of transfer moves money between. */
function accountsFor(request: TransferRequest): { debit: string; credit: string } {
  const wallet = walletAccountId(request.partnerId);
  const funding = fundingAccountId(request.partnerId, request.currency);
  const revenue = revenueAccountId(request.partnerId, request.currency);
  switch (request.kind) {
    case 'deposit':
      return { debit: funding, credit: wallet };
    case 'withdrawal':
      return { debit: wallet, credit: funding };
    case 'charge':
      return { debit: wallet, credit: revenue };
    case 'refund':
      return { debit: revenue, credit: wallet };
    case 'adjustment':
      return request.adjustmentDebitsWallet ? { debit: wallet, credit: funding } : { debit: funding, credit: wallet };
  }
}

/**
 * Posts one transfer inside the caller's transaction. Throws `insufficient_balance` (and the caller's
 * transaction must roll back) when a wallet would go below zero; `idempotency_conflict` when the id was
 * used for a different transfer.
 */
export async function postTransfer(trx: Transaction<DB>, request: TransferRequest, nowMs: number): Promise<TransferResult> {
  if (!Number.isSafeInteger(request.amountMinor) || request.amountMinor <= 0) {
    throw new DomainError('invalid_argument', 'amount must be a positive whole number of 1/10,000 units');
  }
  if (!request.idempotencyId || request.idempotencyId.length > 200) {
    throw new DomainError('invalid_argument', 'idempotency id must be 1..200 characters');
  }
  const { debit, credit } = accountsFor(request);
  const id = newId('txf', nowMs);
  // Insert first with ON CONFLICT DO NOTHING: under concurrency exactly one writer wins the id, and on
  // PostgreSQL a unique violation would otherwise abort the whole transaction.
  const inserted = await trx
    .insertInto('ledger_transfers')
    .values({
      id,
      idempotency_id: request.idempotencyId,
      debit_account_id: debit,
      credit_account_id: credit,
      amount: request.amountMinor,
      currency: request.currency,
      kind: request.kind,
      partner_id: request.partnerId,
      reference: request.reference ?? null,
      memo: request.memo ?? null,
      created_at: nowMs,
    })
    .onConflict((oc) => oc.column('idempotency_id').doNothing())
    .returningAll()
    .executeTakeFirst();

  if (!inserted) {
    const existing = await trx.selectFrom('ledger_transfers').selectAll().where('idempotency_id', '=', request.idempotencyId).executeTakeFirstOrThrow();
    const same =
      existing.amount === request.amountMinor &&
      existing.kind === request.kind &&
      existing.partner_id === request.partnerId &&
      existing.debit_account_id === debit &&
      existing.credit_account_id === credit;
    if (!same) {
      throw new DomainError('idempotency_conflict', `transfer id ${request.idempotencyId} was already used for a different transfer`);
    }
    return { transfer: existing as TransferResult['transfer'], created: false };
  }

  // Rows are locked in account-id order whatever the direction, so a charge and a refund on one wallet
  // cannot deadlock each other on PostgreSQL.
  if (credit < debit) {
    await creditAccount(trx, credit, request.amountMinor, nowMs);
    await debitAccount(trx, debit, request.amountMinor, nowMs);
  } else {
    await debitAccount(trx, debit, request.amountMinor, nowMs);
    await creditAccount(trx, credit, request.amountMinor, nowMs);
  }
  if (request.partnerId && (request.kind === 'charge' || request.kind === 'refund')) {
    const charges = request.kind === 'charge' ? request.amountMinor : 0;
    const refunds = request.kind === 'refund' ? request.amountMinor : 0;
    await trx
      .insertInto('monthly_spend')
      .values({ partner_id: request.partnerId, month: monthKey(nowMs), charges, refunds })
      .onConflict((oc) => oc.columns(['partner_id', 'month']).doUpdateSet({ charges: sql`monthly_spend.charges + ${charges}`, refunds: sql`monthly_spend.refunds + ${refunds}` }))
      .execute();
  }
  return { transfer: inserted as TransferResult['transfer'], created: true };
}

/** The calendar month (UTC) of a time, as monthly_spend keys it: YYYY-MM. */
export function monthKey(nowMs: number): string {
  return new Date(nowMs).toISOString().slice(0, 7);
}

/** A partner's charges minus refunds in the calendar month (UTC) of `nowMs`. */
export async function monthlySpendOf(db: Db, partnerId: string, nowMs: number): Promise<number> {
  const row = await db.selectFrom('monthly_spend').select(['charges', 'refunds']).where('partner_id', '=', partnerId).where('month', '=', monthKey(nowMs)).executeTakeFirst();
  return row ? Math.max(0, Number(row.charges) - Number(row.refunds)) : 0;
}

/** The guarded update is the balance check: it only matches when the wallet keeps credits >= debits. */
async function debitAccount(trx: Transaction<DB>, accountId: string, amountMinor: number, nowMs: number): Promise<void> {
  const debited = await trx
    .updateTable('ledger_accounts')
    .set({ debits_posted: sql`debits_posted + ${amountMinor}`, updated_at: nowMs })
    .where('id', '=', accountId)
    .where((eb) => eb.or([eb('debits_must_not_exceed_credits', '=', 0), eb(sql`credits_posted - debits_posted`, '>=', amountMinor)]))
    .executeTakeFirst();
  if (Number(debited.numUpdatedRows) !== 1) {
    const account = await trx.selectFrom('ledger_accounts').select(['id']).where('id', '=', accountId).executeTakeFirst();
    if (!account) throw new DomainError('not_found', `ledger account ${accountId} does not exist`);
    throw new DomainError('insufficient_balance', 'the balance is insufficient');
  }
}

async function creditAccount(trx: Transaction<DB>, accountId: string, amountMinor: number, nowMs: number): Promise<void> {
  const credited = await trx
    .updateTable('ledger_accounts')
    .set({ credits_posted: sql`credits_posted + ${amountMinor}`, updated_at: nowMs })
    .where('id', '=', accountId)
    .executeTakeFirst();
  if (Number(credited.numUpdatedRows) !== 1) throw new DomainError('not_found', `ledger account ${accountId} does not exist`);
}

/** Posts a transfer in a transaction of its own. */
export async function transfer(db: Kysely<DB>, request: TransferRequest, nowMs: number): Promise<TransferResult> {
  return db.transaction().execute((trx) => postTransfer(trx, request, nowMs));
}

export interface WalletBalance {
  balanceMinor: number;
  currency: string;
  updatedAtMs: number;
}

export async function walletBalance(db: Db, partnerId: string): Promise<WalletBalance> {
  const row = await db
    .selectFrom('ledger_accounts')
    .select(['debits_posted', 'credits_posted', 'currency', 'updated_at'])
    .where('id', '=', walletAccountId(partnerId))
    .executeTakeFirst();
  if (!row) throw new DomainError('not_found', `partner ${partnerId} has no wallet`);
  return { balanceMinor: Number(row.credits_posted) - Number(row.debits_posted), currency: row.currency, updatedAtMs: Number(row.updated_at) };
}

/** The same as walletBalance, through the store's hot-path read (balance/query). */
export async function walletBalanceFast(store: { fast: { ledgerAccount(id: string): Promise<{ debits_posted: number; credits_posted: number; currency: string; updated_at: number } | undefined> } }, partnerId: string): Promise<WalletBalance> {
  const row = await store.fast.ledgerAccount(walletAccountId(partnerId));
  if (!row) throw new DomainError('not_found', `partner ${partnerId} has no wallet`);
  return { balanceMinor: Number(row.credits_posted) - Number(row.debits_posted), currency: row.currency, updatedAtMs: Number(row.updated_at) };
}

/** The wallet balance recomputed from its transfers: equals walletBalance() by construction. */
export async function walletBalanceFromTransfers(db: Db, partnerId: string): Promise<number> {
  const wallet = walletAccountId(partnerId);
  const row = await db
    .selectFrom('ledger_transfers')
    .select([
      sql<number>`coalesce(sum(case when credit_account_id = ${wallet} then amount else 0 end), 0)`.as('credits'),
      sql<number>`coalesce(sum(case when debit_account_id = ${wallet} then amount else 0 end), 0)`.as('debits'),
    ])
    .where('partner_id', '=', partnerId)
    .executeTakeFirstOrThrow();
  return Number(row.credits) - Number(row.debits);
}

export async function listTransfers(db: Db, partnerId: string, limit = 100): Promise<Array<LedgerTransferTable & { seq: number }>> {
  return (await db
    .selectFrom('ledger_transfers')
    .selectAll()
    .where('partner_id', '=', partnerId)
    .orderBy('seq', 'desc')
    .limit(limit)
    .execute()) as Array<LedgerTransferTable & { seq: number }>;
}
