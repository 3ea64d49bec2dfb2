import type { Kysely } from 'kysely';
import type { DB, Partner } from '../../store/schema.ts';
import type { Partners } from '../partners/partners.ts';
import type { Pricing } from '../pricing/pricing.ts';
import { LIST_CURRENCY } from '../pricing/pricing.ts';

/** Test credit a new sandbox twin starts with: 1,000.00 in the list currency, converted to the partner's. */
export const TWIN_TEST_CREDIT_LIST_MINOR = 1000 * 10_000;

/**
 * Sandbox twins: every live partner has a sandbox account reached with the live partner's own API keys through
 * the sandbox base URL. The twin is an ordinary sandbox partner (same currency and assigned tier, test credit),
 * created on first use and linked in `sandbox_twins`. A sandbox partner is its own sandbox.
 */
export class SandboxTwins {
  private readonly creating = new Map<string, Promise<Partner>>();

  constructor(
    private readonly db: Kysely<DB>,
    private readonly partners: Partners,
    private readonly pricing: Pricing,
  ) {}

  /** The sandbox account for this partner, read fresh (its clock may have moved). */
  async sandboxOf(partner: Partner, nowMs: number): Promise<Partner> {
    if (partner.environment === 'sandbox') return partner;
    const twinId = await this.existingTwinOf(partner.id);
    if (twinId) return this.partners.get(twinId);
    let pending = this.creating.get(partner.id);
    if (!pending) {
      pending = this.create(partner, nowMs).finally(() => this.creating.delete(partner.id));
      this.creating.set(partner.id, pending);
    }
    return pending;
  }

  /** The sandbox twin a live partner already has (none is made here), or null. */
  async existingTwinOf(livePartnerId: string): Promise<string | null> {
    const link = await this.db.selectFrom('sandbox_twins').select('sandbox_partner_id').where('live_partner_id', '=', livePartnerId).executeTakeFirst();
    return link?.sandbox_partner_id ?? null;
  }

  /** The live partner a sandbox twin belongs to, or null. */
  async liveOf(sandboxPartnerId: string): Promise<string | null> {
    const link = await this.db.selectFrom('sandbox_twins').select('live_partner_id').where('sandbox_partner_id', '=', sandboxPartnerId).executeTakeFirst();
    return link?.live_partner_id ?? null;
  }

  private async create(live: Partner, nowMs: number): Promise<Partner> {
    let credit = TWIN_TEST_CREDIT_LIST_MINOR;
    if (live.currency !== LIST_CURRENCY) credit = await this.pricing.convert(TWIN_TEST_CREDIT_LIST_MINOR, LIST_CURRENCY, live.currency).catch(() => TWIN_TEST_CREDIT_LIST_MINOR);
    const { partner } = await this.partners.create({ name: `${live.name} (sandbox)`.slice(0, 200), environment: 'sandbox', currency: live.currency, priceTierId: live.price_tier_id, depositMinor: credit }, nowMs);
    await this.db.insertInto('sandbox_twins').values({ live_partner_id: live.id, sandbox_partner_id: partner.id, created_at: nowMs }).onConflict((oc) => oc.column('live_partner_id').doNothing()).execute();
    // Another process may have linked its own twin first: the linked one wins (ours stays unused).
    const link = await this.db.selectFrom('sandbox_twins').select('sandbox_partner_id').where('live_partner_id', '=', live.id).executeTakeFirstOrThrow();
    return this.partners.get(link.sandbox_partner_id);
  }
}
