import type { Kysely } from 'kysely';
import type { Bundle, DB, Esim, OrderItemTable, OrderTable } from '../../store/schema.ts';
import type { EsimGoOrderTable, EsimGoSettingsTable } from '../../store/tables/esimgo.ts';
import { DomainError } from '../errors.ts';

/**
 * Read models and small settings the eSIM Go dialect needs: eSIMs with their customer reference, bundles
 * with the reference that put them there, orders by reference (eSIM Go's own, or any core order by its
 * orderNo, so orders placed in other dialects show too), and per-partner callback settings.
 */
export interface EsimView extends Esim {
  customer_ref: string;
  deleted: boolean;
}

export interface BundleView extends Bundle {
  reference: string;
  assignment_reference: string;
  inventory_id: string | null;
}

export class EsimGoViews {
  constructor(private readonly db: Kysely<DB>) {}

  private async withMeta(rows: Esim[]): Promise<EsimView[]> {
    if (!rows.length) return [];
    const meta = await this.db.selectFrom('esimgo_esims').selectAll().where('esim_id', 'in', rows.map((r) => r.id)).execute();
    const byId = new Map(meta.map((m) => [m.esim_id, m]));
    return rows.map((r) => ({ ...r, customer_ref: byId.get(r.id)?.customer_ref ?? '', deleted: byId.get(r.id)?.deleted_at != null }));
  }

  async listEsims(partnerId: string, q: { page: number; perPage: number; direction: 'asc' | 'desc'; filterBy?: string; filter?: string }): Promise<{ rows: EsimView[]; total: number }> {
    let base = this.db
      .selectFrom('esims')
      .leftJoin('esimgo_esims', 'esimgo_esims.esim_id', 'esims.id')
      .where('esims.partner_id', '=', partnerId)
      .where('esimgo_esims.deleted_at', 'is', null);
    if (q.filterBy && q.filter !== undefined) {
      const value = q.filter.replace(/^(eq|like):/, '');
      if (q.filterBy === 'iccid') base = base.where('esims.iccid', q.filter.startsWith('eq:') ? '=' : 'like', q.filter.startsWith('eq:') ? value : `%${value}%`);
      else if (q.filterBy === 'customerRef') base = base.where('esimgo_esims.customer_ref', q.filter.startsWith('eq:') ? '=' : 'like', q.filter.startsWith('eq:') ? value : `%${value}%`);
      else if (q.filterBy === 'assignedDate' || q.filterBy === 'actionDate') {
        const m = /^(eq|lt|lte|gt|gte):(.*)$/.exec(q.filter);
        const op = ({ eq: '=', lt: '<', lte: '<=', gt: '>', gte: '>=' } as const)[(m?.[1] ?? 'eq') as 'eq'];
        const ms = Date.parse(m ? m[2] : q.filter);
        if (Number.isNaN(ms)) throw new DomainError('invalid_argument', `filter must be a date for ${q.filterBy}`);
        base = base.where(q.filterBy === 'assignedDate' ? 'esims.created_at' : 'esims.updated_at', op, ms);
      }
    }
    const count = await base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const rows = await base.selectAll('esims').orderBy('esims.iccid', q.direction).limit(q.perPage).offset((q.page - 1) * q.perPage).execute();
    return { rows: await this.withMeta(rows), total: Number(count.n) };
  }

  /** The partner's eSIM by ICCID (newest if reused); a deleted one is not found. */
  async esim(partnerId: string, iccid: string): Promise<EsimView> {
    const row = await this.db.selectFrom('esims').selectAll().where('partner_id', '=', partnerId).where('iccid', '=', iccid).orderBy('created_at', 'desc').limit(1).executeTakeFirst();
    const [view] = row ? await this.withMeta([row]) : [];
    if (!view || view.deleted) throw new DomainError('esim_not_found', `ICCID ${iccid} not found`);
    return view;
  }

  async setCustomerRef(partnerId: string, esimId: string, customerRef: string, nowMs: number): Promise<void> {
    await this.db
      .insertInto('esimgo_esims')
      .values({ esim_id: esimId, partner_id: partnerId, customer_ref: customerRef, branding_id: null, deleted_at: null, updated_at: nowMs })
      .onConflict((oc) => oc.column('esim_id').doUpdateSet({ customer_ref: customerRef, updated_at: nowMs }))
      .execute();
  }

  async setBranding(partnerId: string, esimIds: string[], brandingId: string, nowMs: number): Promise<void> {
    for (const esimId of esimIds) {
      await this.db
        .insertInto('esimgo_esims')
        .values({ esim_id: esimId, partner_id: partnerId, customer_ref: '', branding_id: brandingId, deleted_at: null, updated_at: nowMs })
        .onConflict((oc) => oc.column('esim_id').doUpdateSet({ branding_id: brandingId, updated_at: nowMs }))
        .execute();
    }
  }

  async branding(esimId: string): Promise<string | null> {
    return (await this.db.selectFrom('esimgo_esims').select('branding_id').where('esim_id', '=', esimId).executeTakeFirst())?.branding_id ?? null;
  }

  async markDeleted(partnerId: string, esimId: string, nowMs: number): Promise<void> {
    await this.db
      .insertInto('esimgo_esims')
      .values({ esim_id: esimId, partner_id: partnerId, customer_ref: '', branding_id: null, deleted_at: nowMs, updated_at: nowMs })
      .onConflict((oc) => oc.column('esim_id').doUpdateSet({ deleted_at: nowMs, updated_at: nowMs }))
      .execute();
  }

  /** Bundles on an eSIM, oldest first, each with the reference that put it there. */
  async bundles(esim: Esim): Promise<BundleView[]> {
    const bundles = await this.db.selectFrom('bundles').selectAll().where('esim_id', '=', esim.id).orderBy('seq').execute();
    if (!bundles.length) return [];
    const refs = await this.db.selectFrom('esimgo_bundle_refs').selectAll().where('bundle_id', 'in', bundles.map((b) => b.id)).execute();
    const refOf = new Map(refs.map((r) => [r.bundle_id, r]));
    const orderIds = [...new Set(bundles.map((b) => b.order_id))];
    const goOrders = await this.db.selectFrom('esimgo_orders').select(['reference', 'order_id']).where('order_id', 'in', orderIds).execute();
    const goRef = new Map(goOrders.map((o) => [o.order_id!, o.reference]));
    const core = await this.db.selectFrom('orders').select(['id', 'order_no']).where('id', 'in', orderIds).execute();
    const orderNo = new Map(core.map((o) => [o.id, o.order_no]));
    return bundles.map((b) => {
      const r = refOf.get(b.id);
      if (r) return { ...b, reference: r.reference, assignment_reference: r.assignment_reference, inventory_id: r.inventory_id };
      const reference = goRef.get(b.order_id) ?? orderNo.get(b.order_id) ?? b.order_id;
      return { ...b, reference, assignment_reference: `${reference}-${esim.slot}`, inventory_id: null };
    });
  }

  /** An eSIM Go order/apply by reference, or a core order by its orderNo. */
  async order(partnerId: string, reference: string): Promise<{ go: EsimGoOrderTable | null; core: OrderTable | null; items: OrderItemTable[] }> {
    const go = (await this.db.selectFrom('esimgo_orders').selectAll().where('partner_id', '=', partnerId).where('reference', '=', reference).executeTakeFirst()) ?? null;
    let core: OrderTable | null = null;
    if (go?.order_id) core = (await this.db.selectFrom('orders').selectAll().where('id', '=', go.order_id).executeTakeFirst()) ?? null;
    if (!go) core = (await this.db.selectFrom('orders').selectAll().where('partner_id', '=', partnerId).where('order_no', '=', reference).executeTakeFirst()) ?? null;
    if (!go && !core) throw new DomainError('order_not_found', `Order ${reference} not found`);
    const items = core ? await this.db.selectFrom('order_items').selectAll().where('order_id', '=', core.id).orderBy('line_no').execute() : [];
    return { go, core, items };
  }

  /** eSIMs a reference put bundles on: the new eSIMs of its core order, then the existing ones it topped up. */
  async esimsOfReference(partnerId: string, reference: string): Promise<Esim[]> {
    const { go, core } = await this.order(partnerId, reference);
    const out: Esim[] = [];
    if (core) {
      if (core.kind === 'topup' && core.target_esim_id) out.push(...(await this.db.selectFrom('esims').selectAll().where('id', '=', core.target_esim_id).execute()));
      else out.push(...(await this.db.selectFrom('esims').selectAll().where('order_id', '=', core.id).orderBy('created_at').orderBy('slot').execute()));
    }
    if (go) {
      const refs = await this.db.selectFrom('esimgo_bundle_refs').innerJoin('bundles', 'bundles.id', 'esimgo_bundle_refs.bundle_id').select('bundles.esim_id').where('esimgo_bundle_refs.reference', '=', reference).where('esimgo_bundle_refs.partner_id', '=', partnerId).execute();
      const ids = [...new Set(refs.map((r) => r.esim_id))].filter((id) => !out.some((e) => e.id === id));
      if (ids.length) out.push(...(await this.db.selectFrom('esims').selectAll().where('id', 'in', ids).execute()));
    }
    return out;
  }

  /** Orders newest first: eSIM Go orders and applies, and core orders placed in other dialects. */
  async orders(partnerId: string, q: { page: number; limit: number; fromMs?: number; toMs?: number }): Promise<{ rows: Array<{ go: EsimGoOrderTable | null; core: OrderTable | null; items: OrderItemTable[] }>; total: number }> {
    let goQ = this.db.selectFrom('esimgo_orders').selectAll().where('partner_id', '=', partnerId);
    let coreQ = this.db.selectFrom('orders').selectAll().where('partner_id', '=', partnerId).where('transaction_id', 'not like', 'esimgo:%');
    if (q.fromMs !== undefined) {
      goQ = goQ.where('created_at', '>=', q.fromMs);
      coreQ = coreQ.where('created_at', '>=', q.fromMs);
    }
    if (q.toMs !== undefined) {
      goQ = goQ.where('created_at', '<=', q.toMs);
      coreQ = coreQ.where('created_at', '<=', q.toMs);
    }
    const go = await goQ.execute();
    const core = await coreQ.execute();
    const all = [...go.map((g) => ({ at: Number(g.created_at), go: g as EsimGoOrderTable | null, core: null as OrderTable | null })), ...core.map((c) => ({ at: Number(c.created_at), go: null, core: c }))].sort((a, b) => b.at - a.at);
    const page = all.slice((q.page - 1) * q.limit, q.page * q.limit);
    const rows = [];
    for (const r of page) {
      let core = r.core;
      if (r.go?.order_id) core = (await this.db.selectFrom('orders').selectAll().where('id', '=', r.go.order_id).executeTakeFirst()) ?? null;
      const items = core ? await this.db.selectFrom('order_items').selectAll().where('order_id', '=', core.id).orderBy('line_no').execute() : [];
      rows.push({ go: r.go, core, items });
    }
    return { rows, total: all.length };
  }

  async settings(partnerId: string): Promise<EsimGoSettingsTable | null> {
    return (await this.db.selectFrom('esimgo_settings').selectAll().where('partner_id', '=', partnerId).executeTakeFirst()) ?? null;
  }

  async saveSettings(row: EsimGoSettingsTable): Promise<void> {
    await this.db
      .insertInto('esimgo_settings')
      .values(row)
      .onConflict((oc) => oc.column('partner_id').doUpdateSet({ callback_url: row.callback_url, callback_version: row.callback_version, dialect: row.dialect, key_id: row.key_id, updated_at: row.updated_at }))
      .execute();
  }

  async events(esimId: string, types: string[]): Promise<Array<{ type: string; payload: string; occurred_at: number }>> {
    return this.db.selectFrom('events').select(['type', 'payload', 'occurred_at']).where('subject', '=', esimId).where('type', 'in', types).orderBy('seq').execute();
  }
}
