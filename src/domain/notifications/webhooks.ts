import type { Kysely } from 'kysely';
import type { DB, WebhookAttemptTable, WebhookDeliveryStatus, WebhookDeliveryTable } from '../../store/schema.ts';
import type { SecretBox } from '../../lib/secrets.ts';
import { newWebhookSecret } from '../../lib/standard-webhooks.ts';
import { DomainError } from '../errors.ts';

/**
 * A partner's webhook endpoint and signing secrets, and the operator's view of deliveries.
 *
 * The signing secret is created the first time a webhook is saved and kept (sealed) in
 * partners.webhook_secret_enc. A rotation keeps the previous secret signing alongside the new one for
 * `rotationGraceMs`, so receivers can switch without losing a message.
 */
export interface WebhookSecrets {
  current: string;
  previous?: string;
  /** Until when the previous secret still signs (ms). */
  previousUntil?: number;
}

export const DELIVERY_STATUSES: WebhookDeliveryStatus[] = ['pending', 'delivered', 'failed', 'dead'];

export function openWebhookSecrets(box: SecretBox, sealed: string | null): WebhookSecrets | null {
  if (!sealed) return null;
  const plain = box.open(sealed);
  if (plain.startsWith('{')) return JSON.parse(plain) as WebhookSecrets;
  return { current: plain };
}

/** The secrets that sign a request sent now: the current one, and the previous one during its grace period. */
export function signingSecrets(secrets: WebhookSecrets, nowMs: number): string[] {
  const list = [secrets.current];
  if (secrets.previous && (secrets.previousUntil ?? 0) > nowMs) list.push(secrets.previous);
  return list;
}

export class WebhookEndpoints {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly box: SecretBox,
    private readonly rotationGraceMs = 24 * 3600_000,
  ) {}

  private async partnerRow(partnerId: string) {
    const row = await this.db.selectFrom('partners').select(['id', 'environment', 'webhook_url', 'webhook_secret_enc']).where('id', '=', partnerId).executeTakeFirst();
    if (!row) throw new DomainError('not_found', `partner ${partnerId} does not exist`);
    return row;
  }

  async get(partnerId: string): Promise<{ url: string | null; secrets: WebhookSecrets | null }> {
    const row = await this.partnerRow(partnerId);
    return { url: row.webhook_url, secrets: openWebhookSecrets(this.box, row.webhook_secret_enc) };
  }

  /** The partner's secrets, or fresh ones (not stored yet: `save` stores them with the URL). */
  async secretsForSave(partnerId: string): Promise<WebhookSecrets> {
    return (await this.get(partnerId)).secrets ?? { current: newWebhookSecret() };
  }

  /** Sets (or with null clears) the endpoint; the secrets are kept when the endpoint is cleared. */
  async save(partnerId: string, url: string | null, secrets: WebhookSecrets | null, nowMs: number): Promise<void> {
    const set: { webhook_url: string | null; updated_at: number; webhook_secret_enc?: string } = { webhook_url: url, updated_at: nowMs };
    if (secrets) set.webhook_secret_enc = this.box.seal(JSON.stringify(secrets));
    const result = await this.db.updateTable('partners').set(set).where('id', '=', partnerId).executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) throw new DomainError('not_found', `partner ${partnerId} does not exist`);
  }

  /** The current secret, creating (and storing) one if the partner has none yet. */
  async secret(partnerId: string): Promise<WebhookSecrets> {
    const row = await this.partnerRow(partnerId);
    const existing = openWebhookSecrets(this.box, row.webhook_secret_enc);
    if (existing) return existing;
    const created: WebhookSecrets = { current: newWebhookSecret() };
    // Only the first writer's secret is kept if two create one at once.
    await this.db.updateTable('partners').set({ webhook_secret_enc: this.box.seal(JSON.stringify(created)) }).where('id', '=', partnerId).where('webhook_secret_enc', 'is', null).execute();
    return (await this.get(partnerId)).secrets!;
  }

  async rotateSecret(partnerId: string, nowMs: number): Promise<{ secret: string; previousValidUntil: number | null }> {
    const old = await this.secret(partnerId);
    const next: WebhookSecrets = { current: newWebhookSecret(), previous: old.current, previousUntil: nowMs + this.rotationGraceMs };
    await this.db.updateTable('partners').set({ webhook_secret_enc: this.box.seal(JSON.stringify(next)), updated_at: nowMs }).where('id', '=', partnerId).execute();
    return { secret: next.current, previousValidUntil: this.rotationGraceMs > 0 ? next.previousUntil! : null };
  }

  async listDeliveries(partnerId: string, options: { status?: WebhookDeliveryStatus; limit?: number } = {}): Promise<Array<WebhookDeliveryTable & { event_type: string }>> {
    let query = this.db
      .selectFrom('webhook_deliveries')
      .innerJoin('events', 'events.id', 'webhook_deliveries.event_id')
      .selectAll('webhook_deliveries')
      .select('events.type as event_type')
      .where('webhook_deliveries.partner_id', '=', partnerId);
    if (options.status) query = query.where('webhook_deliveries.status', '=', options.status);
    return query
      .orderBy('webhook_deliveries.event_seq', 'desc')
      .limit(Math.max(1, Math.min(options.limit ?? 50, 10_000)))
      .execute();
  }

  async getDelivery(deliveryId: string): Promise<WebhookDeliveryTable> {
    const row = await this.db.selectFrom('webhook_deliveries').selectAll().where('id', '=', deliveryId).executeTakeFirst();
    if (!row) throw new DomainError('not_found', `webhook delivery ${deliveryId} does not exist`);
    return row;
  }

  async listAttempts(deliveryId: string): Promise<WebhookAttemptTable[]> {
    await this.getDelivery(deliveryId);
    return this.db.selectFrom('webhook_attempts').selectAll().where('delivery_id', '=', deliveryId).orderBy('attempt_no').execute();
  }

  /**
   * Queues a delivery again, whatever its status, to be sent at once with the same event id (so the same
   * webhook-id and notifyId); it starts a fresh retry cycle.
   */
  async resend(deliveryId: string, nowMs: number): Promise<WebhookDeliveryTable> {
    const result = await this.db
      .updateTable('webhook_deliveries')
      .set({ status: 'pending', next_attempt_at: nowMs, locked_by: null, locked_until: null, cycle_started_at: nowMs, cycle_attempts: 0, updated_at: nowMs })
      .where('id', '=', deliveryId)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) throw new DomainError('not_found', `webhook delivery ${deliveryId} does not exist`);
    return this.getDelivery(deliveryId);
  }
}
