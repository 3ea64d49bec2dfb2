import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectStore, type Store } from '../src/store/connect.ts';
import type { DB } from '../src/store/schema.ts';
import { DomainError } from '../src/domain/errors.ts';
import { Partners, ensurePriceTiers } from '../src/domain/partners/partners.ts';
import { SecretBox } from '../src/lib/secrets.ts';
import {
  postTransfer,
  transfer,
  walletAccountId,
  walletBalance,
  walletBalanceFast,
  walletBalanceFromTransfers,
  type TransferKind,
  type TransferRequest,
  type TransferResult,
} from '../src/domain/ledger/ledger.ts';

const CURRENCY = 'USD';
const PG_URL = process.env.ESIMHUB_TEST_PG_URL || 'postgres://root@127.0.0.1:5432/test';
const SKIP_PG = process.env.ESIMHUB_SKIP_PG === '1';

// ---------------------------------------------------------------------------------------------------------
// Store helpers
// ---------------------------------------------------------------------------------------------------------

interface TestStore {
  store: Store;
  db: Kysely<DB>;
  partners: Partners;
  dispose(): Promise<void>;
}

async function openSqlite(): Promise<TestStore> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'esimhub-ledger-'));
  const store = await connectStore({ databaseUrl: `sqlite:${dir}/l.sqlite`, dataDir: dir });
  await ensurePriceTiers(store.db);
  return {
    store,
    db: store.db,
    partners: new Partners(store.db, new SecretBox(crypto.randomBytes(32)), 60_000),
    async dispose() {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function openPostgres(): Promise<TestStore> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'esimhub-ledger-pg-'));
  const schema = `ledger_test_${crypto.randomBytes(6).toString('hex')}`;
  let store: Store;
  try {
    store = await connectStore({ databaseUrl: PG_URL, dataDir: dir, schema });
  } catch (error) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(
      `PostgreSQL at ${PG_URL.replace(/\/\/[^@/]*@/, '//***@')} is unreachable (${(error as Error).message}); ` +
        'start it or set ESIMHUB_SKIP_PG=1 to skip the PostgreSQL ledger tests',
    );
  }
  await ensurePriceTiers(store.db);
  return {
    store,
    db: store.db,
    partners: new Partners(store.db, new SecretBox(crypto.randomBytes(32)), 60_000),
    async dispose() {
      try {
        await sql.raw(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).execute(store.db);
      } finally {
        await store.close();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

async function createPartner(ts: TestStore, name: string, depositMinor: number): Promise<string> {
  const { partner } = await ts.partners.create({ name, currency: CURRENCY, depositMinor }, Date.now());
  return partner.id;
}

/** Sum over every account of (credits - debits): zero in a double-entry ledger. */
async function ledgerNetSum(db: Kysely<DB>): Promise<number> {
  const rows = await db.selectFrom('ledger_accounts').select(['credits_posted', 'debits_posted']).execute();
  return rows.reduce((sum, r) => sum + Number(r.credits_posted) - Number(r.debits_posted), 0);
}

async function transferCount(db: Kysely<DB>): Promise<number> {
  const row = await db.selectFrom('ledger_transfers').select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Classifies a rejection: a DomainError's code, otherwise the raw message (e.g. a PostgreSQL deadlock). */
function reasonOf(error: unknown): string {
  if (error instanceof DomainError) return error.code;
  return `unexpected: ${(error as Error)?.message ?? String(error)}`;
}

function tally(results: PromiseSettledResult<unknown>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of results) {
    const key = r.status === 'fulfilled' ? 'fulfilled' : reasonOf(r.reason);
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// 1. Model-based test against the real (SQLite) store
// ---------------------------------------------------------------------------------------------------------

interface Params {
  partner: number;
  kind: TransferKind;
  amount: number;
  /** Only meaningful for adjustments; normalised to false for every other kind. */
  debitsWallet: boolean;
}

type Outcome =
  | { type: 'created' }
  | { type: 'replayed' }
  | { type: 'error'; code: 'insufficient_balance' | 'idempotency_conflict' | 'invalid_argument' };

/** The auditor's view of the ledger. */
interface Model {
  partnerCount: number;
  balances: number[];
  /** credits - debits of the system accounts. */
  funding: number;
  revenue: number;
  transferCount: number;
  /** Every committed transfer by idempotency id. */
  posted: Map<string, Params>;
  postedOrder: string[];
  /** Source of fresh ids for the concurrent commands. */
  nextFresh: number;
}

interface Real {
  db: Kysely<DB>;
  partnerIds: string[];
}

const KINDS: TransferKind[] = ['deposit', 'charge', 'refund', 'withdrawal', 'adjustment'];

function normalise(p: Params): Params {
  return { ...p, debitsWallet: p.kind === 'adjustment' ? p.debitsWallet : false };
}

function debitsWallet(p: Params): boolean {
  return p.kind === 'charge' || p.kind === 'withdrawal' || (p.kind === 'adjustment' && p.debitsWallet);
}

/** Which accounts move, as (wallet delta, funding delta, revenue delta) in credits - debits. */
function deltas(p: Params): { wallet: number; funding: number; revenue: number } {
  switch (p.kind) {
    case 'deposit':
      return { wallet: p.amount, funding: -p.amount, revenue: 0 };
    case 'withdrawal':
      return { wallet: -p.amount, funding: p.amount, revenue: 0 };
    case 'charge':
      return { wallet: -p.amount, funding: 0, revenue: p.amount };
    case 'refund':
      return { wallet: p.amount, funding: 0, revenue: -p.amount };
    case 'adjustment':
      return p.debitsWallet ? { wallet: -p.amount, funding: p.amount, revenue: 0 } : { wallet: p.amount, funding: -p.amount, revenue: 0 };
  }
}

function accountsKey(p: Params): string {
  const d = deltas({ ...p, amount: 1 });
  return `${p.partner}:${d.wallet}:${d.funding}:${d.revenue}`;
}

function predict(model: Model, id: string, p: Params): Outcome {
  if (!Number.isSafeInteger(p.amount) || p.amount <= 0) return { type: 'error', code: 'invalid_argument' };
  const earlier = model.posted.get(id);
  if (earlier) {
    const same = earlier.amount === p.amount && earlier.kind === p.kind && earlier.partner === p.partner && accountsKey(earlier) === accountsKey(p);
    return same ? { type: 'replayed' } : { type: 'error', code: 'idempotency_conflict' };
  }
  if (debitsWallet(p) && p.amount > model.balances[p.partner]) return { type: 'error', code: 'insufficient_balance' };
  return { type: 'created' };
}

function applyCreated(model: Model, id: string, p: Params): void {
  const d = deltas(p);
  model.balances[p.partner] += d.wallet;
  model.funding += d.funding;
  model.revenue += d.revenue;
  model.transferCount += 1;
  model.posted.set(id, p);
  model.postedOrder.push(id);
}

function requestFor(real: Real, id: string, p: Params): TransferRequest {
  return {
    idempotencyId: id,
    partnerId: real.partnerIds[p.partner],
    kind: p.kind,
    amountMinor: p.amount,
    currency: CURRENCY,
    ...(p.kind === 'adjustment' ? { adjustmentDebitsWallet: p.debitsWallet } : {}),
  };
}

async function post(real: Real, id: string, p: Params): Promise<{ outcome: Outcome; result?: TransferResult }> {
  try {
    const result = await transfer(real.db, requestFor(real, id, p), Date.now());
    return { outcome: { type: result.created ? 'created' : 'replayed' }, result };
  } catch (error) {
    if (error instanceof DomainError && (error.code === 'insufficient_balance' || error.code === 'idempotency_conflict' || error.code === 'invalid_argument')) {
      return { outcome: { type: 'error', code: error.code } };
    }
    throw error;
  }
}

function expectTransferMatches(result: TransferResult | undefined, real: Real, id: string, p: Params): void {
  expect(result).toBeDefined();
  const t = result!.transfer;
  expect(t.idempotency_id).toBe(id);
  expect(Number(t.amount)).toBe(p.amount);
  expect(t.kind).toBe(p.kind);
  expect(t.partner_id).toBe(real.partnerIds[p.partner]);
  expect(t.currency).toBe(CURRENCY);
  const wallet = walletAccountId(real.partnerIds[p.partner]);
  if (debitsWallet(p)) expect(t.debit_account_id).toBe(wallet);
  else expect(t.credit_account_id).toBe(wallet);
}

/** Posts one transfer and checks the real outcome against the model's prediction; updates the model. */
async function postAndCompare(model: Model, real: Real, id: string, raw: Params): Promise<void> {
  const p = normalise(raw);
  const expected = predict(model, id, p);
  const { outcome, result } = await post(real, id, p);
  expect(outcome, `post ${id} ${JSON.stringify(p)}`).toEqual(expected);
  if (outcome.type === 'created') {
    expectTransferMatches(result, real, id, p);
    applyCreated(model, id, p);
  } else if (outcome.type === 'replayed') {
    // The replay returns the first transfer itself.
    expectTransferMatches(result, real, id, model.posted.get(id)!);
  }
}

async function checkInvariants(model: Model, real: Real): Promise<void> {
  for (let i = 0; i < model.partnerCount; i++) {
    const pid = real.partnerIds[i];
    const { balanceMinor, currency } = await walletBalance(real.db, pid);
    expect(currency).toBe(CURRENCY);
    expect(balanceMinor, `wallet ${i} vs model`).toBe(model.balances[i]);
    expect(await walletBalanceFromTransfers(real.db, pid), `wallet ${i} recomputed from transfers`).toBe(balanceMinor);
    expect(balanceMinor).toBeGreaterThanOrEqual(0);
  }
  const accounts = await real.db.selectFrom('ledger_accounts').select(['id', 'kind', 'credits_posted', 'debits_posted']).execute();
  let net = 0;
  let funding = 0;
  let revenue = 0;
  for (const a of accounts) {
    const credits = Number(a.credits_posted);
    const debits = Number(a.debits_posted);
    net += credits - debits;
    if (a.kind === 'wallet') expect(credits - debits, `${a.id} must not be negative`).toBeGreaterThanOrEqual(0);
    if (a.kind === 'funding') funding += credits - debits;
    if (a.kind === 'revenue') revenue += credits - debits;
  }
  expect(funding, 'funding accounts').toBe(model.funding);
  expect(revenue, 'revenue accounts').toBe(model.revenue);
  expect(net, 'double entry: sum of credits - debits over all accounts').toBe(0);
  expect(await transferCount(real.db), 'transfer count').toBe(model.transferCount);

  // The committed transfers are exactly the model's, with the same parameters.
  const rows = await real.db.selectFrom('ledger_transfers').select(['idempotency_id', 'amount', 'kind', 'partner_id']).execute();
  const actual = rows.map((r) => `${r.idempotency_id}|${Number(r.amount)}|${r.kind}|${r.partner_id}`).sort();
  const expected = [...model.posted].map(([id, p]) => `${id}|${p.amount}|${p.kind}|${real.partnerIds[p.partner]}`).sort();
  expect(actual).toEqual(expected);

  // The per-month spend the ledger keeps equals the transfers it sums (charges and refunds per partner and month).
  const spendRows = await real.db.selectFrom('monthly_spend').selectAll().execute();
  const kept = new Map(spendRows.map((r) => [`${r.partner_id}|${r.month}`, `${Number(r.charges)}/${Number(r.refunds)}`]));
  const summed = new Map<string, [number, number]>();
  for (const t of await real.db.selectFrom('ledger_transfers').select(['partner_id', 'kind', 'amount', 'created_at']).where('kind', 'in', ['charge', 'refund']).execute()) {
    const key = `${t.partner_id}|${new Date(Number(t.created_at)).toISOString().slice(0, 7)}`;
    const sums = summed.get(key) ?? [0, 0];
    sums[t.kind === 'charge' ? 0 : 1] += Number(t.amount);
    summed.set(key, sums);
  }
  expect(kept, 'monthly_spend vs transfers').toEqual(new Map([...summed].map(([k, [c, r]]) => [k, `${c}/${r}`])));
}

type LedgerCommand = fc.AsyncCommand<Model, Real, false>;

/** Deposit / Charge / Refund / Withdrawal / Adjustment with an id from a small pool, so ids collide naturally. */
class PostCommand implements LedgerCommand {
  constructor(
    readonly partner: number,
    readonly kind: TransferKind,
    readonly amount: number,
    readonly idIndex: number,
    readonly adjustmentDebitsWallet: boolean,
  ) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    const p: Params = { partner: this.partner % model.partnerCount, kind: this.kind, amount: this.amount, debitsWallet: this.adjustmentDebitsWallet };
    await postAndCompare(model, real, `k${this.idIndex}`, p);
    await checkInvariants(model, real);
  }
  toString(): string {
    const dir = this.kind === 'adjustment' ? (this.adjustmentDebitsWallet ? '-' : '+') : '';
    return `${this.kind[0].toUpperCase()}${this.kind.slice(1)}${dir}(p${this.partner}, ${this.amount}, k${this.idIndex})`;
  }
}

/** A wallet debit of exactly balance + offset: the boundary of the balance check. */
class BoundaryDebitCommand implements LedgerCommand {
  constructor(
    readonly partner: number,
    readonly kind: 'charge' | 'withdrawal' | 'adjustment',
    readonly offset: number,
  ) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    const partner = this.partner % model.partnerCount;
    const p: Params = { partner, kind: this.kind, amount: model.balances[partner] + this.offset, debitsWallet: true };
    await postAndCompare(model, real, `b${model.nextFresh++}`, p);
    await checkInvariants(model, real);
  }
  toString(): string {
    return `BoundaryDebit(p${this.partner}, ${this.kind}, balance${this.offset >= 0 ? '+' : ''}${this.offset})`;
  }
}

/** Re-posts an earlier committed transfer with the same id and parameters: created:false, nothing moves. */
class RetrySameIdCommand implements LedgerCommand {
  constructor(readonly pick: number) {}
  check = (model: Readonly<Model>) => model.postedOrder.length > 0;
  async run(model: Model, real: Real): Promise<void> {
    const id = model.postedOrder[this.pick % model.postedOrder.length];
    const p = model.posted.get(id)!;
    const before = model.transferCount;
    expect(predict(model, id, p)).toEqual({ type: 'replayed' });
    const { outcome, result } = await post(real, id, p);
    expect(outcome).toEqual({ type: 'replayed' });
    expect(result!.created).toBe(false);
    expectTransferMatches(result, real, id, p);
    expect(model.transferCount).toBe(before);
    await checkInvariants(model, real);
  }
  toString(): string {
    return `RetrySameId(#${this.pick})`;
  }
}

/** Re-uses an earlier id for a different transfer: idempotency_conflict, nothing moves. */
class ConflictingRetryCommand implements LedgerCommand {
  constructor(
    readonly pick: number,
    readonly change: 'amount' | 'kind' | 'partner',
    readonly delta: number,
  ) {}
  check = (model: Readonly<Model>) => model.postedOrder.length > 0;
  async run(model: Model, real: Real): Promise<void> {
    const id = model.postedOrder[this.pick % model.postedOrder.length];
    const original = model.posted.get(id)!;
    let p: Params;
    switch (this.change) {
      case 'amount':
        p = { ...original, amount: original.amount + this.delta };
        break;
      case 'kind': {
        const others = KINDS.filter((k) => k !== original.kind);
        p = normalise({ ...original, kind: others[this.delta % others.length], debitsWallet: this.delta % 2 === 0 });
        break;
      }
      case 'partner':
        p = { ...original, partner: (original.partner + 1 + (this.delta % (model.partnerCount - 1))) % model.partnerCount };
        break;
    }
    expect(predict(model, id, p)).toEqual({ type: 'error', code: 'idempotency_conflict' });
    const { outcome } = await post(real, id, p);
    expect(outcome).toEqual({ type: 'error', code: 'idempotency_conflict' });
    await checkInvariants(model, real);
  }
  toString(): string {
    return `ConflictingRetry(#${this.pick}, ${this.change}, ${this.delta})`;
  }
}

/**
 * Several equal charges at once (Promise.all). SQLite serialises the transactions, so exactly
 * min(n, floor(balance / amount)) succeed and every other one fails with insufficient_balance.
 */
class ParallelChargesCommand implements LedgerCommand {
  constructor(
    readonly partner: number,
    readonly n: number,
    readonly amount: number,
  ) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    const partner = this.partner % model.partnerCount;
    const before = model.balances[partner];
    const p: Params = { partner, kind: 'charge', amount: this.amount, debitsWallet: false };
    const ids = Array.from({ length: this.n }, () => `pc${model.nextFresh++}`);
    const results = await Promise.allSettled(ids.map((id) => transfer(real.db, requestFor(real, id, p), Date.now())));
    let successes = 0;
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') {
        expect(r.value.created).toBe(true);
        expectTransferMatches(r.value, real, ids[i], p);
        applyCreated(model, ids[i], p);
        successes++;
      } else {
        expect(reasonOf(r.reason)).toBe('insufficient_balance');
      }
    });
    expect(successes * this.amount).toBeLessThanOrEqual(before);
    expect(successes).toBe(Math.min(this.n, Math.floor(before / this.amount)));
    await checkInvariants(model, real);
  }
  toString(): string {
    return `ParallelCharges(p${this.partner}, ${this.n} x ${this.amount})`;
  }
}

/**
 * Mixed wallet debits (charges, withdrawals, debiting adjustments) of different amounts at once. The
 * balance only goes down during the batch, so: the successes fit the starting balance, and every
 * rejected debit is larger than the final balance (it did not fit then, and the balance only fell).
 */
class ParallelDebitsCommand implements LedgerCommand {
  constructor(
    readonly partner: number,
    readonly debits: Array<{ kind: 'charge' | 'withdrawal' | 'adjustment'; amount: number }>,
  ) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    const partner = this.partner % model.partnerCount;
    const before = model.balances[partner];
    const batch = this.debits.map((d) => ({ id: `pd${model.nextFresh++}`, p: { partner, kind: d.kind, amount: d.amount, debitsWallet: true } as Params }));
    const results = await Promise.allSettled(batch.map(({ id, p }) => transfer(real.db, requestFor(real, id, p), Date.now())));
    let spent = 0;
    const rejected: number[] = [];
    results.forEach((r, i) => {
      const { id, p } = batch[i];
      if (r.status === 'fulfilled') {
        expect(r.value.created).toBe(true);
        expectTransferMatches(r.value, real, id, p);
        applyCreated(model, id, p);
        spent += p.amount;
      } else {
        expect(reasonOf(r.reason)).toBe('insufficient_balance');
        rejected.push(p.amount);
      }
    });
    expect(spent).toBeLessThanOrEqual(before);
    const after = model.balances[partner];
    expect(after).toBe(before - spent);
    for (const amount of rejected) expect(amount).toBeGreaterThan(after);
    await checkInvariants(model, real);
  }
  toString(): string {
    return `ParallelDebits(p${this.partner}, [${this.debits.map((d) => `${d.kind}:${d.amount}`).join(', ')}])`;
  }
}

/** One transfer per partner at once: different wallets, so each outcome is exactly the model's. */
class ParallelAcrossPartnersCommand implements LedgerCommand {
  constructor(readonly ops: Array<{ kind: TransferKind; amount: number; debitsWallet: boolean }>) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    const batch = this.ops.slice(0, model.partnerCount).map((op, partner) => {
      const p = normalise({ partner, ...op });
      const id = `pa${model.nextFresh++}`;
      return { id, p, expected: predict(model, id, p) };
    });
    const results = await Promise.all(batch.map(({ id, p }) => post(real, id, p)));
    results.forEach(({ outcome, result }, i) => {
      const { id, p, expected } = batch[i];
      expect(outcome, `${id} ${JSON.stringify(p)}`).toEqual(expected);
      if (outcome.type === 'created') {
        expectTransferMatches(result, real, id, p);
        applyCreated(model, id, p);
      }
    });
    await checkInvariants(model, real);
  }
  toString(): string {
    return `ParallelAcrossPartners([${this.ops.map((o) => `${o.kind}${o.kind === 'adjustment' ? (o.debitsWallet ? '-' : '+') : ''}:${o.amount}`).join(', ')}])`;
  }
}

/** The same new transfer posted several times at once: exactly one moves money (if it fits at all). */
class ParallelSameIdCommand implements LedgerCommand {
  constructor(
    readonly partner: number,
    readonly kind: TransferKind,
    readonly amount: number,
    readonly n: number,
  ) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    const p = normalise({ partner: this.partner % model.partnerCount, kind: this.kind, amount: this.amount, debitsWallet: true });
    const id = `ps${model.nextFresh++}`;
    const expected = predict(model, id, p);
    const results = await Promise.all(Array.from({ length: this.n }, () => post(real, id, p)));
    const outcomes = results.map((r) => r.outcome.type === 'error' ? r.outcome.code : r.outcome.type);
    if (expected.type === 'created') {
      expect(outcomes.filter((o) => o === 'created')).toHaveLength(1);
      expect(outcomes.filter((o) => o === 'replayed')).toHaveLength(this.n - 1);
      const transferIds = new Set(results.map((r) => r.result!.transfer.id));
      expect(transferIds.size).toBe(1);
      applyCreated(model, id, p);
    } else {
      expect(expected).toEqual({ type: 'error', code: 'insufficient_balance' });
      expect(outcomes).toEqual(Array(this.n).fill('insufficient_balance'));
    }
    await checkInvariants(model, real);
  }
  toString(): string {
    return `ParallelSameId(p${this.partner}, ${this.kind}, ${this.amount}, x${this.n})`;
  }
}

const partnerArb = fc.nat({ max: 2 });
const amountArb = fc.integer({ min: 1, max: 60_000 });
const debitKindArb = fc.constantFrom<'charge' | 'withdrawal' | 'adjustment'>('charge', 'withdrawal', 'adjustment');

const commandArbs: Array<fc.Arbitrary<LedgerCommand>> = [
  ...KINDS.map((kind) =>
    fc
      .tuple(partnerArb, amountArb, fc.nat({ max: 49 }), fc.boolean())
      .map(([partner, amount, idIndex, dir]) => new PostCommand(partner, kind, amount, idIndex, dir) as LedgerCommand),
  ),
  fc.tuple(partnerArb, debitKindArb, fc.integer({ min: -1, max: 1 })).map(([partner, kind, offset]) => new BoundaryDebitCommand(partner, kind, offset)),
  fc.nat().map((pick) => new RetrySameIdCommand(pick)),
  fc
    .tuple(fc.nat(), fc.constantFrom<'amount' | 'kind' | 'partner'>('amount', 'kind', 'partner'), fc.integer({ min: 1, max: 10_000 }))
    .map(([pick, change, delta]) => new ConflictingRetryCommand(pick, change, delta)),
  fc.tuple(partnerArb, fc.integer({ min: 2, max: 6 }), fc.integer({ min: 1, max: 30_000 })).map(([partner, n, amount]) => new ParallelChargesCommand(partner, n, amount)),
  fc
    .tuple(partnerArb, fc.array(fc.record({ kind: debitKindArb, amount: fc.integer({ min: 1, max: 40_000 }) }), { minLength: 2, maxLength: 6 }))
    .map(([partner, debits]) => new ParallelDebitsCommand(partner, debits)),
  fc
    .array(fc.record({ kind: fc.constantFrom(...KINDS), amount: amountArb, debitsWallet: fc.boolean() }), { minLength: 3, maxLength: 3 })
    .map((ops) => new ParallelAcrossPartnersCommand(ops)),
  fc
    .tuple(partnerArb, fc.constantFrom(...KINDS), amountArb, fc.integer({ min: 2, max: 5 }))
    .map(([partner, kind, amount, n]) => new ParallelSameIdCommand(partner, kind, amount, n)),
];

describe('ledger: model-based test against the real SQLite store', () => {
  it('matches an auditor model through deposits, charges, refunds, withdrawals, adjustments, retries and concurrency', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: 3 }),
        fc.array(fc.integer({ min: 0, max: 100_000 }), { minLength: 3, maxLength: 3 }),
        fc.commands(commandArbs, { maxCommands: 40, size: 'max' }),
        async (partnerCount, initialDeposits, cmds) => {
          const ts = await openSqlite();
          try {
            const model: Model = {
              partnerCount,
              balances: [],
              funding: 0,
              revenue: 0,
              transferCount: 0,
              posted: new Map(),
              postedOrder: [],
              nextFresh: 0,
            };
            const real: Real = { db: ts.db, partnerIds: [] };
            for (let i = 0; i < partnerCount; i++) {
              const deposit = initialDeposits[i];
              real.partnerIds.push(await createPartner(ts, `partner ${i}`, deposit));
              model.balances.push(0);
              // Partners.create posts the initial deposit through the ledger under this id.
              if (deposit > 0) applyCreated(model, `initial-deposit:${real.partnerIds[i]}`, { partner: i, kind: 'deposit', amount: deposit, debitsWallet: false });
            }
            await checkInvariants(model, real);
            await fc.asyncModelRun(() => ({ model, real }), cmds);
          } finally {
            await ts.dispose();
          }
        },
      ),
      { numRuns: 100 },
    );
  }, 120_000);
});

// ---------------------------------------------------------------------------------------------------------
// 2–4. Plain concurrency tests, on SQLite and on PostgreSQL
// ---------------------------------------------------------------------------------------------------------

const backends: Array<{ name: string; open: () => Promise<TestStore>; skip: boolean }> = [
  { name: 'sqlite', open: openSqlite, skip: false },
  { name: 'postgres', open: openPostgres, skip: SKIP_PG },
];

for (const backend of backends) {
  describe.skipIf(backend.skip)(`ledger concurrency on ${backend.name}`, () => {
    let ts: TestStore | undefined;

    beforeAll(async () => {
      ts = await backend.open();
    });

    afterAll(async () => {
      await ts?.dispose();
    });

    it('100 concurrent charges against a balance for exactly 50: 50 succeed, 50 insufficient_balance, balance 0', async () => {
      const db = ts!.db;
      const amount = 10_000;
      const partnerId = await createPartner(ts!, 'fifty charges', 50 * amount);
      const transfersBefore = await transferCount(db);
      expect(await ledgerNetSum(db)).toBe(0);

      const results = await Promise.allSettled(
        Array.from({ length: 100 }, (_, i) =>
          transfer(db, { idempotencyId: `c100-${partnerId}-${i}`, partnerId, kind: 'charge', amountMinor: amount, currency: CURRENCY }, Date.now()),
        ),
      );

      expect(tally(results)).toEqual({ fulfilled: 50, insufficient_balance: 50 });
      for (const r of results) if (r.status === 'fulfilled') expect(r.value.created).toBe(true);
      const ids = new Set(results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.transfer.id] : [])));
      expect(ids.size).toBe(50);

      expect((await walletBalance(db, partnerId)).balanceMinor).toBe(0);
      expect(await walletBalanceFromTransfers(db, partnerId)).toBe(0);
      const charges = await db.selectFrom('ledger_transfers').select(sql<number>`count(*)`.as('n')).where('partner_id', '=', partnerId).where('kind', '=', 'charge').executeTakeFirstOrThrow();
      expect(Number(charges.n)).toBe(50);
      expect(await transferCount(db)).toBe(transfersBefore + 50);
      expect(await ledgerNetSum(db)).toBe(0);
    });

    it.each(['charge', 'deposit'] as const)('20 concurrent posts of one %s with one idempotency id move money once', async (kind) => {
      const db = ts!.db;
      const amount = 10_000;
      const partnerId = await createPartner(ts!, `same id ${kind}`, 100_000);
      const transfersBefore = await transferCount(db);
      const idempotencyId = `same-${kind}-${partnerId}`;

      const results = await Promise.allSettled(
        Array.from({ length: 20 }, () => transfer(db, { idempotencyId, partnerId, kind, amountMinor: amount, currency: CURRENCY }, Date.now())),
      );

      expect(tally(results)).toEqual({ fulfilled: 20 });
      const values = results.map((r) => (r as PromiseFulfilledResult<TransferResult>).value);
      expect(values.filter((v) => v.created)).toHaveLength(1);
      expect(values.filter((v) => !v.created)).toHaveLength(19);
      expect(new Set(values.map((v) => v.transfer.id)).size).toBe(1);

      const rows = await db.selectFrom('ledger_transfers').selectAll().where('idempotency_id', '=', idempotencyId).execute();
      expect(rows).toHaveLength(1);
      expect(Number(rows[0].amount)).toBe(amount);
      expect(await transferCount(db)).toBe(transfersBefore + 1);

      const expected = kind === 'charge' ? 100_000 - amount : 100_000 + amount;
      expect((await walletBalance(db, partnerId)).balanceMinor).toBe(expected);
      expect(await walletBalanceFromTransfers(db, partnerId)).toBe(expected);
      expect(await ledgerNetSum(db)).toBe(0);
    });

    // Regression: postTransfer once locked the debit account before the credit account, so a charge and a
    // refund on one wallet took row locks in opposite orders and deadlocked on PostgreSQL (40P01).
    it(
      'concurrent transfers in both directions on one wallet all succeed and add up',
      async () => {
        const db = ts!.db;
        const start = 1_000_000;
        const partnerId = await createPartner(ts!, 'mixed directions', start);
        const ops: Array<{ kind: TransferKind; adjustmentDebitsWallet?: boolean; delta: number }> = [
          { kind: 'charge', delta: -100 },
          { kind: 'refund', delta: 100 },
          { kind: 'withdrawal', delta: -100 },
          { kind: 'deposit', delta: 100 },
          { kind: 'adjustment', adjustmentDebitsWallet: true, delta: -100 },
          { kind: 'adjustment', adjustmentDebitsWallet: false, delta: 100 },
        ];
        const batch = Array.from({ length: 24 }, (_, i) => ops[i % ops.length]);
        const results = await Promise.allSettled(
          batch.map((op, i) =>
            transfer(
              db,
              { idempotencyId: `mixed-${partnerId}-${i}`, partnerId, kind: op.kind, amountMinor: 100, currency: CURRENCY, adjustmentDebitsWallet: op.adjustmentDebitsWallet },
              Date.now(),
            ),
          ),
        );
        expect(tally(results)).toEqual({ fulfilled: batch.length });
        const expected = start + batch.reduce((sum, op) => sum + op.delta, 0);
        expect((await walletBalance(db, partnerId)).balanceMinor).toBe(expected);
        expect(await walletBalanceFromTransfers(db, partnerId)).toBe(expected);
        expect(await ledgerNetSum(db)).toBe(0);
      },
    );
  });
}

describe('ledger: the hot-path balance read (balance/query)', () => {
  it('answers every change at once: its own process’s transfers, and another process’s within 50 ms', async () => {
    const ts = await openSqlite();
    const file = ts.store.description.replace(/^sqlite /, '');
    const other = await connectStore({ databaseUrl: `sqlite:${file}`, dataDir: path.dirname(file) });
    try {
      const { partner } = await ts.partners.create({ name: 'Fast', depositMinor: 100_000 }, Date.now());
      const fast = () => walletBalanceFast(ts.store, partner.id).then((b) => b.balanceMinor);
      expect(await fast()).toBe(100_000);
      expect(await fast()).toBe(100_000); // remembered
      // A charge by this connection shows on the very next read.
      await transfer(ts.db, { idempotencyId: 'c1', partnerId: partner.id, kind: 'charge', amountMinor: 30_000, currency: CURRENCY }, Date.now());
      expect(await fast()).toBe(70_000);
      // So does a charge inside a transaction that is still open (the read waits for it) and then commits.
      let during: Promise<number> | null = null;
      await ts.db.transaction().execute(async (trx) => {
        await postTransfer(trx, { idempotencyId: 'c2', partnerId: partner.id, kind: 'charge', amountMinor: 10_000, currency: CURRENCY }, Date.now());
        during = fast(); // another request reading while this transaction is open
      });
      expect(await during).toBe(60_000);
      expect(await fast()).toBe(60_000);
      // A deposit by another connection (a CLI command in another process) shows within the external check interval.
      await transfer(other.db, { idempotencyId: 'd2', partnerId: partner.id, kind: 'deposit', amountMinor: 5_000, currency: CURRENCY }, Date.now());
      await new Promise((resolve) => setTimeout(resolve, 60));
      expect(await fast()).toBe(65_000);
      expect(await walletBalance(ts.db, partner.id).then((b) => b.balanceMinor)).toBe(65_000);
    } finally {
      await other.close();
      await ts.dispose();
    }
  });
});
