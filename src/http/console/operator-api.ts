import { bumpCatalogGeneration } from '../../domain/catalog/generation.ts';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.ts';
import { partnerNow } from '../../context.ts';
import type { PackageTable, Partner, PriceTierTable } from '../../store/schema.ts';
import { checkDatabase } from '../ops/plugin.ts';
import { walletBalance } from '../../domain/ledger/ledger.ts';
import { decideDeposit, listDeposits, type DepositRequest } from '../../domain/console/deposits.ts';
import { importCatalog, parseCatalogFile, type ImportIssue as CatalogIssue } from '../../domain/catalog/import.ts';
import { importProfiles, type ImportIssue as ProfileIssue } from '../../domain/pools/import.ts';
import { changePartner, createPartnerWithUser, ledgerPage, listPartnersWithBalances, partnerExtras } from '../../domain/console/operator-partners.ts';
import { LIST_CURRENCY, tierPrice } from '../../domain/pricing/pricing.ts';
import { getPackage, listTiers, searchPackages, updatePackage, updateTier, MAX_FACTOR_BPS, MIN_FACTOR_BPS } from '../../domain/console/operator-catalog.ts';
import { poolsView } from '../../domain/console/operator-pools.ts';
import { operatorOverview } from '../../domain/console/operator-overview.ts';
import { useStrictValidation } from '../v1/validation.ts';
import { decodeCursor, encodeCursor } from '../v1/pagination.ts';
import { Problem, type FieldError } from '../v1/problem.ts';
import { requireSession } from './auth-api.ts';

/** CSV imports (catalogue, profile batches) may be this large; other console bodies keep the 1 MiB default. */
export const IMPORT_BODY_LIMIT = 8 * 1024 * 1024;
/** At most this many row problems are listed in a refused import (the count says how many there were). */
const MAX_LISTED_ISSUES = 500;

const iso = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : new Date(Number(ms)).toISOString());
const hidden = { hide: true };

const Limit = Type.Optional(Type.Integer({ minimum: 1, maximum: 200 }));
const Offset = Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 }));
const Id = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });
const Code = Type.Object({ code: Type.String({ minLength: 1, maxLength: 100 }) });
const Money = (description: string) => Type.Integer({ minimum: 0, description: `${description}, in 1/10,000 of the currency` });

const CreatePartnerBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    environment: Type.Union([Type.Literal('sandbox'), Type.Literal('live')]),
    currency: Type.Optional(Type.String({ pattern: '^[A-Za-z]{3}$' })),
    price_tier_id: Type.Optional(Type.String({ minLength: 1, maxLength: 40 })),
    initial_deposit: Type.Optional(Money('Initial deposit')),
    user: Type.Optional(
      Type.Object({ email: Type.String({ minLength: 3, maxLength: 320 }), password: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false }),
    ),
  },
  { additionalProperties: false },
);
type CreatePartnerInput = {
  name: string;
  environment: 'sandbox' | 'live';
  currency?: string;
  price_tier_id?: string;
  initial_deposit?: number;
  user?: { email: string; password: string };
};

const UpdatePartnerBody = Type.Object(
  {
    status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('suspended')])),
    price_tier_id: Type.Optional(Type.String({ minLength: 1, maxLength: 40 })),
  },
  { additionalProperties: false, minProperties: 1 },
);

const UpdateTierBody = Type.Object(
  {
    price_factor_bps: Type.Optional(Type.Integer({ minimum: MIN_FACTOR_BPS, maximum: MAX_FACTOR_BPS })),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    min_monthly_volume: Type.Optional(Money('Monthly spend from which the tier applies')),
  },
  { additionalProperties: false, minProperties: 1 },
);

const UpdatePackageBody = Type.Object(
  {
    status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('retired')])),
    price: Type.Optional(Type.Integer({ minimum: 1, description: 'List price in 1/10,000 of the package currency' })),
  },
  { additionalProperties: false, minProperties: 1 },
);

const DepositStatus = Type.Union([Type.Literal('pending'), Type.Literal('approved'), Type.Literal('rejected')]);

function renderPartner(p: Partner & { balance_minor?: number }) {
  return {
    id: p.id,
    name: p.name,
    environment: p.environment,
    currency: p.currency,
    price_tier_id: p.price_tier_id,
    status: p.status,
    rate_limit_per_second: p.rate_limit_per_second,
    ...(p.balance_minor !== undefined ? { balance: p.balance_minor } : {}),
    created_at: iso(p.created_at),
    updated_at: iso(p.updated_at),
  };
}

function renderTier(t: PriceTierTable) {
  return { id: t.id, name: t.name, price_factor_bps: Number(t.price_factor_bps), min_monthly_volume: Number(t.min_monthly_volume) };
}

function renderPackage(p: PackageTable, tiers: PriceTierTable[]) {
  const list = Number(p.price);
  return {
    package_code: p.package_code,
    slug: p.slug,
    name: p.name,
    type: p.type,
    status: p.status,
    supply: p.supply,
    location_code: p.location_code,
    locations: p.location ? p.location.split(',') : [],
    volume_bytes: Number(p.volume),
    duration: p.duration,
    duration_unit: p.duration_unit,
    data_type: p.data_type,
    currency: p.currency_code || 'USD',
    list_price: list,
    retail_price: Number(p.retail_price),
    tier_prices: tiers.map((t) => ({ tier_id: t.id, tier_name: t.name, price_factor_bps: Number(t.price_factor_bps), price: tierPrice(list, Number(t.price_factor_bps), p.currency_code || LIST_CURRENCY) })),
    updated_at: iso(p.updated_at),
  };
}

function renderDeposit(d: DepositRequest, partners: Map<string, Pick<Partner, 'name' | 'environment'>>) {
  const partner = partners.get(d.partner_id);
  return {
    id: d.id,
    partner_id: d.partner_id,
    partner_name: partner?.name ?? null,
    environment: partner?.environment ?? null,
    amount: Number(d.amount_minor),
    currency: d.currency,
    reference: d.reference,
    status: d.status,
    requested_by: d.requested_by,
    created_at: iso(d.created_at),
    decided_at: iso(d.decided_at),
    decided_by: d.decided_by,
    transfer_id: d.transfer_id,
  };
}

/** A refused import: one problem listing each bad row as `line N` (and the field when known). */
function importRefused(issues: Array<CatalogIssue | ProfileIssue>): Problem {
  const lines = new Set(issues.map((i) => i.line)).size;
  // One entry per line (and field): clients key lists by loc, and one line may have several problems.
  const byLoc = new Map<string, FieldError>();
  for (const i of issues) {
    const loc = `${i.line > 0 ? `line ${i.line}` : 'file'}${'field' in i && i.field ? ` ${i.field}` : ''}`;
    const entry = byLoc.get(loc);
    if (entry) entry.msg += `; ${i.reason}`;
    else if (byLoc.size < MAX_LISTED_ISSUES) byLoc.set(loc, { loc, msg: i.reason, type: 'row' });
  }
  const errors = [...byLoc.values()];
  const more = byLoc.size < new Set(issues.map((i) => `${i.line}|${'field' in i ? i.field : ''}`)).size ? ` (the first ${MAX_LISTED_ISSUES} lines are listed)` : '';
  return new Problem('invalid_request', `${issues.length} problem(s) on ${lines} line(s); nothing was imported${more}`, { errors });
}

/** The CSV of an import: a text/csv (or text/plain) body, or `csv` in a JSON body. */
function csvOf(request: FastifyRequest): { text: string; fields: Record<string, unknown> } {
  const body = request.body;
  if (typeof body === 'string') return { text: body, fields: {} };
  if (body && typeof body === 'object' && !Array.isArray(body) && typeof (body as { csv?: unknown }).csv === 'string') {
    const { csv, ...fields } = body as { csv: string };
    return { text: csv, fields };
  }
  throw new Problem('invalid_request', 'send the file as a text/csv body, or as {"csv": "<file text>"} in JSON', { errors: [{ loc: 'body.csv', msg: 'is required', type: 'required' }] });
}

function optionalString(fields: Record<string, unknown>, name: string, max: number): string | undefined {
  const value = fields[name];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string' || value.length > max) throw new Problem('invalid_request', `${name} must be a string of at most ${max} characters`, { errors: [{ loc: `body.${name}`, msg: `must be a string of at most ${max} characters`, type: 'type' }] });
  return value;
}

/**
 * The operator console's API under /console/api/operator: every route needs an operator's session (401
 * without one, 403 for a partner user), checked before the body is even read.
 */
export async function operatorRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  await app.register(
    async (op) => {
      useStrictValidation(op);
      op.addHook('onRequest', async (request) => {
        await requireSession(ctx, request, 'operator');
      });
      op.addContentTypeParser(['text/csv', 'text/plain'], { parseAs: 'string', bodyLimit: IMPORT_BODY_LIMIT }, (_request, body, done) => done(null, body));
      const db = ctx.store.db;

      /** After a change of packages or tiers: ordering, package lists and prices use the new values at once. */
      const catalogChanged = async () => {
        ctx.pricing.invalidate();
        await ctx.catalog.reload();
        await bumpCatalogGeneration(db);
      };

      // ---- overview ----------------------------------------------------------------------------------------
      op.get('/overview', { schema: hidden }, async () => {
        const nowMs = ctx.now();
        const figures = await operatorOverview(db, { nowMs, liveSourceOf: (pkg) => ctx.supply.sourceFor('live', pkg).name });
        // The same check as /readyz, under the same time limit.
        const check = await checkDatabase(ctx.store, ctx.config.readyCheckTimeoutMs);
        const database = check.reachable
          ? { status: check.pendingMigrations.length ? 'down' : 'ok', store: ctx.store.dialect, latency_ms: check.latencyMs, pending_migrations: check.pendingMigrations }
          : { status: 'down', store: ctx.store.dialect, latency_ms: null, pending_migrations: [], error: check.error };
        return {
          ...figures,
          generated_at: iso(figures.generated_at),
          webhooks: { ...figures.webhooks, oldest_backlog_at: iso(figures.webhooks.oldest_backlog_at) },
          deposits: { ...figures.deposits, oldest_at: iso(figures.deposits.oldest_at) },
          database,
          role: ctx.config.role,
        };
      });

      // ---- price tiers -------------------------------------------------------------------------------------
      op.get('/tiers', { schema: hidden }, async () => ({ data: (await listTiers(db)).map(renderTier) }));

      op.patch<{ Params: { id: string }; Body: { price_factor_bps?: number; name?: string; min_monthly_volume?: number } }>(
        '/tiers/:id',
        { schema: { ...hidden, params: Id, body: UpdateTierBody } },
        async (request) => {
          const b = request.body;
          const tier = await updateTier(db, request.params.id, { priceFactorBps: b.price_factor_bps, name: b.name, minMonthlyVolumeMinor: b.min_monthly_volume });
          await catalogChanged();
          return renderTier(tier);
        },
      );

      // ---- partners ----------------------------------------------------------------------------------------
      op.get<{ Querystring: { q?: string; environment?: 'sandbox' | 'live'; status?: Partner['status']; limit?: number; offset?: number } }>(
        '/partners',
        {
          schema: {
            ...hidden,
            querystring: Type.Object({
              q: Type.Optional(Type.String({ maxLength: 200 })),
              environment: Type.Optional(Type.Union([Type.Literal('sandbox'), Type.Literal('live')])),
              status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('suspended'), Type.Literal('closed')])),
              limit: Limit,
              offset: Offset,
            }),
          },
        },
        async (request) => {
          const q = request.query;
          const limit = q.limit ?? 50;
          const offset = q.offset ?? 0;
          const { rows, total } = await listPartnersWithBalances(db, { q: q.q, environment: q.environment, status: q.status, limit, offset });
          return { data: rows.map(renderPartner), total, limit, offset };
        },
      );

      op.post<{ Body: CreatePartnerInput }>('/partners', { schema: { ...hidden, body: CreatePartnerBody } }, async (request, reply) => {
        const b = request.body;
        const { partner, key, user } = await createPartnerWithUser(
          ctx.partners,
          { name: b.name, environment: b.environment, currency: b.currency ?? 'USD', priceTierId: b.price_tier_id ?? 'standard', depositMinor: b.initial_deposit ?? 0, user: b.user },
          ctx.now(),
        );
        const balance = await walletBalance(db, partner.id);
        return reply.code(201).send({
          partner: renderPartner({ ...partner, balance_minor: balance.balanceMinor }),
          // Shown once: only its hash and a sealed copy are stored.
          api_key: { key_id: key.keyId, access_code: key.accessCode, secret_key: key.secretKey },
          user: user ? { id: user.id, email: user.email } : null,
        });
      });

      op.get<{ Params: { id: string } }>('/partners/:id', { schema: { ...hidden, params: Id } }, async (request) => {
        const partner = await ctx.partners.get(request.params.id);
        const balance = await walletBalance(db, partner.id);
        const extras = await partnerExtras(db, partner.id);
        const ledger = await ledgerPage(db, partner.id, 20);
        let standing = null;
        try {
          standing = await ctx.pricing.standing(partner, partnerNow(ctx, partner));
        } catch {
          // A currency without an exchange rate has no tier thresholds; the rest of the page still shows.
        }
        return {
          partner: renderPartner({ ...partner, balance_minor: balance.balanceMinor }),
          users: extras.users.map((u) => ({ ...u, created_at: iso(u.created_at), last_login_at: iso(u.last_login_at) })),
          active_api_keys: extras.activeKeys,
          esims_by_status: extras.esimsByStatus,
          pending_deposits: { count: extras.pendingDeposits.count, amount: extras.pendingDeposits.amountMinor },
          tier: standing
            ? { effective_tier_id: standing.tierId, price_factor_bps: standing.priceFactorBps, source: standing.source, monthly_spend: standing.monthlySpendMinor }
            : null,
          ledger: { data: ledger.rows.map((t) => ({ ...t, created_at: iso(t.created_at) })), next_before: ledger.nextBeforeSeq },
        };
      });

      op.get<{ Params: { id: string }; Querystring: { limit?: number; before?: number } }>(
        '/partners/:id/ledger',
        { schema: { ...hidden, params: Id, querystring: Type.Object({ limit: Limit, before: Type.Optional(Type.Integer({ minimum: 1 })) }) } },
        async (request) => {
          const partner = await ctx.partners.get(request.params.id);
          const page = await ledgerPage(db, partner.id, request.query.limit ?? 50, request.query.before);
          return { data: page.rows.map((t) => ({ ...t, created_at: iso(t.created_at) })), next_before: page.nextBeforeSeq };
        },
      );

      op.patch<{ Params: { id: string }; Body: { status?: 'active' | 'suspended'; price_tier_id?: string } }>(
        '/partners/:id',
        { schema: { ...hidden, params: Id, body: UpdatePartnerBody } },
        async (request) => {
          const updated = await changePartner(ctx.partners, db, request.params.id, { status: request.body.status, priceTierId: request.body.price_tier_id }, ctx.now());
          // API keys resolve through a short cache: a suspension must bite on the very next request.
          ctx.keys.invalidate();
          const balance = await walletBalance(db, updated.id);
          return renderPartner({ ...updated, balance_minor: balance.balanceMinor });
        },
      );

      // ---- deposits ----------------------------------------------------------------------------------------
      op.get<{ Querystring: { status?: DepositRequest['status']; partner_id?: string; limit?: number; cursor?: string } }>(
        '/deposits',
        {
          schema: {
            ...hidden,
            querystring: Type.Object({ status: Type.Optional(DepositStatus), partner_id: Type.Optional(Type.String({ maxLength: 100 })), limit: Limit, cursor: Type.Optional(Type.String({ maxLength: 500 })) }),
          },
        },
        async (request) => {
          const q = request.query;
          const limit = q.limit ?? 50;
          const after = decodeCursor(q.cursor, ['number', 'string']);
          const rows = await listDeposits(db, { status: q.status, partnerId: q.partner_id, limit: limit + 1, before: after ? { createdAt: after[0] as number, id: after[1] as string } : undefined });
          const shown = rows.slice(0, limit);
          const ids = [...new Set(shown.map((d) => d.partner_id))];
          const partners = ids.length ? await db.selectFrom('partners').select(['id', 'name', 'environment']).where('id', 'in', ids).execute() : [];
          const byId = new Map(partners.map((p) => [p.id, p]));
          const last = shown[shown.length - 1];
          return { data: shown.map((d) => renderDeposit(d, byId)), has_more: rows.length > limit, next_cursor: rows.length > limit && last ? encodeCursor([Number(last.created_at), last.id]) : null };
        },
      );

      for (const decision of ['approve', 'reject'] as const) {
        op.post<{ Params: { id: string } }>(`/deposits/:id/${decision}`, { schema: { ...hidden, params: Id } }, async (request) => {
          const { user } = await requireSession(ctx, request, 'operator');
          const decided = await decideDeposit(db, request.params.id, decision, user.id, ctx.now());
          const partner = await db.selectFrom('partners').select(['id', 'name', 'environment']).where('id', '=', decided.partner_id).executeTakeFirst();
          const balance = await walletBalance(db, decided.partner_id);
          return { ...renderDeposit(decided, new Map(partner ? [[partner.id, partner]] : [])), partner_balance: balance.balanceMinor };
        });
      }

      // ---- catalogue ---------------------------------------------------------------------------------------
      op.get('/locations', { schema: hidden }, async () => ({
        data: ctx.catalog.locations().map((l) => ({ code: l.code, name: l.name, type: l.type === 2 ? 'region' : 'country' })),
      }));

      op.get<{ Querystring: { q?: string; location?: string; type?: 'BASE' | 'TOPUP'; status?: 'active' | 'retired'; limit?: number; offset?: number } }>(
        '/catalog/packages',
        {
          schema: {
            ...hidden,
            querystring: Type.Object({
              q: Type.Optional(Type.String({ maxLength: 100 })),
              location: Type.Optional(Type.String({ maxLength: 20, pattern: '^[A-Za-z0-9-]*$' })),
              type: Type.Optional(Type.Union([Type.Literal('BASE'), Type.Literal('TOPUP')])),
              status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('retired')])),
              limit: Limit,
              offset: Offset,
            }),
          },
        },
        async (request) => {
          const q = request.query;
          const limit = q.limit ?? 25;
          const offset = q.offset ?? 0;
          const { rows, total } = await searchPackages(db, { q: q.q, location: q.location, type: q.type, status: q.status, limit, offset });
          const tiers = await listTiers(db);
          return { data: rows.map((p) => renderPackage(p, tiers)), total, limit, offset, tiers: tiers.map(renderTier) };
        },
      );

      op.patch<{ Params: { code: string }; Body: { status?: 'active' | 'retired'; price?: number } }>(
        '/catalog/packages/:code',
        { schema: { ...hidden, params: Code, body: UpdatePackageBody } },
        async (request) => {
          const pkg = await updatePackage(db, request.params.code, { status: request.body.status, priceMinor: request.body.price }, ctx.now());
          await catalogChanged();
          return renderPackage(pkg, await listTiers(db));
        },
      );

      op.post('/catalog/import', { schema: hidden, bodyLimit: IMPORT_BODY_LIMIT }, async (request) => {
        const { text, fields } = csvOf(request);
        const unknown = Object.keys(fields);
        if (unknown.length) throw new Problem('invalid_request', `unknown field ${unknown[0]}`, { errors: unknown.map((f) => ({ loc: `body.${f}`, msg: 'is not a field of a catalogue import', type: 'additionalProperties' })) });
        const parsed = parseCatalogFile(text, 'csv');
        const result = await importCatalog(ctx.store, parsed, ctx.now());
        if (!result.ok) throw importRefused(result.errors);
        await catalogChanged();
        return { inserted: result.inserted, updated: result.updated, errors: [] };
      });

      // ---- profile pools -----------------------------------------------------------------------------------
      op.get('/pools', { schema: hidden }, async () => {
        const pools = await poolsView(db);
        return { data: pools.map((p) => ({ ...p, batches: p.batches.map((b) => ({ ...b, created_at: iso(b.created_at) })) })) };
      });

      op.post<{ Querystring: { package_code?: string; location_code?: string; operator?: string; batch_name?: string; low_stock_threshold?: number } }>(
        '/pools/import',
        {
          schema: {
            ...hidden,
            querystring: Type.Object({
              package_code: Type.Optional(Type.String({ maxLength: 100 })),
              location_code: Type.Optional(Type.String({ maxLength: 20 })),
              operator: Type.Optional(Type.String({ maxLength: 6, description: 'MCC+MNC of a catalogue operator' })),
              batch_name: Type.Optional(Type.String({ maxLength: 200 })),
              low_stock_threshold: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000_000 })),
            }),
          },
          bodyLimit: IMPORT_BODY_LIMIT,
        },
        async (request, reply) => {
          const { text, fields } = csvOf(request);
          const allowed = new Set(['package_code', 'location_code', 'operator', 'batch_name', 'low_stock_threshold']);
          const unknown = Object.keys(fields).filter((f) => !allowed.has(f));
          if (unknown.length) throw new Problem('invalid_request', `unknown field ${unknown[0]}`, { errors: unknown.map((f) => ({ loc: `body.${f}`, msg: 'is not a field of a profile import', type: 'additionalProperties' })) });
          const packageInput = optionalString(fields, 'package_code', 100) ?? request.query.package_code;
          const locationCode = optionalString(fields, 'location_code', 20) ?? request.query.location_code;
          const operator = optionalString(fields, 'operator', 6) ?? request.query.operator;
          const batchName = optionalString(fields, 'batch_name', 200) ?? request.query.batch_name ?? `console import ${new Date(ctx.now()).toISOString().slice(0, 16).replace('T', ' ')}`;
          let threshold = request.query.low_stock_threshold ?? 0;
          if (fields.low_stock_threshold !== undefined) {
            const t = fields.low_stock_threshold;
            if (typeof t !== 'number' || !Number.isInteger(t) || t < 0 || t > 10_000_000) {
              throw new Problem('invalid_request', 'low_stock_threshold must be a whole number >= 0', { errors: [{ loc: 'body.low_stock_threshold', msg: 'must be a whole number >= 0', type: 'integer' }] });
            }
            threshold = t;
          }
          if ([packageInput, locationCode, operator].filter((v) => v !== undefined).length !== 1) {
            throw new Problem('invalid_request', 'give exactly one of package_code, operator or location_code for the pool', { errors: [{ loc: 'body.package_code', msg: 'give exactly one of package_code, operator or location_code', type: 'oneOf' }] });
          }
          let packageCode: string | undefined;
          if (packageInput !== undefined) {
            const pkg = ctx.catalog.get(packageInput) ?? (await getPackage(db, packageInput).catch(() => undefined));
            if (pkg && pkg.type !== 'BASE') throw new Problem('invalid_request', `package ${pkg.package_code} is a top-up: profiles belong to base packages`, { errors: [{ loc: 'body.package_code', msg: 'is a top-up package', type: 'type' }] });
            packageCode = pkg?.package_code ?? packageInput;
          }
          const known = new Set((await db.selectFrom('packages').select('package_code').execute()).map((p) => p.package_code));
          const result = await importProfiles(db, {
            rowsText: text,
            pool: { packageCode, locationCode, operator },
            batchName,
            lowStockThreshold: threshold,
            nowMs: ctx.now(),
            catalogHas: (code) => known.has(code),
          });
          if (!result.ok) throw importRefused(result.errors);
          return reply.code(201).send({ batch_id: result.batchId, pool: result.pool, inserted: result.inserted, warnings: result.warnings.map((w) => ({ line: w.line, reason: w.reason })) });
        },
      );
    },
    { prefix: '/operator' },
  );
}
