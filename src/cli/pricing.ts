import type { Command } from 'commander';
import { parseUnitsToMinor } from '../lib/money.ts';
import { formatAmount } from '../domain/pricing/pricing.ts';
import { partnerNow } from '../context.ts';
import { print, table, withContext } from './context.ts';

/** `esimhub pricing …`: exchange rates, per-currency price lists, tiers and where a partner stands this month. */
export function registerPricingCommands(program: Command): void {
  const pricing = program.command('pricing').description('exchange rates, per-currency price lists and monthly tiers');

  const rate = pricing.command('rate').description('operator-set exchange rates (units of a currency per 1 USD)');
  rate
    .command('set')
    .argument('<currency>', 'ISO 4217 code, e.g. THB')
    .argument('<unitsPerUsd>', 'how many units one USD buys, e.g. 35.5 (at most 6 decimals)')
    .action(async (currency: string, unitsPerUsd: string) => {
      await withContext(async (ctx) => {
        await ctx.pricing.setRate(currency, unitsPerUsd, ctx.now());
        print(`1 USD = ${unitsPerUsd} ${currency.toUpperCase()}`);
      });
    });
  rate
    .command('list')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      await withContext(async (ctx) => {
        const rates = await ctx.pricing.listRates();
        if (options.json) return print(JSON.stringify(rates));
        table(rates.map((r) => ({ currency: r.currency, unitsPerUsd: r.unitsPerUsd, updatedAt: r.updatedAt ? new Date(r.updatedAt).toISOString() : '' })));
      });
    });
  rate
    .command('delete')
    .argument('<currency>')
    .action(async (currency: string) => {
      await withContext(async (ctx) => {
        if (!(await ctx.pricing.deleteRate(currency))) throw new Error(`no rate for ${currency}`);
        print(`deleted the ${currency.toUpperCase()} rate`);
      });
    });

  const price = pricing.command('price').description('per-currency list prices that override the exchange rate for a package');
  price
    .command('set')
    .argument('<currency>')
    .argument('<packageCode>', 'package code or slug')
    .argument('<amount>', 'list price before the tier factor, e.g. 399.00')
    .action(async (currency: string, packageCode: string, amount: string) => {
      const minor = parseUnitsToMinor(amount);
      if (minor === null || minor <= 0) throw new Error('amount must be a positive decimal such as 399.00');
      await withContext(async (ctx) => {
        await ctx.pricing.setListPrice(currency, packageCode, minor, ctx.now());
        print(`${packageCode} lists at ${formatAmount(minor, currency.toUpperCase())} ${currency.toUpperCase()}`);
      });
    });
  price
    .command('list')
    .argument('<currency>')
    .option('--json', 'print JSON')
    .action(async (currency: string, options: { json?: boolean }) => {
      await withContext(async (ctx) => {
        const rows = await ctx.pricing.listPrices(currency);
        if (options.json) return print(JSON.stringify(rows));
        table(rows.map((r) => ({ packageCode: r.packageCode, price: formatAmount(r.priceMinor, currency.toUpperCase()) })));
      });
    });
  price
    .command('delete')
    .argument('<currency>')
    .argument('<packageCode>')
    .action(async (currency: string, packageCode: string) => {
      await withContext(async (ctx) => {
        if (!(await ctx.pricing.deleteListPrice(currency, packageCode))) throw new Error(`no ${currency} price for ${packageCode}`);
        print(`deleted the ${currency.toUpperCase()} price of ${packageCode}`);
      });
    });

  pricing
    .command('tiers')
    .description("the operator's tier table (thresholds are monthly spend in USD)")
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      await withContext(async (ctx) => {
        const tiers = await ctx.store.db.selectFrom('price_tiers').selectAll().orderBy('min_monthly_volume').execute();
        if (options.json) return print(JSON.stringify(tiers));
        table(tiers.map((t) => ({ id: t.id, name: t.name, priceFactorBps: t.price_factor_bps, fromMonthlySpend: `${formatAmount(Number(t.min_monthly_volume), 'USD')} USD` })));
      });
    });

  pricing
    .command('tier')
    .description("a partner's tier this month, its spend and the next threshold")
    .argument('<partnerId>')
    .option('--json', 'print JSON')
    .action(async (partnerId: string, options: { json?: boolean }) => {
      await withContext(async (ctx) => {
        const partner = await ctx.partners.get(partnerId);
        const s = await ctx.pricing.standing(partner, partnerNow(ctx, partner));
        if (options.json) return print(JSON.stringify(s));
        const money = (m: number) => `${formatAmount(m, s.currency)} ${s.currency}`;
        print(`tier ${s.tierId} (${s.tierName}, factor ${s.priceFactorBps} bps, ${s.source}); assigned ${s.assignedTierId}`);
        print(`spend this month (${new Date(s.monthStartMs).toISOString().slice(0, 7)}): ${money(s.monthlySpendMinor)}`);
        print(s.next ? `next: ${s.next.tierId} (${s.next.priceFactorBps} bps) from ${money(s.next.thresholdMinor)}, ${money(s.next.remainingMinor)} to go` : 'next: none (best tier)');
      });
    });

  pricing
    .command('quote')
    .description('what a partner pays for a package right now')
    .argument('<partnerId>')
    .argument('<packageCode>', 'package code or slug')
    .option('--json', 'print JSON: {partnerId, packageCode, slug, priceMinor, currency}')
    .action(async (partnerId: string, packageCode: string, options: { json?: boolean }) => {
      await withContext(async (ctx) => {
        const partner = await ctx.partners.get(partnerId);
        const pkg = ctx.catalog.get(packageCode);
        if (!pkg) throw new Error(`package ${packageCode} does not exist`);
        const priceOf = await ctx.pricing.priceFunction(partner, partnerNow(ctx, partner));
        const priceMinor = priceOf(pkg);
        if (options.json) return print(JSON.stringify({ partnerId: partner.id, packageCode: pkg.package_code, slug: pkg.slug, priceMinor, currency: partner.currency }));
        print(`${pkg.package_code} (${pkg.slug}): ${formatAmount(priceMinor, partner.currency)} ${partner.currency}`);
      });
    });
}
