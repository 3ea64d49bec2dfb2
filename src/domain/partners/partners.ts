import type { Kysely, Transaction } from 'kysely';
import type { ApiKeyTable, DB, Partner } from '../../store/schema.ts';
import { DomainError } from '../errors.ts';
import { newId, randomHex } from '../../lib/ids.ts';
import { SecretBox, sha256Hex } from '../../lib/secrets.ts';
import { ensureWallet, postTransfer } from '../ledger/ledger.ts';

export type Environment = Partner['environment'];

export const DEFAULT_PRICE_TIERS = [
  { id: 'standard', name: 'Standard', price_factor_bps: 10_000, min_monthly_volume: 0 },
  { id: 'silver', name: 'Silver', price_factor_bps: 9_500, min_monthly_volume: 5_000 * 10_000 },
  { id: 'gold', name: 'Gold', price_factor_bps: 9_000, min_monthly_volume: 25_000 * 10_000 },
  { id: 'platinum', name: 'Platinum', price_factor_bps: 8_500, min_monthly_volume: 100_000 * 10_000 },
];

export async function ensurePriceTiers(db: Kysely<DB>): Promise<void> {
  await db.insertInto('price_tiers').values(DEFAULT_PRICE_TIERS).onConflict((oc) => oc.column('id').doNothing()).execute();
}

/** What a caller gets once, at creation: the SecretKey is never shown again. */
export interface IssuedKey {
  keyId: string;
  accessCode: string;
  secretKey: string;
}

export interface CreatePartnerInput {
  name: string;
  environment?: Environment;
  currency?: string;
  priceTierId?: string;
  depositMinor?: number;
  rateLimitPerSecond?: number | null;
}

export class Partners {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly secrets: SecretBox,
    private readonly keyRollGraceMs: number,
  ) {}

  /** `alsoInTransaction` runs in the creating transaction (e.g. to add the partner's console user with it). */
  async create(input: CreatePartnerInput, nowMs: number, alsoInTransaction?: (trx: Kysely<DB>, partner: Partner) => Promise<void>): Promise<{ partner: Partner; key: IssuedKey }> {
    const name = input.name?.trim();
    if (!name || name.length > 200) throw new DomainError('invalid_argument', 'name must be 1..200 characters');
    const environment = input.environment ?? 'sandbox';
    if (environment !== 'sandbox' && environment !== 'live') throw new DomainError('invalid_argument', 'environment must be sandbox or live');
    const currency = (input.currency ?? 'USD').toUpperCase();
    if (!/^[A-Z]{3}$/.test(currency)) throw new DomainError('invalid_argument', 'currency must be a 3-letter ISO 4217 code');
    const tierId = input.priceTierId ?? 'standard';
    const deposit = input.depositMinor ?? 0;
    if (!Number.isSafeInteger(deposit) || deposit < 0) throw new DomainError('invalid_argument', 'deposit must be a non-negative amount');

    return this.db.transaction().execute(async (trx) => {
      const tier = await trx.selectFrom('price_tiers').select('id').where('id', '=', tierId).executeTakeFirst();
      if (!tier) throw new DomainError('invalid_argument', `price tier ${tierId} does not exist`);
      const partner: Partner = {
        id: newId('ptn', nowMs),
        name,
        environment,
        currency,
        price_tier_id: tierId,
        status: 'active',
        rate_limit_per_second: input.rateLimitPerSecond ?? null,
        ip_blocklist: '[]',
        clock_offset_ms: 0,
        last_deposit_amount: 0,
        webhook_url: null,
        webhook_secret_enc: null,
        created_at: nowMs,
        updated_at: nowMs,
        traffic_mode: 0,
      };
      await trx.insertInto('partners').values(partner).execute();
      await ensureWallet(trx, partner.id, currency, nowMs);
      if (deposit > 0) {
        await postTransfer(trx, { idempotencyId: `initial-deposit:${partner.id}`, partnerId: partner.id, kind: 'deposit', amountMinor: deposit, currency, memo: 'initial deposit' }, nowMs);
        await trx.updateTable('partners').set({ last_deposit_amount: deposit }).where('id', '=', partner.id).execute();
        partner.last_deposit_amount = deposit;
      }
      const key = await this.insertKey(trx, partner.id, { label: 'default' }, nowMs);
      if (alsoInTransaction) await alsoInTransaction(trx, partner);
      return { partner, key };
    });
  }

  async get(partnerId: string): Promise<Partner> {
    const partner = await this.db.selectFrom('partners').selectAll().where('id', '=', partnerId).executeTakeFirst();
    if (!partner) throw new DomainError('not_found', `partner ${partnerId} does not exist`);
    return partner;
  }

  async list(): Promise<Partner[]> {
    return this.db.selectFrom('partners').selectAll().orderBy('created_at').execute();
  }

  async deposit(partnerId: string, amountMinor: number, idempotencyId: string, nowMs: number, memo?: string) {
    return this.db.transaction().execute((trx) => depositIn(trx, partnerId, amountMinor, idempotencyId, nowMs, memo));
  }

  async update(partnerId: string, changes: Partial<Pick<Partner, 'status' | 'rate_limit_per_second' | 'price_tier_id' | 'name'>> & { ipBlocklist?: string[] }, nowMs: number) {
    const { ipBlocklist, ...rest } = changes;
    const set: Partial<Partner> = { ...rest, updated_at: nowMs };
    if (ipBlocklist) set.ip_blocklist = JSON.stringify(ipBlocklist);
    const result = await this.db.updateTable('partners').set(set).where('id', '=', partnerId).executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) throw new DomainError('not_found', `partner ${partnerId} does not exist`);
    return this.get(partnerId);
  }

  async createKey(partnerId: string, options: { label?: string; signatureRequired?: boolean }, nowMs: number): Promise<IssuedKey> {
    await this.get(partnerId);
    return this.db.transaction().execute((trx) => this.insertKey(trx, partnerId, options, nowMs));
  }

  /** Issues a new key and lets the old one keep working for the grace period, so partners can redeploy. */
  async rollKey(keyId: string, nowMs: number): Promise<{ key: IssuedKey; oldKeyExpiresAt: number }> {
    return this.db.transaction().execute(async (trx) => {
      const old = await trx.selectFrom('api_keys').selectAll().where('id', '=', keyId).executeTakeFirst();
      if (!old || old.status !== 'active' || (old.expires_at !== null && old.expires_at <= nowMs)) {
        throw new DomainError('not_found', `key ${keyId} does not exist or is no longer active`);
      }
      const expiresAt = nowMs + this.keyRollGraceMs;
      await trx.updateTable('api_keys').set({ expires_at: expiresAt }).where('id', '=', keyId).execute();
      const key = await this.insertKey(trx, old.partner_id, { label: old.label, signatureRequired: old.signature_required === 1 }, nowMs);
      return { key, oldKeyExpiresAt: expiresAt };
    });
  }

  async revokeKey(keyId: string, nowMs: number): Promise<void> {
    const result = await this.db
      .updateTable('api_keys')
      .set({ status: 'revoked', revoked_at: nowMs })
      .where('id', '=', keyId)
      .where('status', '=', 'active')
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) throw new DomainError('not_found', `key ${keyId} does not exist or is already revoked`);
  }

  async setSignatureRequired(keyId: string, required: boolean): Promise<void> {
    const result = await this.db.updateTable('api_keys').set({ signature_required: required ? 1 : 0 }).where('id', '=', keyId).executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) throw new DomainError('not_found', `key ${keyId} does not exist`);
  }

  async listKeys(partnerId: string): Promise<Array<Omit<ApiKeyTable, 'secret_enc' | 'access_code_hash'>>> {
    return this.db
      .selectFrom('api_keys')
      .select(['id', 'partner_id', 'access_code_hint', 'label', 'signature_required', 'status', 'expires_at', 'created_at', 'revoked_at', 'last_used_at'])
      .where('partner_id', '=', partnerId)
      .orderBy('created_at')
      .execute();
  }

  /** Finds a key by its AccessCode (by hash) and returns it with its decrypted SecretKey, or null. */
  async findByAccessCode(accessCode: string, nowMs: number): Promise<{ key: ApiKeyTable; partner: Partner; secretKey: string } | null> {
    const key = await this.db.selectFrom('api_keys').selectAll().where('access_code_hash', '=', sha256Hex(accessCode)).executeTakeFirst();
    if (!key || key.status !== 'active' || (key.expires_at !== null && key.expires_at <= nowMs)) return null;
    const partner = await this.db.selectFrom('partners').selectAll().where('id', '=', key.partner_id).executeTakeFirst();
    if (!partner) return null;
    const { secretKey } = JSON.parse(this.secrets.open(key.secret_enc)) as { secretKey: string };
    return { key, partner, secretKey };
  }

  /** Reveals a key's credentials (operator use only: the demo partner's banner, `esimhub key show`). */
  async revealKey(keyId: string): Promise<IssuedKey | null> {
    const key = await this.db.selectFrom('api_keys').select(['id', 'secret_enc']).where('id', '=', keyId).executeTakeFirst();
    if (!key) return null;
    const { accessCode, secretKey } = JSON.parse(this.secrets.open(key.secret_enc)) as { accessCode: string; secretKey: string };
    return { keyId: key.id, accessCode, secretKey };
  }

  private async insertKey(trx: Kysely<DB>, partnerId: string, options: { label?: string; signatureRequired?: boolean }, nowMs: number): Promise<IssuedKey> {
    const accessCode = randomHex(16);
    const secretKey = randomHex(16);
    const keyId = newId('key', nowMs);
    await trx
      .insertInto('api_keys')
      .values({
        id: keyId,
        partner_id: partnerId,
        access_code_hash: sha256Hex(accessCode),
        access_code_hint: accessCode.slice(0, 6),
        secret_enc: this.secrets.seal(JSON.stringify({ accessCode, secretKey })),
        label: (options.label ?? '').slice(0, 100),
        signature_required: options.signatureRequired ? 1 : 0,
        status: 'active',
        expires_at: null,
        created_at: nowMs,
        revoked_at: null,
        last_used_at: null,
      })
      .execute();
    return { keyId, accessCode, secretKey };
  }
}

/** A deposit into a partner's wallet inside the caller's transaction (idempotent by `idempotencyId`). */
export async function depositIn(trx: Transaction<DB>, partnerId: string, amountMinor: number, idempotencyId: string, nowMs: number, memo?: string) {
  const partner = await trx.selectFrom('partners').select(['id', 'currency']).where('id', '=', partnerId).executeTakeFirst();
  if (!partner) throw new DomainError('not_found', `partner ${partnerId} does not exist`);
  const result = await postTransfer(trx, { idempotencyId, partnerId, kind: 'deposit', amountMinor, currency: partner.currency, memo: memo ?? 'deposit' }, nowMs);
  if (result.created) await trx.updateTable('partners').set({ last_deposit_amount: amountMinor, updated_at: nowMs }).where('id', '=', partnerId).execute();
  return result;
}
