import { accountFor, SANDBOX_PATH_PREFIX } from '../../sandbox-base.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { zipSync, strToU8 } from 'fflate';
import type { AppContext } from '../../../context.ts';
import { isDomainError, type DomainError } from '../../../domain/errors.ts';
import { isBlocked, type ResolvedKey } from '../../key-resolver.ts';
import { walletBalance } from '../../../domain/ledger/ledger.ts';
import { Inventory, incompatibility, type ApplyItem, type OrderLine, type StoredLine } from '../../../domain/inventory/inventory.ts';
import { EsimGoViews, type EsimView } from '../../../domain/inventory/views.ts';
import { revokeEsim, suspendEsim, unsuspendEsim } from '../../../domain/esims/esims.ts';
import { sendSms } from '../../../domain/esims/sms.ts';
import type { Esim, OrderTable, PackageTable } from '../../../store/schema.ts';
import { renderQrPng } from '../../install/qr.ts';
import { ALL_GROUPS, BundleNames, megabytes, money, speeds } from './names.ts';
import { assignment, catalogueBundle, csvCell, esimState, firstInstalledMs, installUrls, iso, orderTransaction, profileStatus, storedLines, type OrderEsim, type Version } from './render.ts';

/** The eSIM Go-compatible API: `/v2`, `/v2.2`, `/v2.3`, `/v2.4`, `/v2.5`. */
export const ESIMGO_VERSIONS: Array<{ prefix: string; version: Version }> = [
  { prefix: '/v2', version: 2 },
  { prefix: '/v2.2', version: 2.2 },
  { prefix: '/v2.3', version: 2.3 },
  { prefix: '/v2.4', version: 2.4 },
  { prefix: '/v2.5', version: 2.5 },
];

/** eSIM Go's default rate: 10 requests per second (fixed one-second window), per API key. */
export const ESIMGO_RATE_PER_SECOND = 10;

export class EsimGoError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const STATUS_FOR: Partial<Record<DomainError['code'], number>> = {
  invalid_argument: 400,
  package_not_found: 400,
  not_found: 404,
  order_not_found: 404,
  esim_not_found: 404,
  insufficient_balance: 400,
  price_mismatch: 400,
  amount_mismatch: 400,
  invalid_state: 400,
  insufficient_profiles: 400,
  order_in_progress: 503,
  idempotency_conflict: 400,
  partner_suspended: 403,
  unauthenticated: 403,
  rate_limited: 429,
  conflict: 409,
};

/** Fixed one-second windows per key, as eSIM Go counts. */
const auths = new WeakMap<FastifyRequest, ResolvedKey>();

export async function esimGoPlugin(app: FastifyInstance, options: { ctx: AppContext }): Promise<void> {
  const { ctx } = options;
  const names = new BundleNames(ctx.catalog);
  const views = new EsimGoViews(ctx.store.db);
  const inventory = ctx.inventory;
  for (const { prefix, version } of ESIMGO_VERSIONS) {
    await app.register(async (v) => versionRoutes(v, { ctx, version, names, views, inventory, sandbox: false }), { prefix });
    // The sandbox base: the same keys reach the partner's sandbox twin.
    await app.register(async (v) => versionRoutes(v, { ctx, version, names, views, inventory, sandbox: true }), { prefix: `${SANDBOX_PATH_PREFIX}${prefix}` });
  }
}

interface Deps {
  ctx: AppContext;
  version: Version;
  names: BundleNames;
  views: EsimGoViews;
  inventory: Inventory;
  /** Mounted at the sandbox base. */
  sandbox: boolean;
}

function sendError(reply: FastifyReply, status: number, message: string, headers: Record<string, string> = {}) {
  for (const [k, val] of Object.entries(headers)) reply.header(k, val);
  return reply.code(status).type('application/json; charset=utf-8').send(JSON.stringify({ message }));
}

async function versionRoutes(app: FastifyInstance, deps: Deps): Promise<void> {
  const { ctx, version, names, views, inventory } = deps;
  const db = ctx.store.db;

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
    if (error instanceof EsimGoError) return sendError(reply, error.status, error.message, error.headers);
    if (isDomainError(error)) {
      const status = STATUS_FOR[error.code] ?? 400;
      return sendError(reply, status, error.message, status === 503 ? { 'retry-after': '1' } : {});
    }
    if (error.statusCode && error.statusCode < 500) return sendError(reply, error.statusCode, error.message);
    request.log.error({ err: error }, 'unhandled error in eSIM Go handler');
    return sendError(reply, 500, 'Server Error');
  });
  app.setNotFoundHandler((request, reply) => sendError(reply, 404, `Not Found: ${request.method} ${request.url.split('?')[0]}`));

  // Authentication and the rate limit come before the body is read.
  app.addHook('onRequest', async (request, reply) => {
    const raw = request.headers['x-api-key'];
    const key = (Array.isArray(raw) ? raw[0] : raw)?.trim();
    const nowMs = ctx.now();
    const auth = key && key.length <= 128 ? await ctx.keys.resolve(key, nowMs) : null;
    if (!auth || auth.partner.status !== 'active' || isBlocked(auth, request.ip)) throw new EsimGoError(403, 'Forbidden');
    const limit = auth.partner.rate_limit_per_second ?? Math.max(ESIMGO_RATE_PER_SECOND, ctx.config.rateLimitPerSecond);
    // eSIM Go documents a fixed one-second window; it holds across API processes (PostgreSQL or Redis).
    const taken = await ctx.rateLimiter.window(`esimgo:${auth.key.id}`, limit, nowMs);
    reply.header('x-ratelimit-limit', String(limit));
    reply.header('x-ratelimit-remaining', String(taken.remaining));
    reply.header('x-ratelimit-reset', new Date(taken.resetMs).toISOString());
    reply.header('x-ratelimit-cost', '1');
    if (!taken.allowed) throw new EsimGoError(429, 'Rate limit exceeded', { 'retry-after': '1' });
    const account = await accountFor(ctx, auth.partner, request, deps.sandbox, nowMs);
    if (account.status !== 'active') throw new EsimGoError(403, 'Forbidden');
    auths.set(request, account === auth.partner ? auth : { ...auth, partner: account });
  });

  const authOf = (request: FastifyRequest): ResolvedKey => auths.get(request)!;
  const nowOf = (auth: ResolvedKey) => ctx.now() + (auth.partner.environment === 'sandbox' ? Number(auth.partner.clock_offset_ms) : 0);
  const q = (request: FastifyRequest) => (request.query ?? {}) as Record<string, string | string[] | undefined>;
  const str = (value: unknown): string | undefined => (Array.isArray(value) ? value[0] : typeof value === 'string' ? value : undefined);
  const bool = (value: unknown): boolean => /^(true|1)$/i.test(str(value) ?? '');
  const intParam = (value: unknown, fallback: number, name: string, max = 100_000): number => {
    const text = str(value);
    if (text === undefined || text === '') return fallback;
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1 || n > max) throw new EsimGoError(400, `${name} must be an integer between 1 and ${max}`);
    return n;
  };
  const body = (request: FastifyRequest): Record<string, unknown> => {
    const b = request.body;
    if (b === undefined || b === null || b === '') return {};
    if (typeof b !== 'object' || Array.isArray(b)) throw new EsimGoError(400, 'Request body must be a JSON object');
    return b as Record<string, unknown>;
  };
  const since = (min: Version, what: string) => {
    if (version < min) throw new EsimGoError(404, `${what} is not available in v${version === 2 ? '2.0' : version}; use v${min} or later`);
  };
  const bundleByName = (name: string): PackageTable => {
    const pkg = names.packageOf(name);
    if (!pkg) throw new EsimGoError(400, `Bundle ${name} not found`);
    return pkg;
  };
  const factorOf = async (auth: ResolvedKey) => inventory.pricer(auth.partner, nowOf(auth));
  const priceOf = (pkg: PackageTable, price: (pkg: PackageTable) => number) => price(pkg) * (pkg.is_daypass === 1 ? Math.max(1, pkg.duration) : 1);

  // ── API, catalogue, organisation, networks ────────────────────────────────────────────────────────

  app.get('/', async () => {
    if (version >= 2.5) throw new EsimGoError(404, 'Not Found');
    return ['/catalogue', '/organisation', '/orders', '/esims', '/inventory', '/networks'];
  });

  app.get('/catalogue', async (request) => {
    const auth = authOf(request);
    const query = q(request);
    const page = intParam(query.page, 1, 'page');
    const perPage = intParam(query.perPage, 50, 'perPage', 1000);
    const direction = (str(query.direction) ?? 'asc').toLowerCase() === 'desc' ? -1 : 1;
    const orderBy = str(query.orderBy);
    const countries = (str(query.countries) ?? '').split(',').map((c) => c.trim().toUpperCase()).filter(Boolean);
    const region = str(query.region)?.trim().toLowerCase();
    const group = str(query.group)?.trim();
    const description = str(query.description)?.trim().toLowerCase();
    let list = ctx.catalog.all().filter((p) => p.status === 'active' && p.type === 'BASE');
    if (countries.length) list = list.filter((p) => p.location.split(',').some((c) => countries.includes(c)));
    if (region) list = list.filter((p) => p.location.split(',').some((c) => names.regionOf(c).toLowerCase() === region) || names.locationName(p.location_code).toLowerCase() === region);
    if (group) list = list.filter((p) => catalogueGroup(p) === group);
    if (description) {
      const pattern = new RegExp(description.split('*').map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*'), 'i');
      list = list.filter((p) => pattern.test(p.description || p.name));
    }
    const factor = await factorOf(auth);
    const key = (p: PackageTable): string | number => {
      switch (orderBy) {
        case 'price':
          return priceOf(p, factor);
        case 'duration':
          return p.duration;
        case 'dataAmount':
          return Number(p.volume);
        case 'description':
          return p.description;
        default:
          return names.nameOf(p);
      }
    };
    list = [...list].sort((a, b) => {
      const ka = key(a);
      const kb = key(b);
      return (ka < kb ? -1 : ka > kb ? 1 : names.nameOf(a) < names.nameOf(b) ? -1 : 1) * direction;
    });
    const rows = list.length;
    const slice = list.slice((page - 1) * perPage, page * perPage);
    return { bundles: slice.map((p) => catalogueBundle(names, p, priceOf(p, factor), version)), pageCount: Math.ceil(rows / perPage), pageSize: perPage, rows };
  });
  const catalogueGroup = (p: PackageTable) => catalogueBundle(names, p, 0, version).groups && (catalogueBundle(names, p, 0, version).groups as string[])[0];

  app.get<{ Params: { name: string } }>('/catalogue/bundle/:name', async (request) => {
    const auth = authOf(request);
    const pkg = bundleByName(request.params.name);
    const out = catalogueBundle(names, pkg, priceOf(pkg, await factorOf(auth)), version);
    if (version >= 2.5) {
      out.group = out.groups;
      delete out.groups;
    }
    return out;
  });

  app.get('/catalogue/prices', async () => {
    since(2.5, 'GET /catalogue/prices');
    throw new EsimGoError(403, 'Per-GB prices are only available to organisations on Consumption billing');
  });

  app.get('/organisation', async (request) => {
    const auth = authOf(request);
    const balance = (await walletBalance(db, auth.partner.id)).balanceMinor;
    const settings = await views.settings(auth.partner.id);
    return {
      name: auth.partner.name,
      apiKey: auth.accessCode,
      taxLiable: 'No',
      callbackUrl: settings?.callback_url ?? auth.partner.webhook_url ?? '',
      groups: ALL_GROUPS,
      currency: auth.partner.currency,
      balance: money(balance),
      testCredit: 0,
      users: [],
    };
  });

  app.get('/organisation/groups', async () => ({ groups: ALL_GROUPS.map((name) => ({ name })) }));

  app.post('/organisation/balance', async () => {
    throw new EsimGoError(400, 'Card top-ups are not available: ask the operator for a deposit');
  });

  /** esimhub extension: set the callback URL (the partner's webhook endpoint) and version, and make eSIM Go the webhook dialect. */
  app.put('/organisation/callback', async (request) => {
    const auth = authOf(request);
    const b = body(request);
    const url = b.callbackUrl === null ? null : typeof b.callbackUrl === 'string' ? b.callbackUrl.trim() : undefined;
    if (url === undefined) throw new EsimGoError(400, 'callbackUrl must be a string (or null to remove it)');
    if (url !== null && !/^https?:\/\/\S+$/i.test(url)) throw new EsimGoError(400, 'callbackUrl must be an http(s) URL');
    const callbackVersion = b.callbackVersion === undefined ? 'V3' : String(b.callbackVersion).toUpperCase();
    if (callbackVersion !== 'V2' && callbackVersion !== 'V3') throw new EsimGoError(400, 'callbackVersion must be V2 or V3');
    const nowMs = ctx.now();
    const secrets = await ctx.webhooks.secretsForSave(auth.partner.id);
    await ctx.webhooks.save(auth.partner.id, url, secrets, nowMs);
    await views.saveSettings({ partner_id: auth.partner.id, callback_url: url, callback_version: callbackVersion, dialect: 'esimgo', key_id: auth.key.id, updated_at: nowMs });
    ctx.keys.invalidate();
    return { status: 'Callback URL saved', callbackUrl: url, callbackVersion };
  });

  app.get('/networks', async (request) => {
    const query = q(request);
    const isos = (str(query.isos) ?? '').split(',').map((c) => c.trim().toUpperCase()).filter(Boolean);
    const countries = (str(query.countries) ?? '').split(',').map((c) => c.trim().toLowerCase()).filter(Boolean);
    const all = bool(query.returnAll);
    if (!isos.length && !countries.length && !all) throw new EsimGoError(400, 'Give countries or isos, or returnAll=true');
    const ops = await db.selectFrom('operators').selectAll().orderBy('country_code').orderBy('id').execute();
    const by = new Map<string, typeof ops>();
    for (const op of ops) {
      if (!all && !isos.includes(op.country_code) && !countries.includes(names.countryName(op.country_code).toLowerCase())) continue;
      const list = by.get(op.country_code) ?? [];
      list.push(op);
      by.set(op.country_code, list);
    }
    return {
      countryNetworks: [...by].map(([code, list]) => ({
        name: code,
        networks: list.map((op) => ({ name: op.name, brandName: op.name, mcc: op.mcc, mnc: op.mnc, tagid: `${code}${op.mnc}`.toUpperCase(), speed: op.network_types.split(/[/,\s]+/).filter(Boolean) })),
      })),
    };
  });

  // ── orders ────────────────────────────────────────────────────────────────────────────────────────

  const esimRows = async (ids: string[]): Promise<Esim[]> => (ids.length ? db.selectFrom('esims').selectAll().where('id', 'in', ids).execute() : []);
  const toOrderEsims = (esims: Esim[]): OrderEsim[] => esims.map((e) => ({ iccid: e.iccid, matchingId: e.matching_id, smdpAddress: e.smdp_address, packageCode: e.package_code }));

  /** Waits (briefly) for a core order's eSIMs: allocation runs in the worker. */
  async function settle(order: OrderTable | null, timeoutMs = 20_000): Promise<OrderTable | null> {
    if (!order) return null;
    const deadline = Date.now() + timeoutMs;
    let current = order;
    while (current.status === 'allocating' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      current = (await db.selectFrom('orders').selectAll().where('id', '=', order.id).executeTakeFirst()) ?? current;
    }
    return current;
  }

  function statusOf(core: OrderTable | null, count: number, assigned: boolean): { status: string; statusMessage: string } {
    if (core?.status === 'allocating') return { status: 'processing', statusMessage: `Order processing: ${core.allocated_count} of ${core.total_count} eSIMs assigned` };
    if (core?.status === 'failed') return { status: 'failed', statusMessage: `Order failed and was refunded: ${core.failure_reason ?? 'supply failure'}` };
    if (!assigned) return { status: 'completed', statusMessage: 'Order completed: bundles added to inventory' };
    return { status: 'completed', statusMessage: `Order completed: ${count} eSIM${count === 1 ? '' : 's'} assigned` };
  }

  async function renderStored(partnerId: string, reference: string, includeEsims: boolean, extra: { sourceIp?: string | null } = {}) {
    const { go, core, items } = await views.order(partnerId, reference);
    let esims: Esim[] = [];
    if (includeEsims) esims = await views.esimsOfReference(partnerId, reference).catch(() => []);
    if (go) {
      const lines = storedLines(go);
      const count = go.assigned ? lines.reduce((s, l) => s + l.quantity, 0) : 0;
      return orderTransaction({ reference: go.reference, lines, totalMinor: Number(go.total), currency: go.currency, createdAt: Number(go.created_at), assigned: go.assigned === 1, ...statusOf(core, count, go.assigned === 1), esims: includeEsims ? toOrderEsims(esims) : null, sourceIp: extra.sourceIp ?? go.source_ip, runningBalanceMinor: go.running_balance, version });
    }
    // A core order placed in another dialect.
    const lines: StoredLine[] = items.map((i) => ({ type: core!.kind === 'topup' ? 'topup' : 'bundle', item: names.nameOf(i.package_code), packageCode: i.package_code, quantity: i.count, pricePerUnitMinor: Number(i.unit_price), subTotalMinor: Number(i.line_amount), allowReassign: false }));
    if (!lines.length && core!.kind === 'topup') {
      const bundle = await db.selectFrom('bundles').select('package_code').where('order_id', '=', core!.id).executeTakeFirst();
      if (bundle) lines.push({ type: 'topup', item: names.nameOf(bundle.package_code), packageCode: bundle.package_code, quantity: 1, pricePerUnitMinor: Number(core!.amount), subTotalMinor: Number(core!.amount), iccids: esims.map((e) => e.iccid), allowReassign: false });
    }
    return orderTransaction({ reference: core!.order_no, lines, totalMinor: Number(core!.amount), currency: core!.currency, createdAt: Number(core!.created_at), assigned: true, ...statusOf(core, Number(core!.total_count), true), esims: includeEsims ? toOrderEsims(esims) : null, version });
  }

  app.post('/orders', async (request) => {
    const auth = authOf(request);
    const nowMs = nowOf(auth);
    const b = body(request);
    const type = b.type ?? 'transaction';
    if (type !== 'validate' && type !== 'transaction') throw new EsimGoError(400, 'type must be validate or transaction');
    const assign = b.assign === true;
    let rawLines: unknown = b.order ?? b.Order;
    // The Quick Start's flat shortcut: {"type", "quantity", "item"}.
    if (rawLines === undefined && typeof b.item === 'string') rawLines = [{ type: 'bundle', item: b.item, quantity: b.quantity ?? 1 }];
    if (!Array.isArray(rawLines) || !rawLines.length) throw new EsimGoError(400, 'order must be a non-empty array of bundles');
    const lines: OrderLine[] = rawLines.map((raw, i) => {
      if (!raw || typeof raw !== 'object') throw new EsimGoError(400, `order[${i}] must be an object`);
      const r = raw as Record<string, unknown>;
      if (r.type !== undefined && r.type !== 'bundle') throw new EsimGoError(400, `order[${i}].type must be bundle`);
      if (typeof r.item !== 'string') throw new EsimGoError(400, `order[${i}].item must be a bundle name`);
      if (typeof r.quantity !== 'number') throw new EsimGoError(400, `order[${i}].quantity must be an integer`);
      const iccids = Array.isArray(r.iccids) ? r.iccids.filter((x): x is string => typeof x === 'string' && x.trim() !== '') : undefined;
      return { pkg: bundleByName(r.item), quantity: r.quantity, iccids: iccids?.length ? iccids : undefined, allowReassign: r.allowReassign === true };
    });
    if (b.profileID !== undefined && !assign) throw new EsimGoError(400, 'profileID requires assign: true');
    const priced = await inventory.price(auth.partner, lines, (p) => names.nameOf(p), assign, nowMs);
    if (type === 'validate') {
      let valid = true;
      let message: string | undefined;
      try {
        await inventory.validate(auth.partner, priced, assign, nowMs);
      } catch (error) {
        if (!isDomainError(error)) throw error;
        valid = false;
        message = error.message;
      }
      const order = priced.lines.map((l) => ({ type: l.type, item: l.item, quantity: l.quantity, subTotal: money(l.subTotalMinor), pricePerUnit: money(l.pricePerUnitMinor), AllowReassign: l.allowReassign }));
      return { order, total: money(priced.totalMinor), valid, currency: priced.currency, createdDate: iso(nowMs), assigned: assign, ...(message ? { message } : {}) };
    }
    const reference = Inventory.newReference();
    const { order, coreOrder } = await inventory.transact(auth.partner, { reference, priced, assign, sourceIp: request.ip, nowMs });
    ctx.notifyEvents();
    await settle(coreOrder);
    if (typeof b.profileID === 'string' && b.profileID) {
      const esims = await views.esimsOfReference(auth.partner.id, order.reference);
      await views.setBranding(auth.partner.id, esims.map((e) => e.id), b.profileID, nowMs);
    }
    const includeIccids = version >= 2.3 || bool(q(request).includeIccids);
    return renderStored(auth.partner.id, order.reference, includeIccids && assign);
  });

  app.get('/orders', async (request) => {
    const auth = authOf(request);
    const query = q(request);
    const page = intParam(query.page, 1, 'page');
    const limit = intParam(query.limit, 25, 'limit', 1000);
    let fromMs: number | undefined;
    let toMs: number | undefined;
    const created = query.createdAt === undefined ? [] : Array.isArray(query.createdAt) ? query.createdAt : [query.createdAt];
    for (const c of created) {
      const m = /^(eq|lt|lte|gt|gte):(.*)$/.exec(c);
      const ms = Date.parse(m ? m[2] : c);
      if (Number.isNaN(ms)) throw new EsimGoError(400, `createdAt must be a date, optionally prefixed with gte:, lte:, gt:, lt: or eq: (${c})`);
      const op = m?.[1] ?? 'eq';
      if (op === 'gte' || op === 'gt' || op === 'eq') fromMs = op === 'gt' ? ms + 1 : ms;
      if (op === 'lte' || op === 'lt' || op === 'eq') toMs = op === 'lt' ? ms - 1 : ms;
    }
    const { rows, total } = await views.orders(auth.partner.id, { page, limit, fromMs, toMs });
    const includeIccids = bool(query.includeIccids);
    const orders = [];
    for (const r of rows) orders.push(await renderStored(auth.partner.id, r.go?.reference ?? r.core!.order_no, includeIccids));
    return { orders, pageCount: Math.ceil(total / limit), pageSize: limit, rows: total };
  });

  app.get<{ Params: { ref: string } }>('/orders/:ref', async (request) => {
    const auth = authOf(request);
    return renderStored(auth.partner.id, request.params.ref, true);
  });

  // ── eSIMs ─────────────────────────────────────────────────────────────────────────────────────────

  const lastAction = (e: EsimView) => (e.esim_status === 'SUSPENDED' ? 'eSIM Suspended' : e.activate_time !== null ? 'Bundle Activated' : 'Bundle Applied');

  app.get('/esims', async (request) => {
    const auth = authOf(request);
    const query = q(request);
    const page = intParam(query.page, 1, 'page');
    const perPage = intParam(query.perPage, 50, 'perPage', 100);
    const filterBy = str(query.filterBy);
    if (filterBy && !['iccid', 'customerRef', 'lastAction', 'actionDate', 'assignedDate'].includes(filterBy)) throw new EsimGoError(400, 'filterBy must be one of iccid, customerRef, lastAction, actionDate, assignedDate');
    const direction = (str(query.direction) ?? 'asc').toLowerCase() === 'desc' ? 'desc' : 'asc';
    const { rows, total } = await views.listEsims(auth.partner.id, { page, perPage, direction, filterBy, filter: str(query.filter) });
    return {
      esims: rows.map((e) => {
        const out: Record<string, unknown> = { iccid: e.iccid, customerRef: e.customer_ref, lastAction: lastAction(e), actionDate: iso(e.updated_at), physical: false, assignedDate: iso(e.created_at) };
        if (version >= 2.5) {
          if (e.msisdn) out.msisdn = e.msisdn;
          out.state = esimState(e, e.deleted);
        }
        return out;
      }),
      pageCount: Math.ceil(total / perPage),
      pageSize: perPage,
      rows: total,
    };
  });

  app.put('/esims', async (request) => {
    const auth = authOf(request);
    const b = body(request);
    const query = q(request);
    const iccid = typeof b.iccid === 'string' ? b.iccid : str(query.iccid);
    const customerRef = typeof b.customerRef === 'string' ? b.customerRef : str(query.customerRef);
    if (!iccid || customerRef === undefined) throw new EsimGoError(400, 'iccid and customerRef are required');
    if (customerRef.length > 200) throw new EsimGoError(400, 'customerRef must be at most 200 characters');
    const esim = await views.esim(auth.partner.id, iccid);
    await views.setCustomerRef(auth.partner.id, esim.id, customerRef, nowOf(auth));
    return { status: 'success' };
  });

  app.post('/esims/apply', async (request) => {
    const auth = authOf(request);
    const b = body(request);
    const items: ApplyItem[] = [];
    if (Array.isArray(b.bundles)) {
      for (const [i, raw] of b.bundles.entries()) {
        const name = typeof raw === 'string' ? raw : raw && typeof raw === 'object' ? (raw as Record<string, unknown>).name : undefined;
        if (typeof name !== 'string') throw new EsimGoError(400, `bundles[${i}].name is required`);
        const repeat = raw && typeof raw === 'object' && typeof (raw as Record<string, unknown>).repeat === 'number' ? ((raw as Record<string, unknown>).repeat as number) : 1;
        items.push({ pkg: bundleByName(name), repeat });
      }
    } else {
      const name = typeof b.name === 'string' ? b.name : typeof b.bundle === 'string' ? b.bundle : undefined;
      if (!name) throw new EsimGoError(400, 'name (or bundles) is required');
      const iccid = typeof b.iccid === 'string' && b.iccid.trim() ? b.iccid.trim() : undefined;
      if (iccid && b.repeat !== undefined && b.repeat !== 1) throw new EsimGoError(400, 'repeat cannot be combined with iccid');
      items.push({ pkg: bundleByName(name), iccid, repeat: typeof b.repeat === 'number' ? b.repeat : 1 });
    }
    if (!items.length) throw new EsimGoError(400, 'bundles must not be empty');
    const reference = Inventory.newReference();
    const result = await inventory.apply(auth.partner, { reference, items, nameOf: (p) => names.nameOf(p), nowMs: nowOf(auth) });
    ctx.notifyEvents();
    const core = await settle(result.coreOrder);
    const made = core ? await db.selectFrom('esims').selectAll().where('order_id', '=', core.id).orderBy('created_at').orderBy('slot').execute() : [];
    return {
      esims: [
        ...result.existing.map((e) => ({ iccid: e.iccid, status: 'ACTIVE', bundle: names.nameOf(e.pkg) })),
        ...made.map((e) => ({ iccid: e.iccid, status: core?.status === 'ready' ? 'ACTIVE' : 'PROCESSING', bundle: names.nameOf(e.package_code) })),
      ],
      applyReference: reference,
    };
  });

  // Install details: CSV (default), JSON or ZIP by Accept.
  const installRows = async (partnerId: string, references: string[]) => {
    const out: Array<{ esim: Esim; reference: string; bundle: string }> = [];
    for (const reference of references) {
      const esims = await views.esimsOfReference(partnerId, reference);
      for (const esim of esims) out.push({ esim, reference, bundle: names.nameOf(esim.package_code) });
    }
    return out;
  };
  const csvOf = (rows: Array<{ esim: Esim; reference: string; bundle: string }>, extra: string[]) => {
    const header = ['ICCID', 'Matching ID', 'RSP URL', 'Bundle', 'Reference', ...extra.map((f) => (f === 'appleInstallUrl' ? 'Apple Install URL' : f === 'installUrl' ? 'Apple Install URL","Android Install URL' : f))];
    const lines = [header.map((h) => (h.includes('","') ? `"${h}"` : csvCell(h))).join(',')];
    for (const r of rows) {
      const cells = [r.esim.iccid, r.esim.matching_id, r.esim.smdp_address, r.bundle, r.reference];
      const urls = installUrls(r.esim);
      for (const f of extra) {
        if (f === 'appleInstallUrl') cells.push(urls.appleInstallUrl);
        if (f === 'installUrl') cells.push(urls.appleInstallUrl, urls.androidInstallUrl);
      }
      lines.push(cells.map(csvCell).join(','));
    }
    return `${lines.join('\n')}\n`;
  };
  const referencesOf = (request: FastifyRequest): string[] => {
    const raw = q(request).reference;
    const list = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).flatMap((r) => r.split(',')).map((r) => r.trim()).filter(Boolean);
    if (!list.length) throw new EsimGoError(400, 'reference is required');
    return [...new Set(list)];
  };
  const extraFields = (request: FastifyRequest): string[] => (str(q(request).additionalFields) ?? '').split(',').map((s) => s.trim()).filter((s) => s === 'appleInstallUrl' || s === 'installUrl');
  const assertLive = (rows: Array<{ esim: Esim }>) => {
    if (rows.length && rows.every((r) => r.esim.esim_status === 'CANCEL' || r.esim.esim_status === 'REVOKE')) throw new EsimGoError(410, 'Gone: the eSIMs of this reference are deactivated');
  };
  async function zipOf(rows: Array<{ esim: Esim; reference: string; bundle: string }>): Promise<Buffer> {
    const files: Record<string, Uint8Array> = {};
    for (const r of rows) files[`${r.esim.iccid}.png`] = (await renderQrPng(r.esim.ac)).png;
    files['iccids.csv'] = strToU8(csvOf(rows, []));
    return Buffer.from(zipSync(files, { level: 0 }));
  }

  app.get('/esims/assignments', async (request, reply) => {
    since(2.2, 'GET /esims/assignments');
    const auth = authOf(request);
    const rows = await installRows(auth.partner.id, referencesOf(request));
    assertLive(rows);
    const accept = String(request.headers.accept ?? '').toLowerCase();
    if (accept.includes('application/zip')) return reply.type('application/zip').header('content-disposition', 'attachment; filename="esims.zip"').send(await zipOf(rows));
    if (accept.includes('application/json')) {
      const extra = extraFields(request);
      const items = rows.map(({ esim }) => {
        const out: Record<string, unknown> = { iccid: esim.iccid, matchingId: esim.matching_id, smdpAddress: esim.smdp_address, profileStatus: profileStatus(esim) };
        if (esim.pin) out.pin = esim.pin;
        if (esim.puk) out.puk = esim.puk;
        const first = firstInstalledMs(esim);
        if (first !== null) out.firstInstalledDateTime = iso(first);
        const urls = installUrls(esim);
        if (extra.includes('appleInstallUrl') || extra.includes('installUrl')) out.appleInstallUrl = urls.appleInstallUrl;
        if (extra.includes('installUrl')) out.androidInstallUrl = urls.androidInstallUrl;
        return out;
      });
      return reply.type('application/json; charset=utf-8').send(JSON.stringify(items.length === 1 ? items[0] : items));
    }
    return reply.type('text/csv; charset=utf-8').send(csvOf(rows, extraFields(request)));
  });

  app.get<{ Params: { ref: string } }>('/esims/qr/:ref', async (request, reply) => {
    const auth = authOf(request);
    const rows = await installRows(auth.partner.id, [request.params.ref]);
    assertLive(rows);
    reply.header('deprecation', 'true');
    return reply.type('application/zip').send(await zipOf(rows));
  });

  app.get<{ Params: { ref: string } }>('/esims/csv/:ref', async (request, reply) => {
    const auth = authOf(request);
    const rows = await installRows(auth.partner.id, [request.params.ref]);
    reply.header('deprecation', 'true');
    return reply.type('text/csv; charset=utf-8').send(csvOf(rows, extraFields(request)));
  });

  app.get<{ Params: { iccid: string } }>('/esims/:iccid', async (request) => {
    const auth = authOf(request);
    const esim = await views.esim(auth.partner.id, request.params.iccid);
    const out: Record<string, unknown> = { iccid: esim.iccid, pin: esim.pin ?? '', puk: esim.puk ?? '', matchingId: esim.matching_id, smdpAddress: esim.smdp_address, profileStatus: profileStatus(esim) };
    const first = firstInstalledMs(esim);
    if (first !== null) out.firstInstalledDateTime = first;
    out.customerRef = esim.customer_ref;
    const extra = extraFields(request);
    const urls = installUrls(esim);
    if (extra.includes('appleInstallUrl') || extra.includes('installUrl')) out.appleInstallUrl = urls.appleInstallUrl;
    if (version >= 2.5) {
      if (extra.includes('installUrl')) out.androidInstallUrl = urls.androidInstallUrl;
      if (esim.msisdn) out.msisdn = esim.msisdn;
      out.brandingId = (await views.branding(esim.id)) ?? '(default)';
      out.profileName = 'Profile 1';
      out.state = esimState(esim, false);
    }
    return out;
  });

  app.delete<{ Params: { iccid: string } }>('/esims/:iccid', async (request) => {
    since(2.5, 'DELETE /esims/{iccid}');
    const auth = authOf(request);
    const esim = await views.esim(auth.partner.id, request.params.iccid);
    const nowMs = nowOf(auth);
    if (!['CANCEL', 'REVOKE', 'UNUSED_EXPIRED', 'USED_EXPIRED'].includes(esim.esim_status)) await revokeEsim(db, auth.partner.id, { esimTranNo: esim.esim_tran_no }, nowMs);
    await views.markDeleted(auth.partner.id, esim.id, nowMs);
    ctx.notifyEvents();
    return { status: 'eSIM deleted' };
  });

  app.get<{ Params: { iccid: string } }>('/esims/:iccid/history', async (request) => {
    const auth = authOf(request);
    const esim = await views.esim(auth.partner.id, request.params.iccid);
    const bundles = await views.bundles(esim);
    const entries: Array<{ at: number; name: string; bundle: string; state?: string; alertType?: string }> = [];
    for (const b of bundles) {
      const name = names.nameOf(b.package_code);
      entries.push({ at: Number(b.created_at), name: 'Bundle Applied', bundle: name, state: b.state });
      if (b.state === 'revoked') entries.push({ at: Number(b.updated_at), name: 'Bundle Revoked', bundle: name, state: b.state });
      if (b.state === 'expired') entries.push({ at: Number(b.updated_at), name: 'Bundle Expired', bundle: name, state: b.state });
      if (b.state === 'lapsed') entries.push({ at: Number(b.updated_at), name: 'Bundle Lapsed', bundle: name, state: b.state });
    }
    for (const event of await views.events(esim.id, ['esim.data_usage'])) {
      const p = JSON.parse(event.payload) as { remainThreshold?: number };
      const used = Math.round((1 - Number(p.remainThreshold ?? 0)) * 100);
      const active = bundles.find((b) => b.state === 'active') ?? bundles[0];
      entries.push({ at: Number(event.occurred_at), name: 'eSIM Utilisation Alert', bundle: active ? names.nameOf(active.package_code) : '', alertType: `${used}% Used` });
    }
    if (esim.activate_time !== null) entries.push({ at: Number(esim.activate_time), name: 'eSIM First Use', bundle: bundles[0] ? names.nameOf(bundles[0].package_code) : '' });
    entries.sort((a, b) => a.at - b.at);
    if (version >= 2.4) return entries.map((e) => ({ name: e.name, bundleName: e.bundle, date: iso(e.at) }));
    return entries.map((e) => ({ name: e.name, bundle: e.bundle, date: iso(e.at), bundleState: e.state ?? '', ...(version >= 2.3 ? { alertType: e.alertType ?? '' } : {}) }));
  });

  app.get<{ Params: { iccid: string } }>('/esims/:iccid/refresh', async (request) => {
    const auth = authOf(request);
    const esim = await views.esim(auth.partner.id, request.params.iccid);
    if (esimState(esim, false) === 'deactivated') throw new EsimGoError(400, 'The eSIM is deactivated');
    return { status: 'Successfully refreshed SIM' };
  });

  app.get<{ Params: { iccid: string } }>('/esims/:iccid/location', async (request) => {
    const auth = authOf(request);
    const esim = await views.esim(auth.partner.id, request.params.iccid);
    if (esim.activate_time === null && esim.last_usage_at === null) throw new EsimGoError(404, 'The eSIM has not been seen on a network yet');
    const pkg = ctx.catalog.all().find((p) => p.package_code === esim.package_code);
    const country = pkg?.location.split(',')[0] ?? '';
    const op = await db.selectFrom('operators').selectAll().where('country_code', '=', country).orderBy('id').executeTakeFirst();
    return { mobileNetworkCode: op ? `${country}${op.mnc}` : '', networkName: op?.name ?? '', networkBrandName: op?.name ?? '', country, lastSeen: iso(Number(esim.last_usage_at ?? esim.activate_time)) };
  });

  app.get<{ Params: { iccid: string; bundle: string } }>('/esims/:iccid/compatible/:bundle', async (request) => {
    since(2.4, 'GET /esims/{iccid}/compatible/{bundle}');
    const auth = authOf(request);
    const esim = await views.esim(auth.partner.id, request.params.iccid);
    const pkg = bundleByName(request.params.bundle);
    return { compatible: incompatibility(esim, pkg, nowOf(auth)) === null };
  });

  app.post<{ Params: { iccid: string } }>('/esims/:iccid/sms', async (request) => {
    const auth = authOf(request);
    const b = body(request);
    if (typeof b.message !== 'string' || b.message.length < 1 || [...b.message].length > 160) throw new EsimGoError(400, 'message must be 1 to 160 characters');
    if (b.from !== undefined && b.from !== 'eSIM') throw new EsimGoError(400, 'from must be eSIM');
    const esim = await views.esim(auth.partner.id, request.params.iccid);
    await sendSms(db, auth.partner.id, { esimTranNo: esim.esim_tran_no }, b.message, nowOf(auth));
    return { status: 'sent' };
  });

  // ── bundles on an eSIM ────────────────────────────────────────────────────────────────────────────

  app.get<{ Params: { iccid: string } }>('/esims/:iccid/bundles', async (request) => {
    const auth = authOf(request);
    const query = q(request);
    const limit = intParam(query.limit, 15, 'limit', 200);
    const includeUsed = bool(query.includeUsed);
    const esim = await views.esim(auth.partner.id, request.params.iccid);
    let bundles = await views.bundles(esim);
    if (!includeUsed && version < 2.3) bundles = bundles.filter((b) => !['expired', 'revoked', 'lapsed', 'depleted'].includes(b.state));
    bundles = bundles.slice(-limit);
    const grouped = new Map<string, typeof bundles>();
    for (const b of bundles) {
      const name = names.nameOf(b.package_code);
      grouped.set(name, [...(grouped.get(name) ?? []), b]);
    }
    return {
      bundles: [...grouped].map(([name, list]) => {
        const pkg = ctx.catalog.all().find((p) => p.package_code === list[0].package_code);
        return { name, description: pkg?.description ?? name, assignments: list.map((b) => assignment(b, b.assignment_reference, version)) };
      }),
    };
  });

  app.get<{ Params: { iccid: string; name: string } }>('/esims/:iccid/bundles/:name', async (request) => {
    const auth = authOf(request);
    const esim = await views.esim(auth.partner.id, request.params.iccid);
    const list = (await views.bundles(esim)).filter((b) => names.nameOf(b.package_code) === request.params.name);
    if (!list.length) throw new EsimGoError(404, `Bundle ${request.params.name} is not assigned to ${esim.iccid}`);
    return { assignments: list.map((b) => assignment(b, b.assignment_reference, version)) };
  });

  /** Deprecated apply: POST /esims/{iccid}/bundles {name} — takes the bundle from inventory. */
  app.post<{ Params: { iccid: string } }>('/esims/:iccid/bundles', async (request) => {
    const auth = authOf(request);
    const b = body(request);
    if (typeof b.name !== 'string') throw new EsimGoError(400, 'name is required');
    const esim = await views.esim(auth.partner.id, request.params.iccid);
    await inventory.apply(auth.partner, { reference: Inventory.newReference(), items: [{ pkg: bundleByName(b.name), iccid: esim.iccid, repeat: 1 }], nameOf: (p) => names.nameOf(p), nowMs: nowOf(auth) });
    return { status: 'Successfully Applied Bundle' };
  });

  async function revoke(request: FastifyRequest, iccid: string, name: string, assignmentId: string | undefined) {
    const auth = authOf(request);
    const query = q(request);
    const type = str(query.type) ?? 'transaction';
    if (type !== 'validate' && type !== 'transaction') throw new EsimGoError(400, 'type must be validate or transaction');
    const esim = await views.esim(auth.partner.id, iccid);
    const list = (await views.bundles(esim)).filter((b) => names.nameOf(b.package_code) === name && b.state !== 'revoked');
    const offerId = assignmentId ?? str(query.offerId);
    let target = offerId ? list.find((b) => b.id === offerId) : undefined;
    if (!offerId) target = list.find((b) => (b.state === 'queued' || b.state === 'processing') && Number(b.used_bytes) === 0) ?? list[list.length - 1];
    if (!target) throw new EsimGoError(404, `No revocable assignment of ${name} on ${esim.iccid}`);
    const refundToBalance = bool(query.refundToBalance);
    const unused = (target.state === 'queued' || target.state === 'processing') && Number(target.used_bytes) === 0;
    if (type === 'validate') return { status: unused ? `Bundle can be revoked and refunded to ${refundToBalance ? 'balance' : 'inventory'}` : 'Bundle can be revoked without refund' };
    const outcome = await inventory.revoke(auth.partner, esim, target, { refundToBalance }, nowOf(auth));
    ctx.notifyEvents();
    return { status: outcome === 'none' ? 'Successfully Revoked Bundle' : `Successfully Revoked Bundle, bundle has been refunded to ${outcome}` };
  }

  app.delete<{ Params: { iccid: string; name: string } }>('/esims/:iccid/bundles/:name', async (request) => revoke(request, request.params.iccid, request.params.name, undefined));
  app.delete<{ Params: { iccid: string; name: string; id: string } }>('/esims/:iccid/bundles/:name/assignments/:id', async (request) => {
    since(2.4, 'DELETE /esims/{iccid}/bundles/{name}/assignments/{assignmentId}');
    return revoke(request, request.params.iccid, request.params.name, request.params.id);
  });
  app.delete<{ Params: { iccid: string; name: string; id: string } }>('/esims/:iccid/bundles/:name/applications/:id', async (request) => revoke(request, request.params.iccid, request.params.name, request.params.id));

  app.post<{ Params: { iccid: string } }>('/esims/:iccid/suspend', async (request, reply) => {
    since(2.5, 'POST /esims/{iccid}/suspend');
    const auth = authOf(request);
    const b = body(request);
    if (typeof b.suspend !== 'boolean') throw new EsimGoError(400, 'suspend must be true or false');
    const esim = await views.esim(auth.partner.id, request.params.iccid);
    if (b.suspend) await suspendEsim(db, auth.partner.id, { esimTranNo: esim.esim_tran_no }, nowOf(auth));
    else await unsuspendEsim(db, auth.partner.id, { esimTranNo: esim.esim_tran_no }, nowOf(auth));
    ctx.notifyEvents();
    return reply.code(201).send({ status: b.suspend ? 'eSIM suspended successfully' : 'eSIM unsuspended successfully' });
  });

  app.get<{ Params: { iccid: string } }>('/esims/:iccid/suspend', async (request) => {
    since(2.5, 'GET /esims/{iccid}/suspend');
    const auth = authOf(request);
    const esim = await views.esim(auth.partner.id, request.params.iccid);
    return { suspended: esim.esim_status === 'SUSPENDED' };
  });

  // ── inventory ─────────────────────────────────────────────────────────────────────────────────────

  app.get('/inventory', async (request) => {
    const auth = authOf(request);
    const rows = await inventory.list(auth.partner.id, nowOf(auth));
    const byPkg = new Map<string, typeof rows>();
    for (const r of rows) byPkg.set(r.package_code, [...(byPkg.get(r.package_code) ?? []), r]);
    return {
      bundles: [...byPkg].map(([code, list]) => {
        const pkg = ctx.catalog.all().find((p) => p.package_code === code)!;
        const unlimited = pkg.data_type !== 1;
        const out: Record<string, unknown> = {
          name: names.nameOf(pkg),
          desc: pkg.description || pkg.name,
          useDms: false,
          available: list.map((r) => ({ id: Number(r.usage_id), total: Number(r.total), remaining: Number(r.remaining), expiry: iso(Number(r.expires_at))!.slice(0, 10) })),
          countries: pkg.location.split(',').filter(Boolean),
          data: megabytes(Number(pkg.volume)),
          duration: pkg.is_daypass === 1 ? Math.max(1, pkg.duration) : pkg.duration,
          durationUnit: 'day',
          autostart: pkg.active_type !== 2,
          unlimited,
          speed: speeds(pkg),
        };
        if (version >= 2.5) out.allowances = [{ type: 'DATA', service: 'STANDARD', description: 'Data', amount: megabytes(Number(pkg.volume)), unit: 'MB', unlimited }];
        return out;
      }),
    };
  });

  app.post('/inventory/refund', async (request) => {
    const auth = authOf(request);
    const b = body(request);
    if (typeof b.usageId !== 'number' || typeof b.quantity !== 'number') throw new EsimGoError(400, 'usageId and quantity must be integers');
    await inventory.refund(auth.partner, b.usageId, b.quantity, nowOf(auth));
    return { status: 'Successfully refunded bundles to balance' };
  });
}
