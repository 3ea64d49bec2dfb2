import type { FastifyInstance, FastifyRequest } from 'fastify';
import formbody from '@fastify/formbody';
import type { AppContext } from '../../../context.ts';
import type { Partner, PackageTable } from '../../../store/schema.ts';
import { isDomainError, type DomainErrorCode } from '../../../domain/errors.ts';
import { walletBalance } from '../../../domain/ledger/ledger.ts';
import { formatAmount } from '../../../domain/pricing/pricing.ts';
import { PurchaseFailed, Purchases, type PurchaseView } from '../../../domain/purchases/purchases.ts';
import type { SandboxTwins } from '../../../domain/purchases/twins.ts';
import { accountFor } from '../../sandbox-base.ts';
import { isBlocked } from '../../key-resolver.ts';
import { QrCache } from '../../install/qr.ts';
import { esimAccessPlugin } from '../esimaccess/plugin.ts';
import { CatalogView, iso, renderPlan, renderPurchase, renderStatus } from './render.ts';

/** The live base (`/api/v1`) and the sandbox base (`/sandbox/api/v1`, or `/api/v1` on a SANDBOX_HOSTS host). */
export const LIVE_PREFIX = '/api/v1';
export const SANDBOX_PREFIX = '/sandbox/api/v1';

/** An answer `{"error": "…"}` with an HTTP status. */
export class DataplansError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const STATUS_BY_CODE: Record<DomainErrorCode, number> = {
  invalid_argument: 400,
  not_found: 404,
  package_not_found: 404,
  order_not_found: 404,
  esim_not_found: 404,
  insufficient_balance: 402,
  price_mismatch: 400,
  amount_mismatch: 400,
  invalid_state: 409,
  insufficient_profiles: 503,
  order_in_progress: 409,
  idempotency_conflict: 409,
  partner_suspended: 403,
  unauthenticated: 401,
  rate_limited: 429,
  conflict: 409,
};

interface Account {
  /** The account the request acts on: the key's partner (live base) or its sandbox (sandbox base). */
  partner: Partner;
  nowMs: number;
  sandbox: boolean;
}

/** the dataplans.io-compatible API (/api/v1 and its sandbox base). */
export async function dataplansPlugin(app: FastifyInstance, options: { ctx: AppContext }): Promise<void> {
  const { ctx } = options;
  const twins = ctx.twins;
  const purchases = new Purchases({
    db: ctx.store.db,
    catalog: ctx.catalog,
    ordering: ctx.ordering,
    allocator: ctx.allocator,
    pricing: ctx.pricing,
    wake: () => ctx.worker.wake(),
    timeoutMs: ctx.config.purchaseTimeoutMs ?? 15_000,
  });
  const qr = new QrCache(500);

  await app.register(async (scope) => dataplansRoutes(scope, { ctx, twins, purchases, qr, sandbox: false }), { prefix: LIVE_PREFIX });
  await app.register(
    async (scope) => {
      await dataplansRoutes(scope, { ctx, twins, purchases, qr, sandbox: true });
      scope.setNotFoundHandler((request, reply) => {
        reply.code(404).send({ error: `No such endpoint: ${request.method} ${request.url.split('?')[0]}` });
      });
    },
    { prefix: SANDBOX_PREFIX },
  );
  // The eSIM Access dialect at the sandbox base: the same keys reach the sandbox twin.
  await app.register(esimAccessPlugin, {
    prefix: `${SANDBOX_PREFIX}/open`,
    ctx,
    sandbox: true,
  });
}

interface RouteDeps {
  ctx: AppContext;
  twins: SandboxTwins;
  purchases: Purchases;
  qr: QrCache;
  sandbox: boolean;
}

async function dataplansRoutes(app: FastifyInstance, deps: RouteDeps): Promise<void> {
  const { ctx, twins, purchases, qr } = deps;
  await app.register(formbody);

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
    if (error instanceof DataplansError) {
      for (const [name, value] of Object.entries(error.headers)) reply.header(name, value);
      return reply.code(error.status).send({ error: error.message });
    }
    if (error instanceof PurchaseFailed) return reply.code(503).send({ error: error.message, purchaseId: error.purchaseId, refunded: true });
    if (isDomainError(error)) return reply.code(STATUS_BY_CODE[error.code] ?? 400).send({ error: error.message });
    if (error.statusCode && error.statusCode < 500) return reply.code(error.statusCode).send({ error: error.message });
    request.log.error({ err: error }, 'unhandled error in the dataplans dialect');
    return reply.code(500).send({ error: 'Internal server error' });
  });

  async function account(request: FastifyRequest): Promise<Account> {
    const raw = request.headers.authorization;
    const header = (Array.isArray(raw) ? raw[0] : raw)?.trim() ?? '';
    const apiKey = header.replace(/^Bearer\s+/i, '').trim();
    if (!apiKey) throw new DataplansError(401, 'Unauthorized: send your API key in the Authorization header');
    if (apiKey.length > 512) throw new DataplansError(401, 'Unauthorized: invalid API key');
    const realNowMs = ctx.now();
    const auth = await ctx.keys.resolve(apiKey, realNowMs);
    if (!auth) throw new DataplansError(401, 'Unauthorized: invalid API key');
    if (isBlocked(auth, request.ip)) throw new DataplansError(403, `Forbidden: this IP is in the blocklist: ${request.ip}`);
    if (auth.partner.status !== 'active') throw new DataplansError(403, `Forbidden: the account is ${auth.partner.status}`);
    const perSecond = auth.partner.rate_limit_per_second ?? ctx.config.rateLimitPerSecond;
    const waitMs = await ctx.rateLimiter.acquire(auth.key.id, perSecond, realNowMs);
    if (waitMs > 0) throw new DataplansError(429, `Too many requests: ${perSecond} per second per API key; retry after ${waitMs} ms`, { 'retry-after': String(Math.ceil(waitMs / 1000)) });
    let partner = await accountFor(ctx, auth.partner, request, deps.sandbox, realNowMs);
    // Sandbox clocks move: read the row fresh.
    if (partner.environment === 'sandbox' && partner === auth.partner) partner = await ctx.partners.get(partner.id);
    if (partner.status !== 'active') throw new DataplansError(403, `Forbidden: the account is ${partner.status}`);
    const nowMs = realNowMs + (partner.environment === 'sandbox' ? Number(partner.clock_offset_ms) : 0);
    return { partner, nowMs, sandbox: partner.environment === 'sandbox' };
  }

  // ---- catalogue --------------------------------------------------------------------------------------------

  let viewCache: { version: number; view: CatalogView; reloadableGroups: Set<string> } | null = null;
  function catalogView() {
    if (!viewCache || viewCache.version !== ctx.catalog.version) {
      const groups = new Set(ctx.catalog.list({ type: 'TOPUP' }).map((p) => p.topup_group));
      viewCache = { version: ctx.catalog.version, view: new CatalogView(ctx.catalog.locations()), reloadableGroups: groups };
    }
    return viewCache;
  }
  const reloadable = (pkg: PackageTable) => pkg.support_topup_type === 2 && catalogView().reloadableGroups.has(pkg.topup_group);

  async function plans(partner: Partner, pkgs: PackageTable[]) {
    const { view } = catalogView();
    const out = [];
    for (const pkg of pkgs) {
      const retailMinor = await ctx.pricing.retailPriceIn(pkg, partner.currency);
      out.push(renderPlan(view, pkg, { retailMinor, currency: partner.currency }, pkg.type === 'BASE' ? reloadable(pkg) : false));
    }
    return out;
  }
  const basePlans = () => ctx.catalog.list({});

  app.get('/plans', async (request) => {
    const { partner } = await account(request);
    return plans(partner, basePlans());
  });

  app.get<{ Params: { slug: string } }>('/plan/:slug', async (request) => {
    const { partner } = await account(request);
    const pkg = purchases.plan(request.params.slug);
    return (await plans(partner, [pkg]))[0];
  });

  app.get<{ Params: { countryCode: string } }>('/plans/countries/:countryCode', async (request) => {
    const { partner } = await account(request);
    const code = request.params.countryCode.toUpperCase();
    return plans(partner, basePlans().filter((p) => p.location.split(',').includes(code)));
  });

  app.get<{ Params: { operatorSlug: string } }>('/plans/operators/:operatorSlug', async (request) => {
    const { partner } = await account(request);
    const { view } = catalogView();
    const slug = request.params.operatorSlug.toLowerCase();
    return plans(partner, basePlans().filter((p) => view.operatorOf(p).slug === slug));
  });

  app.get<{ Params: { regionSlug: string } }>('/plans/regions/:regionSlug', async (request) => {
    const { partner } = await account(request);
    const { view } = catalogView();
    const slug = request.params.regionSlug.toLowerCase();
    return plans(partner, basePlans().filter((p) => view.regionOf(p).slug === slug));
  });

  app.get('/countries', async (request) => {
    await account(request);
    const { view } = catalogView();
    const seen = new Map<string, { countryCode: string; countryName: string }>();
    for (const pkg of basePlans()) for (const c of view.countriesOf(pkg)) if (!seen.has(c.countryCode)) seen.set(c.countryCode, c);
    return [...seen.values()].sort((a, b) => a.countryName.localeCompare(b.countryName));
  });

  app.get('/regions', async (request) => {
    await account(request);
    return catalogView().view.regions();
  });

  app.get('/operators', async (request) => {
    await account(request);
    const { view } = catalogView();
    const seen = new Map<string, { slug: string; name: string }>();
    for (const pkg of basePlans()) {
      const op = view.operatorOf(pkg);
      if (!seen.has(op.slug)) seen.set(op.slug, { name: op.name, slug: op.slug });
    }
    return [...seen.values()].sort((a, b) => a.slug.localeCompare(b.slug));
  });

  // ---- account ------------------------------------------------------------------------------------------------

  async function balanceText(partner: Partner): Promise<string> {
    const { balanceMinor, currency } = await walletBalance(ctx.store.db, partner.id);
    return formatAmount(balanceMinor, currency);
  }

  async function tierOf(partner: Partner, nowMs: number) {
    const s = await ctx.pricing.standing(partner, nowMs);
    return {
      tier: s.tierId,
      name: s.tierName,
      source: s.source,
      assignedTier: s.assignedTierId,
      discountPercent: (10_000 - s.priceFactorBps) / 100,
      priceFactorBps: s.priceFactorBps,
      currency: s.currency,
      monthlySpend: formatAmount(s.monthlySpendMinor, s.currency),
      monthStart: iso(s.monthStartMs),
      monthEnd: iso(s.monthEndMs),
      nextTier: s.next
        ? {
            tier: s.next.tierId,
            name: s.next.tierName,
            discountPercent: (10_000 - s.next.priceFactorBps) / 100,
            priceFactorBps: s.next.priceFactorBps,
            threshold: formatAmount(s.next.thresholdMinor, s.currency),
            remaining: formatAmount(s.next.remainingMinor, s.currency),
          }
        : null,
    };
  }

  app.get('/accountBalance', async (request) => {
    const { partner, nowMs, sandbox } = await account(request);
    const tier = await tierOf(partner, nowMs);
    return { availableBalance: await balanceText(partner), currency: partner.currency, environment: sandbox ? 'sandbox' : 'live', tier: tier.tier };
  });

  app.get('/tier', async (request) => {
    const { partner, nowMs } = await account(request);
    return tierOf(partner, nowMs);
  });

  // ---- purchases ----------------------------------------------------------------------------------------------

  function body(request: FastifyRequest): Record<string, unknown> {
    const value = request.body;
    if (value === undefined || value === null || value === '') return {};
    if (typeof value === 'string') {
      try {
        const parsed = JSON.parse(value);
        if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
      } catch {
        /* not JSON */
      }
      throw new DataplansError(400, 'The body must be a JSON object or form-encoded');
    }
    if (typeof value !== 'object' || Array.isArray(value)) throw new DataplansError(400, 'The body must be a JSON object or form-encoded');
    return value as Record<string, unknown>;
  }

  function flag(value: unknown, fallback: boolean): boolean {
    if (value === undefined || value === null || value === '') return fallback;
    if (typeof value === 'boolean') return value;
    return !/^(false|0|no|off)$/i.test(String(value).trim());
  }

  function text(value: unknown, name: string): string {
    const v = Array.isArray(value) ? value[0] : value;
    if (typeof v !== 'string' || !v.trim()) throw new DataplansError(400, `${name} is required`);
    if (v.length > 200) throw new DataplansError(400, `${name} is too long`);
    return v.trim();
  }

  async function dataUrl(view: PurchaseView): Promise<string> {
    const { png } = await qr.get(view.esim.ac);
    return `data:image/png;base64,${png.toString('base64')}`;
  }

  app.post('/purchases', async (request) => {
    const { partner, nowMs } = await account(request);
    const input = body(request);
    const slug = text(input.slug ?? input.planSlug, 'slug');
    const view = await purchases.purchase({ partner, slug, nowMs });
    ctx.notifyEvents();
    const withQr = flag(input.includeQRDataURL, true);
    return {
      purchase: renderPurchase(view, withQr ? { qrCodeDataUrl: await dataUrl(view) } : {}),
      availableBalance: await balanceText(partner),
    };
  });

  app.get('/purchases', async (request) => {
    const { partner } = await account(request);
    const views = await purchases.list(partner.id);
    return views.map((v) => renderPurchase(v));
  });

  app.get<{ Params: { purchaseId: string }; Querystring: { includeQRDataURL?: string } }>('/purchases/:purchaseId', async (request) => {
    const { partner } = await account(request);
    const view = await purchases.get(partner.id, request.params.purchaseId);
    if (!view) throw new DataplansError(404, `Purchase ${request.params.purchaseId} not found`);
    return renderPurchase(view, flag(request.query.includeQRDataURL, false) ? { qrCodeDataUrl: await dataUrl(view) } : {});
  });

  // ---- status ---------------------------------------------------------------------------------------------------

  const packageOf = (code: string) => ctx.catalog.all().find((p) => p.package_code === code);

  app.get<{ Params: { operatorSlug: string; phoneNumber: string } }>('/status/:operatorSlug/:phoneNumber', async (request) => {
    const { partner, nowMs } = await account(request);
    const view = await purchases.findByPhone(partner.id, request.params.phoneNumber);
    const pkg = view ? packageOf(view.esim.package_code) : undefined;
    const operator = pkg ? catalogView().view.operatorOf(pkg).slug : null;
    if (!view || (operator !== null && operator !== request.params.operatorSlug.toLowerCase())) {
      throw new DataplansError(404, `No eSIM with phone number ${request.params.phoneNumber} on operator ${request.params.operatorSlug}`);
    }
    return renderStatus(view, packageOf, nowMs);
  });

  app.get<{ Params: { purchaseId: string } }>('/status/:purchaseId', async (request) => {
    const { partner, nowMs } = await account(request);
    const view = await purchases.get(partner.id, request.params.purchaseId);
    if (!view) throw new DataplansError(404, `Purchase ${request.params.purchaseId} not found`);
    return renderStatus(view, packageOf, nowMs);
  });

  // ---- top-ups of reloadable plans ------------------------------------------------------------------------------

  app.get<{ Params: { purchaseId: string } }>('/topups/:purchaseId', async (request) => {
    const { partner } = await account(request);
    return plans(partner, await purchases.topupPlans(partner.id, request.params.purchaseId));
  });

  app.post('/topups', async (request) => {
    const { partner, nowMs } = await account(request);
    const input = body(request);
    const purchaseId = text(input.purchaseId, 'purchaseId');
    const slug = text(input.slug ?? input.planSlug, 'slug');
    const topupId = input.topupId === undefined ? undefined : text(input.topupId, 'topupId');
    const result = await purchases.topup({ partner, purchaseId, slug, nowMs, topupId });
    ctx.notifyEvents();
    return {
      topup: {
        topupId: result.topupId,
        purchaseId,
        planSlug: result.pkg.slug,
        planName: result.pkg.name,
        retail: formatAmount(result.retailMinor, result.currency),
        paid: formatAmount(result.paidMinor, result.currency),
        currency: result.currency,
        purchasedAt: iso(result.purchasedAtMs),
      },
      status: renderStatus(result.view, packageOf, nowMs),
      availableBalance: await balanceText(partner),
    };
  });
}

