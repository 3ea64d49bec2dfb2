import type { AppContext } from '../../../../context.ts';
import { walletBalance } from '../../../../domain/ledger/ledger.ts';
import { formatEsimAccessTime } from '../../../../lib/time.ts';
import { EsimAccessError } from '../envelope.ts';
import { optionalEnum, optionalString } from '../params.ts';
import { RawJson, type RouteTable } from '../plugin.ts';
import { PackageRenderer } from '../render-package.ts';

/** balance/query, package/list and location/list. */
export function readRoutes(ctx: AppContext): RouteTable {
  const renderer = new PackageRenderer(ctx.catalog);
  return {
    '/balance/query': async ({ auth }) => {
      const balance = await walletBalance(ctx.store.db, auth.partner.id);
      return { balance: balance.balanceMinor, lastUpdateTime: formatEsimAccessTime(balance.updatedAtMs) };
    },

    '/package/list': async ({ auth, body }) => {
      const locationCode = optionalString(body, 'locationCode', { max: 20 });
      const type = optionalEnum(body, 'type', ['BASE', 'TOPUP'] as const) ?? 'BASE';
      const packageCode = optionalString(body, 'packageCode', { max: 100 });
      const slug = optionalString(body, 'slug', { max: 100 });
      const iccid = optionalString(body, 'iccid', { max: 22 });
      let basePackageCode: string | undefined;
      if (iccid) {
        basePackageCode = (await ctx.catalog.basePackageOfIccid?.(auth.partner.id, iccid)) ?? undefined;
        if (!basePackageCode) throw new EsimAccessError('310403', `The ICCID ${iccid} does not exist`);
      }
      const rows = ctx.catalog.list({ locationCode, type, packageCode, slug, iccidPackageCode: basePackageCode });
      const tierFactorBps = await ctx.catalog.tierFactorBps(auth.partner.price_tier_id);
      return new RawJson(`{"packageList":[${renderer.render(rows, tierFactorBps).join(',')}]}`);
    },

    '/location/list': async () => {
      return new RawJson(renderer.locationListJson());
    },
  };
}
