import { sql, type Kysely } from 'kysely';
import type { DB, Partner } from '../../store/schema.ts';
import type { ConsoleUser } from './accounts.ts';
import { normalizeEmail } from './accounts.ts';
import { hashPassword, passwordProblem } from './passwords.ts';
import { MAX_DEPOSIT_MINOR } from './deposits.ts';
import { newId } from '../../lib/ids.ts';
import { DomainError } from '../errors.ts';
import type { IssuedKey, Partners } from '../partners/partners.ts';
import { walletAccountId } from '../ledger/ledger.ts';

/** A partner as the operator console lists it: with its wallet balance. */
export interface PartnerRow extends Partner {
  balance_minor: number;
}

export interface PartnerListFilter {
  q?: string;
  environment?: Partner['environment'];
  status?: Partner['status'];
  limit: number;
  offset: number;
}

/** `%` and `_` are LIKE wildcards: a search for "50%" means the text. */
export function likePattern(text: string): string {
  return `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** Partners with their balances, newest first, one query (the wallet row carries the running totals). */
export async function listPartnersWithBalances(db: Kysely<DB>, filter: PartnerListFilter): Promise<{ rows: PartnerRow[]; total: number }> {
  let base = db.selectFrom('partners').leftJoin('ledger_accounts as w', (join) => join.onRef('w.partner_id', '=', 'partners.id').on('w.kind', '=', 'wallet'));
  const q = filter.q?.trim();
  if (q) {
    const pattern = likePattern(q);
    base = base.where((eb) => eb.or([sql<boolean>`lower(partners.name) like ${pattern} escape '\\'`, sql<boolean>`lower(partners.id) like ${pattern} escape '\\'`]));
  }
  if (filter.environment) base = base.where('partners.environment', '=', filter.environment);
  if (filter.status) base = base.where('partners.status', '=', filter.status);
  const rows = await base
    .selectAll('partners')
    .select(['w.credits_posted', 'w.debits_posted'])
    .orderBy('partners.created_at', 'desc')
    .orderBy('partners.id', 'desc')
    .limit(filter.limit)
    .offset(filter.offset)
    .execute();
  const count = await base.select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirstOrThrow();
  return {
    rows: rows.map(({ credits_posted, debits_posted, ...partner }) => ({ ...(partner as Partner), balance_minor: Number(credits_posted ?? 0) - Number(debits_posted ?? 0) })),
    total: Number(count.n),
  };
}

export interface NewPartnerInput {
  name: string;
  environment: Partner['environment'];
  currency: string;
  priceTierId: string;
  depositMinor: number;
  /** The partner's first console login, created in the same transaction as the partner. */
  user?: { email: string; password: string };
}

/**
 * Creates a partner (with its first API key, initial deposit and, when given, its first console user) in
 * one transaction: a taken email leaves no partner behind.
 */
export async function createPartnerWithUser(partners: Partners, input: NewPartnerInput, nowMs: number): Promise<{ partner: Partner; key: IssuedKey; user: ConsoleUser | null }> {
  if (!Number.isSafeInteger(input.depositMinor) || input.depositMinor < 0 || input.depositMinor > MAX_DEPOSIT_MINOR) {
    throw new DomainError('invalid_argument', `the initial deposit must be between 0 and ${MAX_DEPOSIT_MINOR / 10_000} units`, { field: 'initial_deposit' });
  }
  let prepared: { email: string; passwordHash: string } | null = null;
  if (input.user) {
    const email = normalizeEmail(input.user.email);
    const problem = passwordProblem(input.user.password);
    if (problem) throw new DomainError('invalid_argument', problem, { field: 'password' });
    // Hashing is slow (scrypt): done before the transaction opens, not while it holds locks.
    prepared = { email, passwordHash: await hashPassword(input.user.password) };
  }
  let user: ConsoleUser | null = null;
  const created = await partners.create(
    { name: input.name, environment: input.environment, currency: input.currency, priceTierId: input.priceTierId, depositMinor: input.depositMinor },
    nowMs,
    async (trx, partner) => {
      if (!prepared) return;
      const row: ConsoleUser = {
        id: newId('usr', nowMs),
        email: prepared.email,
        password_hash: prepared.passwordHash,
        role: 'partner',
        partner_id: partner.id,
        status: 'active',
        failed_logins: 0,
        locked_until: 0,
        created_at: nowMs,
        last_login_at: null,
      };
      const inserted = await trx.insertInto('console_users').values(row).onConflict((oc) => oc.column('email').doNothing()).executeTakeFirst();
      if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) !== 1) throw new DomainError('conflict', `a console account with the email ${prepared.email} already exists`, { field: 'email' });
      user = row;
    },
  );
  return { ...created, user };
}

/** Checks a tier id against the operator's tier table. */
export async function assertTierExists(db: Kysely<DB>, tierId: string): Promise<void> {
  const tier = await db.selectFrom('price_tiers').select('id').where('id', '=', tierId).executeTakeFirst();
  if (!tier) throw new DomainError('invalid_argument', `price tier ${tierId} does not exist`, { field: 'price_tier_id' });
}

/**
 * Changes a partner's status or assigned tier. Only active ↔ suspended: a closed account stays closed
 * (its keys and sessions are refused for good).
 */
export async function changePartner(partners: Partners, db: Kysely<DB>, partnerId: string, changes: { status?: 'active' | 'suspended'; priceTierId?: string }, nowMs: number): Promise<Partner> {
  const partner = await partners.get(partnerId);
  if (partner.status === 'closed') throw new DomainError('invalid_state', `partner ${partnerId} is closed`);
  if (changes.priceTierId !== undefined) await assertTierExists(db, changes.priceTierId);
  if (changes.status === undefined && changes.priceTierId === undefined) return partner;
  return partners.update(partnerId, { ...(changes.status ? { status: changes.status } : {}), ...(changes.priceTierId ? { price_tier_id: changes.priceTierId } : {}) }, nowMs);
}

/** One page of a partner's ledger, newest first; `beforeSeq` continues after the last row seen. */
export async function ledgerPage(db: Kysely<DB>, partnerId: string, limit: number, beforeSeq?: number) {
  let query = db.selectFrom('ledger_transfers').selectAll().where('partner_id', '=', partnerId);
  if (beforeSeq !== undefined) query = query.where('seq', '<', beforeSeq);
  const rows = await query.orderBy('seq', 'desc').limit(limit + 1).execute();
  const wallet = walletAccountId(partnerId);
  const shown = rows.slice(0, limit);
  return {
    rows: shown.map((t) => ({
      seq: Number(t.seq),
      id: t.id,
      kind: t.kind,
      // Signed from the wallet's side: money in is positive.
      amount_minor: t.credit_account_id === wallet ? Number(t.amount) : t.debit_account_id === wallet ? -Number(t.amount) : 0,
      currency: t.currency,
      reference: t.reference,
      memo: t.memo,
      created_at: Number(t.created_at),
    })),
    nextBeforeSeq: rows.length > limit && shown.length ? Number(shown[shown.length - 1].seq) : null,
  };
}

/** What the partner detail view shows besides the partner row. */
export async function partnerExtras(db: Kysely<DB>, partnerId: string) {
  const users = await db.selectFrom('console_users').select(['id', 'email', 'status', 'created_at', 'last_login_at']).where('partner_id', '=', partnerId).orderBy('created_at').execute();
  const keys = await db.selectFrom('api_keys').select(['status', (eb) => eb.fn.countAll<number | string>().as('n')]).where('partner_id', '=', partnerId).groupBy('status').execute();
  const esims = await db.selectFrom('esims').select(['esim_status', (eb) => eb.fn.countAll<number | string>().as('n')]).where('partner_id', '=', partnerId).groupBy('esim_status').execute();
  const pending = await db
    .selectFrom('deposit_requests')
    .select([(eb) => eb.fn.countAll<number | string>().as('n'), (eb) => eb.fn.sum<number | string | null>('amount_minor').as('amount')])
    .where('partner_id', '=', partnerId)
    .where('status', '=', 'pending')
    .executeTakeFirstOrThrow();
  return {
    users: users.map((u) => ({ ...u, created_at: Number(u.created_at), last_login_at: u.last_login_at === null ? null : Number(u.last_login_at) })),
    activeKeys: Number(keys.find((k) => k.status === 'active')?.n ?? 0),
    esimsByStatus: Object.fromEntries(esims.map((e) => [e.esim_status, Number(e.n)])) as Record<string, number>,
    pendingDeposits: { count: Number(pending.n), amountMinor: Number(pending.amount ?? 0) },
  };
}
