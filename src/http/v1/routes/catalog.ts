import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../../context.ts';
import { Problem } from '../problem.ts';
import { caller } from '../guard.ts';
import { decodeCursor, DEFAULT_PAGE_LIMIT, page, pageSorted } from '../pagination.ts';
import { findEsimByRef, listOperators } from '../queries.ts';
import { partnerPrice, renderLocation, renderOperator, renderPackage } from '../render.ts';
import { IdParams, ListOf, LocationSchema, OperatorSchema, PackageQuery, PackageSchema, PageQuery } from '../schemas.ts';
import { errorResponses, op } from '../kit.ts';
import type { PackageTable, Partner } from '../../../store/schema.ts';
import { DATA_TYPE_GROUPS, searchPackages, type DataTypeGroup } from '../../../domain/catalog/package-search.ts';

const PackageListQuery = Type.Object({
  ...PackageQuery.properties,
  q: Type.Optional(Type.String({ maxLength: 100, description: 'Case-insensitive text found in the name, package code, slug or location name (e.g. `Japan`, `5GB`)' })),
  data_type: Type.Optional(
    Type.Union(
      (Object.keys(DATA_TYPE_GROUPS) as DataTypeGroup[]).map((k) => Type.Literal(k)),
      { description: 'fixed (data_type 1), daily (2 and 3: a daily allowance, then slowed or cut off) or unlimited (4)' },
    ),
  ),
});

export async function catalogRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  app.get<{ Querystring: { limit?: number; cursor?: string; type?: 'country' | 'region' } }>(
    '/locations',
    {
      schema: {
        ...op('Catalog', 'listLocations', 'List locations (countries and regions), by code'),
        querystring: Type.Object({ ...PageQuery, type: Type.Optional(Type.Union([Type.Literal('country'), Type.Literal('region')])) }),
        response: { 200: ListOf(LocationSchema, 'Location'), ...errorResponses },
      },
    },
    async (request) => {
      const wanted = request.query.type;
      const rows = ctx.catalog.locations().map(renderLocation).filter((l) => !wanted || l.type === wanted);
      return pageSorted(rows, request.query, ['string'], (l) => [l.code], (l) => l);
    },
  );

  app.get<{ Querystring: { limit?: number; cursor?: string; country?: string } }>(
    '/operators',
    {
      schema: {
        ...op('Catalog', 'listOperators', 'List mobile network operators, by country and name'),
        querystring: Type.Object({ ...PageQuery, country: Type.Optional(Type.String({ minLength: 2, maxLength: 2, description: 'ISO 3166-1 alpha-2' })) }),
        response: { 200: ListOf(OperatorSchema, 'Operator'), ...errorResponses },
      },
    },
    async (request) => {
      const limit = request.query.limit ?? DEFAULT_PAGE_LIMIT;
      const rows = await listOperators(ctx.store.db, { country: request.query.country, limit, cursor: request.query.cursor });
      return page(rows, limit, (o) => [o.country_code, o.name, o.id], renderOperator);
    },
  );

  app.get<{ Querystring: { limit?: number; cursor?: string; type?: 'base' | 'topup'; location?: string; topup_for_package?: string; topup_for_esim?: string; q?: string; data_type?: DataTypeGroup } }>(
    '/packages',
    {
      schema: {
        ...op('Catalog', 'listPackages', 'List packages', { description: 'Filter by location, text (q) and data type, or list the top-ups that fit a base package or an eSIM (type=topup with topup_for_package or topup_for_esim).' }),
        querystring: PackageListQuery,
        response: { 200: ListOf(PackageSchema, 'Package'), ...errorResponses },
      },
    },
    async (request) => {
      const q = request.query;
      const { partner } = caller(request);
      const type = q.type === 'topup' ? 'TOPUP' : 'BASE';
      let ref: string | undefined = q.topup_for_package;
      if (q.topup_for_esim) ref = (await findEsimByRef(ctx.store.db, partner.id, q.topup_for_esim)).package_code;
      if (ref && type !== 'TOPUP') throw new Problem('invalid_request', 'topup_for_package and topup_for_esim need type=topup', { errors: [{ loc: 'query.type', msg: 'must be topup', type: 'const' }] });
      // An eSIM's package may have left the catalogue: its top-up group still names what fits.
      let rows: PackageTable[];
      if (ref && !ctx.catalog.get(ref)) {
        const base = ctx.catalog.all().find((p) => p.package_code === ref);
        rows = base ? ctx.catalog.list({ type: 'TOPUP', locationCode: q.location }).filter((p) => p.topup_group === base.topup_group) : [];
      } else {
        rows = ctx.catalog.list({ type, locationCode: q.location, packageCode: ref });
      }
      if (q.q || q.data_type) {
        const names = new Map(ctx.catalog.locations().map((l) => [l.code, l.name]));
        rows = searchPackages(rows, { text: q.q, dataType: q.data_type }, (code) => names.get(code));
      }
      const limit = q.limit ?? 20;
      const after = decodeCursor(q.cursor, ['string']);
      let start = 0;
      if (after) {
        const index = rows.findIndex((p) => p.package_code === after[0]);
        start = index >= 0 ? index + 1 : rows.length;
      }
      const priceOf = await partnerPriceOf(ctx, partner, caller(request).nowMs);
      return page(rows.slice(start, start + limit + 1), limit, (p) => [p.package_code], (p) => renderPackage(p, priceOf, partner.currency));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/packages/:id',
    {
      schema: {
        ...op('Catalog', 'getPackage', 'Get a package by code or slug'),
        params: IdParams,
        response: { 200: PackageSchema, ...errorResponses },
      },
    },
    async (request) => {
      const pkg = ctx.catalog.get(request.params.id);
      if (!pkg) throw new Problem('package_not_found', `The package ${request.params.id} does not exist`);
      const who = caller(request);
      return renderPackage(pkg, await partnerPriceOf(ctx, who.partner, who.nowMs), who.partner.currency);
    },
  );
}

/** The partner's prices as orders charge them (the pricing service when wired, else list price × tier). */
async function partnerPriceOf(ctx: AppContext, partner: Partner, nowMs: number): Promise<(pkg: PackageTable) => number> {
  if (ctx.catalog.priceFor) return ctx.catalog.priceFor(partner, nowMs);
  const factor = await ctx.catalog.tierFactorBps(partner.price_tier_id);
  return (pkg) => partnerPrice(Number(pkg.price), factor);
}
