import type { Kysely } from 'kysely';
import type { DB, Partner } from '../../store/schema.ts';
import type { DepositRequestTable } from '../../store/tables/console.ts';
import { newId } from '../../lib/ids.ts';
import { DomainError } from '../errors.ts';
import { depositIn } from '../partners/partners.ts';

export type DepositRequest = DepositRequestTable;

/** The largest single deposit a console accepts (1,000,000.00 units), against typos with extra zeros. */
export const MAX_DEPOSIT_MINOR = 1_000_000 * 10_000;

/**
 * Deposits made in the console. A sandbox partner's deposit is simulated: credited at once. A live
 * partner's is a request (the partner has sent a bank transfer) that an operator approves, which credits
 * the wallet, or rejects. Approval is one transaction with a status-guarded update, so two operators
 * clicking at once credit once.
 */
export async function requestDeposit(
  db: Kysely<DB>,
  input: { partner: Pick<Partner, 'id' | 'environment' | 'currency'>; amountMinor: number; reference?: string; userId: string | null; idempotencyKey?: string },
  nowMs: number,
): Promise<{ deposit: DepositRequest; created: boolean }> {
  const { partner, amountMinor } = input;
  if (!Number.isSafeInteger(amountMinor) || amountMinor <= 0) throw new DomainError('invalid_argument', 'amount must be a positive whole number of 1/10,000 units', { field: 'amount' });
  if (amountMinor > MAX_DEPOSIT_MINOR) throw new DomainError('invalid_argument', `a single deposit is at most ${MAX_DEPOSIT_MINOR / 10_000} ${partner.currency}`, { field: 'amount' });
  const reference = (input.reference ?? '').trim();
  if (reference.length > 200) throw new DomainError('invalid_argument', 'reference must be at most 200 characters', { field: 'reference' });
  const idempotencyKey = input.idempotencyKey ?? null;
  if (idempotencyKey !== null && (idempotencyKey.length === 0 || idempotencyKey.length > 255)) throw new DomainError('invalid_argument', 'Idempotency-Key must be 1-255 characters');
  const sandbox = partner.environment === 'sandbox';
  const row: DepositRequest = {
    id: newId('dep', nowMs),
    partner_id: partner.id,
    amount_minor: amountMinor,
    currency: partner.currency,
    reference,
    // A sandbox deposit is simulated: approved and credited at once.
    status: sandbox ? 'approved' : 'pending',
    requested_by: input.userId,
    created_at: nowMs,
    decided_at: sandbox ? nowMs : null,
    decided_by: sandbox ? 'sandbox' : null,
    transfer_id: null,
    idempotency_key: idempotencyKey,
  };
  return db.transaction().execute(async (trx) => {
    // The unique (partner, idempotency key) settles copies sent at once: the loser answers the winner's.
    const inserted = await trx.insertInto('deposit_requests').values(row).onConflict((oc) => oc.columns(['partner_id', 'idempotency_key']).doNothing()).executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) !== 1) {
      const first = await trx.selectFrom('deposit_requests').selectAll().where('partner_id', '=', partner.id).where('idempotency_key', '=', idempotencyKey).executeTakeFirstOrThrow();
      if (Number(first.amount_minor) !== amountMinor) throw new DomainError('idempotency_conflict', `the Idempotency-Key ${idempotencyKey} was used for a deposit of another amount`);
      return { deposit: first, created: false };
    }
    if (!sandbox) return { deposit: row, created: true };
    const { transfer } = await depositIn(trx, partner.id, amountMinor, `deposit-request:${row.id}`, nowMs, reference ? `simulated deposit: ${reference}` : 'simulated deposit');
    await trx.updateTable('deposit_requests').set({ transfer_id: transfer.id }).where('id', '=', row.id).execute();
    return { deposit: { ...row, transfer_id: transfer.id }, created: true };
  });
}

/** Approves (credits) or rejects a pending request. Deciding a decided request again is refused. */
export async function decideDeposit(db: Kysely<DB>, id: string, decision: 'approve' | 'reject', operatorUserId: string, nowMs: number): Promise<DepositRequest> {
  return db.transaction().execute(async (trx) => {
    const request = await trx.selectFrom('deposit_requests').selectAll().where('id', '=', id).executeTakeFirst();
    if (!request) throw new DomainError('not_found', `deposit request ${id} does not exist`);
    const status = decision === 'approve' ? 'approved' : 'rejected';
    const claimed = await trx
      .updateTable('deposit_requests')
      .set({ status, decided_at: nowMs, decided_by: operatorUserId })
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .executeTakeFirst();
    if (Number(claimed.numUpdatedRows) !== 1) throw new DomainError('invalid_state', `deposit request ${id} is already ${request.status}`);
    let transferId: string | null = null;
    if (decision === 'approve') {
      const { transfer } = await depositIn(trx, request.partner_id, Number(request.amount_minor), `deposit-request:${id}`, nowMs, request.reference ? `deposit: ${request.reference}` : 'deposit');
      transferId = transfer.id;
      await trx.updateTable('deposit_requests').set({ transfer_id: transferId }).where('id', '=', id).execute();
    }
    return { ...request, status, decided_at: nowMs, decided_by: operatorUserId, transfer_id: transferId };
  });
}

/** Newest first; `before` is the created_at/id cursor of the last row seen. */
export async function listDeposits(
  db: Kysely<DB>,
  filter: { partnerId?: string; status?: DepositRequest['status']; limit: number; before?: { createdAt: number; id: string } },
): Promise<DepositRequest[]> {
  let query = db.selectFrom('deposit_requests').selectAll();
  if (filter.partnerId) query = query.where('partner_id', '=', filter.partnerId);
  if (filter.status) query = query.where('status', '=', filter.status);
  if (filter.before) {
    const { createdAt, id } = filter.before;
    query = query.where((eb) => eb.or([eb('created_at', '<', createdAt), eb.and([eb('created_at', '=', createdAt), eb('id', '<', id)])]));
  }
  return query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(filter.limit).execute();
}
