import type { Kysely, Transaction } from 'kysely';
import type { DB } from '../../store/schema.ts';
import { emitEvent } from '../events/outbox.ts';

/** Percent of the last deposit left at which partners are told their balance is low (seed: 25 % and 10 %). */
export const LOW_BALANCE_THRESHOLDS_PERCENT = [25, 10] as const;

/**
 * Called in the transaction of a charge, with the wallet balance just before and just after it. Emits one
 * `balance.low` event when the charge takes the balance from above a threshold to at or below it, so each
 * threshold fires once per crossing: a deposit that lifts the balance again re-arms it. When one charge
 * crosses both thresholds, one event is sent, for the lower one (the partner needs the current state, not
 * two alerts at once). Returns the threshold announced, or null.
 *
 * Pass the balance after the charge as read inside the transaction (the wallet row is locked by the
 * charge, so concurrent charges see consecutive balances and exactly one of them crosses).
 */
export async function checkLowBalance(
  trx: Kysely<DB> | Transaction<DB>,
  partnerId: string,
  balanceBeforeMinor: number,
  balanceAfterMinor: number,
  nowMs: number,
): Promise<number | null> {
  if (balanceAfterMinor >= balanceBeforeMinor) return null;
  const partner = await trx.selectFrom('partners').select(['last_deposit_amount']).where('id', '=', partnerId).executeTakeFirst();
  const lastDeposit = Number(partner?.last_deposit_amount ?? 0);
  if (lastDeposit <= 0) return null;
  // Integer comparisons: balance * 100 <= lastDeposit * percent means "at or below percent % of the deposit".
  const atOrBelow = (balance: number, percent: number) => balance * 100 <= lastDeposit * percent;
  let crossed: number | null = null;
  for (const percent of LOW_BALANCE_THRESHOLDS_PERCENT) {
    if (!atOrBelow(balanceBeforeMinor, percent) && atOrBelow(balanceAfterMinor, percent)) crossed = percent;
  }
  if (crossed === null) return null;
  await emitEvent(
    trx,
    {
      partnerId,
      type: 'balance.low',
      subject: `wallet:${partnerId}`,
      payload: { balance: balanceAfterMinor, lastDeposit, thresholdPercent: crossed },
    },
    nowMs,
  );
  return crossed;
}
