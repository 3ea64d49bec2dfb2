import { createHmac } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DB } from '../../../store/schema.ts';
import type { CatalogService } from '../../../domain/catalog/service.ts';
import type { Partners } from '../../../domain/partners/partners.ts';
import { EsimGoViews } from '../../../domain/inventory/views.ts';
import { RenderedWebhook, type DeliverableEvent } from '../../../workers/dispatch.ts';
import { BundleNames, money } from './names.ts';
import { iso } from './render.ts';

/**
 * eSIM Go callbacks: domain events rendered in eSIM Go's payload shapes and, for callback version V3,
 * signed with `X-Signature-SHA256` = base64(HMAC-SHA256(raw body, the partner's API key)). Delivered by
 * the durable dispatcher like every dialect's webhooks; partners opt in with PUT /v2.x/organisation/callback.
 *
 *   esim.data_usage           → {iccid, alertType: "Utilisation", bundle: {…}}
 *   esim.status IN_USE        → {iccid, alertType: "FirstUse", bundle: {…}}
 *   esim.status USED_UP       → {iccid, alertType: "Utilisation", bundle: {…, remainingQuantity: 0}}
 *   esim.smdp INSTALLATION    → {iccid, alertType: "FirstAttachment"}
 *   esim.status REVOKE/CANCEL → {event: "esim.deleted", iccid, date}
 *   balance.low               → {alertType: "LowBalance", balanceInfo: {balance, threshold, thresholdPercentRemaining}}
 * Other events have no eSIM Go notification.
 */
export function esimGoSignature(body: string, apiKey: string): string {
  return createHmac('sha256', apiKey).update(body).digest('base64');
}

export function makeEsimGoCallbacks(db: Kysely<DB>, partners: Partners, catalog: CatalogService) {
  const views = new EsimGoViews(db);
  const names = new BundleNames(catalog);

  async function bundleFor(esimId: string, v3: boolean, remainingZero = false) {
    const esim = await db.selectFrom('esims').selectAll().where('id', '=', esimId).executeTakeFirst();
    if (!esim) return null;
    const bundles = await views.bundles(esim);
    const b = bundles.find((x) => x.state === 'active') ?? bundles.find((x) => x.state === 'depleted') ?? bundles[0];
    if (!b) return { esim, bundle: null };
    const pkg = catalog.all().find((p) => p.package_code === b.package_code);
    const bundle: Record<string, unknown> = {};
    if (v3) {
      bundle.id = b.id;
      bundle.reference = b.assignment_reference;
    }
    bundle.name = names.nameOf(b.package_code);
    if (v3) bundle.description = pkg?.description ?? '';
    bundle.initialQuantity = Number(b.volume);
    bundle.remainingQuantity = remainingZero ? 0 : Math.max(0, Number(b.volume) - Number(b.used_bytes));
    bundle.startTime = iso(b.activated_at) ?? null;
    bundle.endTime = iso(b.expires_at) ?? null;
    if (v3) bundle.unlimited = b.data_type !== 1;
    return { esim, bundle };
  }

  async function body(event: DeliverableEvent, v3: boolean): Promise<Record<string, unknown> | null> {
    const p = event.payload as Record<string, unknown>;
    const esimId = typeof p.esimId === 'string' ? p.esimId : event.subject;
    switch (event.type) {
      case 'esim.data_usage': {
        const found = esimId ? await bundleFor(esimId, v3) : null;
        return found ? { iccid: String(p.iccid), alertType: 'Utilisation', bundle: found.bundle } : null;
      }
      case 'esim.status': {
        const status = p.esimStatus;
        if (status === 'IN_USE' || status === 'USED_UP') {
          const found = esimId ? await bundleFor(esimId, v3, status === 'USED_UP') : null;
          if (!found) return null;
          return { iccid: String(p.iccid), alertType: status === 'IN_USE' ? 'FirstUse' : 'Utilisation', bundle: found.bundle };
        }
        if (status === 'REVOKE' || status === 'CANCEL') return { date: iso(event.occurredAtMs), event: 'esim.deleted', iccid: String(p.iccid) };
        return null;
      }
      case 'esim.smdp':
        return p.smdpStatus === 'INSTALLATION' ? { alertType: 'FirstAttachment', iccid: String(p.iccid) } : null;
      case 'balance.low': {
        const balance = Number(p.balance ?? 0);
        const threshold = Number(p.lastDeposit ?? 0);
        return { alertType: 'LowBalance', balanceInfo: { balance: money(balance), threshold: money(threshold), thresholdPercentRemaining: threshold > 0 ? Number(((balance * 100) / threshold).toFixed(3)) : 0 } };
      }
      default:
        return null;
    }
  }

  /** Which dialect a partner's webhooks speak: eSIM Go once it saved a callback URL here, else eSIM Access. */
  async function dialectOf(partner: { id: string }): Promise<string> {
    const settings = await views.settings(partner.id);
    return settings?.dialect ?? 'esimaccess';
  }

  async function renderer(event: DeliverableEvent): Promise<RenderedWebhook | null> {
    const settings = await views.settings(event.partnerId);
    const v3 = (settings?.callback_version ?? 'V3') === 'V3';
    const rendered = await body(event, v3);
    if (!rendered) return null;
    const raw = JSON.stringify(rendered);
    if (!v3) return new RenderedWebhook(raw);
    let apiKey: string | null = null;
    if (settings?.key_id) {
      const row = await db.selectFrom('api_keys').select(['status']).where('id', '=', settings.key_id).executeTakeFirst();
      if (row?.status === 'active') apiKey = (await partners.revealKey(settings.key_id))?.accessCode ?? null;
    }
    if (!apiKey) {
      const key = await db.selectFrom('api_keys').select('id').where('partner_id', '=', event.partnerId).where('status', '=', 'active').orderBy('created_at').executeTakeFirst();
      if (key) apiKey = (await partners.revealKey(key.id))?.accessCode ?? null;
    }
    return new RenderedWebhook(raw, apiKey ? { 'x-signature-sha256': esimGoSignature(raw, apiKey) } : {});
  }

  return { renderer, dialectOf };
}
