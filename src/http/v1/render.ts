import type { CatalogService } from '../../domain/catalog/service.ts';
import type { CatalogLocation } from '../../domain/catalog/query.ts';
import type { PricedLine } from '../../domain/ordering/ordering.ts';
import type { Bundle, Esim, LedgerTransferTable, OperatorTable, OrderItemTable, OrderTable, PackageTable, SmsMessageTable, UsageRecordTable, WebhookDeliveryTable, ApiKeyTable } from '../../store/schema.ts';
import { walletAccountId } from '../../domain/ledger/ledger.ts';
import { LIST_CURRENCY, tierPrice } from '../../domain/pricing/pricing.ts';
import { effectiveExpiry, qrCodeUrl, shortUrl } from '../dialects/esimaccess/render-esim.ts';
import type { OrderWire, EsimWire, PackageWire } from './schemas.ts';

/** Domain rows → /v1 wire objects (snake_case, prefixed ids, RFC 3339 times). */
export const iso = (ms: number | null | undefined): string | null => (ms === null || ms === undefined ? null : new Date(Number(ms)).toISOString());
const isoNow = (ms: number) => new Date(Number(ms)).toISOString();

/** A list price (in the list currency) at a tier factor, rounded by the one pricing rule. */
export function partnerPrice(listPriceMinor: number, tierFactorBps: number): number {
  return tierPrice(listPriceMinor, tierFactorBps, LIST_CURRENCY);
}

interface NetworkEntry {
  locationName: string;
  locationCode?: string;
  operatorList: Array<{ operatorName: string; networkType: string }>;
}

/** `priceOf` is the partner's price function (tier, monthly standing, currency): the price an order charges. */
export function renderPackage(p: PackageTable, priceOf: (pkg: PackageTable) => number, currency: string): PackageWire {
  let networks: NetworkEntry[] = [];
  try {
    networks = JSON.parse(p.networks_json) as NetworkEntry[];
  } catch {
    networks = [];
  }
  return {
    object: 'package',
    id: p.package_code,
    slug: p.slug,
    name: p.name,
    type: p.type === 'TOPUP' ? 'topup' : 'base',
    price: priceOf(p),
    retail_price: Number(p.retail_price),
    currency,
    volume_bytes: Number(p.volume),
    duration: p.duration,
    duration_unit: p.duration_unit,
    data_type: p.data_type,
    day_pass: p.is_daypass === 1,
    location_code: p.location_code,
    location_name: p.location,
    sms_supported: p.sms_status === 1 || p.sms_status === 2,
    active_type: p.active_type,
    unused_valid_days: p.unused_valid_time,
    speed: p.speed,
    topup_group: p.topup_group,
    networks: networks.map((n) => ({
      location_code: n.locationCode ?? '',
      location_name: n.locationName,
      operators: (n.operatorList ?? []).map((o) => ({ name: o.operatorName, network_type: o.networkType })),
    })),
  };
}

export function renderLocation(l: CatalogLocation) {
  return { object: 'location' as const, code: l.code, name: l.name, type: l.type === 2 ? ('region' as const) : ('country' as const), region_group: l.regionGroup, countries: l.members };
}

export function renderOperator(o: OperatorTable) {
  return { object: 'operator' as const, id: o.id, country_code: o.country_code, name: o.name, mcc: o.mcc, mnc: o.mnc, network_types: o.network_types };
}

export function renderOrder(order: OrderTable, items: OrderItemTable[]): OrderWire {
  return {
    object: 'order',
    id: order.id,
    order_no: order.order_no,
    transaction_id: order.transaction_id,
    status: order.status,
    amount: Number(order.amount),
    currency: order.currency,
    profile_count: order.total_count,
    allocated_count: order.allocated_count,
    lines: items.map((i) => ({ package_id: i.package_code, count: i.count, period_num: i.period_num, unit_price: Number(i.unit_price), amount: Number(i.line_amount) })),
    failure_reason: order.failure_reason,
    created_at: isoNow(order.created_at),
    completed_at: iso(order.completed_at),
  };
}

export function renderPricedLines(lines: PricedLine[]) {
  return lines.map((l) => ({ package_id: l.pkg.package_code, count: l.count, period_num: l.periodNum, unit_price: l.unitPriceMinor, amount: l.lineAmountMinor }));
}

export function renderEsim(esim: Esim, bundles: Bundle[], orderNo: string, publicBaseUrl: string): EsimWire {
  return {
    object: 'esim',
    id: esim.id,
    iccid: esim.iccid,
    esim_tran_no: esim.esim_tran_no,
    order_id: esim.order_id,
    order_no: orderNo,
    transaction_id: esim.transaction_id,
    package_id: esim.package_code,
    status: esim.esim_status,
    smdp_status: esim.smdp_status,
    activation_code: esim.ac,
    smdp_address: esim.smdp_address,
    matching_id: esim.matching_id,
    confirmation_code: esim.confirmation_code,
    qr_code_url: qrCodeUrl(publicBaseUrl, esim),
    install_url: shortUrl(publicBaseUrl, esim),
    imsi: esim.imsi,
    msisdn: esim.msisdn,
    eid: esim.eid,
    apn: esim.apn,
    sms_supported: esim.sms_status === 1 || esim.sms_status === 2,
    data_type: esim.data_type,
    total_volume_bytes: Number(esim.total_volume),
    used_bytes: Number(esim.order_usage),
    total_duration: esim.total_duration,
    duration_unit: esim.duration_unit,
    install_by: isoNow(esim.download_deadline),
    activated_at: iso(esim.activate_time),
    expires_at: esim.activate_time === null ? null : iso(effectiveExpiry(esim)),
    created_at: isoNow(esim.created_at),
    bundles: bundles.map((b) => ({
      id: b.id,
      package_id: b.package_code,
      kind: b.kind === 'TOPUP' ? ('topup' as const) : ('base' as const),
      state: b.state,
      volume_bytes: Number(b.volume),
      used_bytes: Number(b.used_bytes),
      duration: b.duration,
      duration_unit: b.duration_unit,
      activated_at: iso(b.activated_at),
      expires_at: iso(b.expires_at),
      created_at: isoNow(b.created_at),
    })),
  };
}

export function renderUsageRecord(r: UsageRecordTable) {
  return { object: 'usage_record' as const, id: r.record_key, bytes: Number(r.bytes), period_start: iso(r.period_start), period_end: iso(r.period_end), received_at: isoNow(r.received_at) };
}

export function renderSms(m: Pick<SmsMessageTable, 'id' | 'direction' | 'sender' | 'body' | 'created_at'>) {
  return { object: 'sms' as const, id: m.id, direction: m.direction, sender: m.sender, body: m.body, created_at: isoNow(m.created_at) };
}

export function renderTransaction(t: LedgerTransferTable & { seq: number }) {
  const wallet = walletAccountId(t.partner_id);
  const amount = Number(t.amount);
  return {
    object: 'transaction' as const,
    id: t.id,
    kind: t.kind,
    amount: t.credit_account_id === wallet ? amount : -amount,
    currency: t.currency,
    reference: t.reference,
    memo: t.memo,
    created_at: isoNow(t.created_at),
  };
}

export function renderDelivery(d: WebhookDeliveryTable & { event_type: string }) {
  return {
    object: 'webhook_delivery' as const,
    id: d.id,
    event_id: d.event_id,
    event_type: d.event_type,
    url: d.url,
    status: d.status,
    attempts: d.attempts,
    last_status_code: d.last_status_code,
    last_error: d.last_error,
    next_attempt_at: d.status === 'pending' ? iso(d.next_attempt_at) : null,
    delivered_at: iso(d.delivered_at),
    created_at: isoNow(d.created_at),
  };
}

export function renderApiKey(k: Omit<ApiKeyTable, 'secret_enc' | 'access_code_hash'>) {
  return {
    object: 'api_key' as const,
    id: k.id,
    label: k.label,
    access_code_hint: k.access_code_hint,
    status: k.status,
    signature_required: k.signature_required === 1,
    expires_at: iso(k.expires_at),
    created_at: isoNow(k.created_at),
    revoked_at: iso(k.revoked_at),
  };
}

/** The one webhook endpoint a partner has today, as a resource: its id is derived from the partner id. */
export function webhookEndpointId(partnerId: string): string {
  return `we_${partnerId.replace(/^ptn_/, '')}`;
}

export type { CatalogService };
