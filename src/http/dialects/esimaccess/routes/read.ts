import type { AppContext } from '../../../../context.ts';
import { walletBalanceFast } from '../../../../domain/ledger/ledger.ts';
import { formatEsimAccessTime } from '../../../../lib/time.ts';
import { EsimAccessError } from '../envelope.ts';
import { optionalEnum, optionalString } from '../params.ts';
import { RawJson, type RouteTable } from '../plugin.ts';
import { PackageRenderer, renderInCurrency } from '../render-package.ts';
import { LIST_CURRENCY } from '../../../../domain/pricing/pricing.ts';
import { LruCache } from '../../../../lib/lru.ts';

/** balance/query, package/list and location/list. */
export function readRoutes(ctx: AppContext): RouteTable {
  const renderer = new PackageRenderer(ctx.catalog);
  // Whole answers by filter: the unfiltered catalogue is ~3 MB of JSON and clients fetch it often.
  const answers = new LruCache<string, RawJson>(256);
  // Render the standard tier's catalogue at start-up, so the first partner does not pay for it.
  renderer.render(ctx.catalog.list({ type: 'BASE' }), 10_000);
  return {
    '/balance/query': async ({ auth }) => {
      const balance = await walletBalanceFast(ctx.store, auth.partner.id);
      return { balance: balance.balanceMinor, lastUpdateTime: formatEsimAccessTime(balance.updatedAtMs) };
    },

    '/package/list': async ({ auth, body, nowMs }) => {
      const locationCode = optionalString(body, 'locationCode', { max: 20 });
      const type = optionalEnum(body, 'type', ['BASE', 'TOPUP'] as const) ?? 'BASE';
      const packageCode = optionalString(body, 'packageCode', { max: 100 });
      const slug = optionalString(body, 'slug', { max: 100 });
      const iccid = optionalString(body, 'iccid', { max: 22 });
      // A package the request names must exist (310241), whatever the other filters: an empty list would read as
      // "no top-ups fit" or "not sold here" and hide a typo.
      if (packageCode && !ctx.catalog.get(packageCode)) throw new EsimAccessError('310241', `The packageCode ${packageCode} does not exist`);
      if (slug && !packageCode && ctx.catalog.get(slug)?.slug !== slug) throw new EsimAccessError('310241', `The slug ${slug} does not exist`);
      let basePackageCode: string | undefined;
      if (iccid) {
        basePackageCode = (await ctx.catalog.basePackageOfIccid?.(auth.partner.id, iccid)) ?? undefined;
        if (!basePackageCode) throw new EsimAccessError('310403', `The ICCID ${iccid} does not exist`);
      }
      // The partner's tier this month (domain/pricing): the price shown is the price esim/order charges.
      const tierFactorBps = (await ctx.pricing.standing(auth.partner, nowMs)).priceFactorBps;
      if (auth.partner.currency !== LIST_CURRENCY) {
        const rows = ctx.catalog.list({ locationCode, type, packageCode, slug, iccidPackageCode: basePackageCode });
        const priceOf = await ctx.pricing.priceFunction(auth.partner, nowMs);
        const retailOf = await ctx.pricing.retailFunction(auth.partner.currency);
        return new RawJson(`{"packageList":[${renderInCurrency(rows, priceOf, retailOf, auth.partner.currency, tierFactorBps).join(',')}]}`);
      }
      const key = `${ctx.catalog.version}|${tierFactorBps}|${type}|${locationCode ?? ''}|${packageCode ?? ''}|${slug ?? ''}|${basePackageCode ?? ''}`;
      let answer = answers.get(key);
      if (answer === undefined) {
        const rows = ctx.catalog.list({ locationCode, type, packageCode, slug, iccidPackageCode: basePackageCode });
        answer = new RawJson(`{"packageList":[${renderer.render(rows, tierFactorBps).join(',')}]}`);
        answers.set(key, answer);
      }
      return answer;
    },

    '/location/list': async () => {
      return new RawJson(renderer.locationListJson());
    },
  };
}
