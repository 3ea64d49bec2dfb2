import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { importProfiles, type ImportIssue } from '../domain/pools/import.ts';
import { poolStock } from '../domain/pools/stock.ts';
import { print, table, withContext } from './context.ts';

function issueLines(issues: ImportIssue[]): string[] {
  return issues.map((i) => (i.line > 0 ? `line ${i.line}: ${i.reason}` : i.reason));
}

export function registerProfileCommands(program: Command): void {
  const profiles = program.command('profiles').description('live profile pools: import batches of real profiles, watch stock');

  profiles
    .command('import')
    .description('import a CSV batch of profiles into a package, operator or location pool; nothing is written when any row is bad')
    .argument('<file>', 'CSV with a header: iccid, ac (or smdp_address + matching_id), confirmation_code, imsi, msisdn, pin, puk, apn')
    .option('--package <code>', 'pool of one package (package code or slug)')
    .option('--operator <mccmnc>', "pool of an operator's profiles (MCC+MNC, e.g. 20801): every package whose operatorList names it may draw from it")
    .option('--location <code>', 'pool of a country or region code: every package there may draw from it')
    .option('--name <name>', 'batch name (default: the file name)')
    .option('--low-stock <n>', 'alert the operator when available profiles fall to this many', '0')
    .option('--json', 'print the result as JSON')
    .action(async (file: string, options) => {
      if ([options.package, options.operator, options.location].filter((v) => v !== undefined).length !== 1) throw new Error('give exactly one of --package CODE, --operator MCCMNC or --location CC');
      if (!/^\d+$/.test(String(options.lowStock))) throw new Error(`--low-stock must be a whole number >= 0 (got ${JSON.stringify(options.lowStock)})`);
      if (!fs.existsSync(file)) throw new Error(`${file} does not exist`);
      const text = fs.readFileSync(file, 'utf8');
      await withContext(async (ctx) => {
        let packageCode: string | undefined;
        if (options.package !== undefined) {
          const pkg = ctx.catalog.get(options.package);
          if (pkg && pkg.type !== 'BASE') throw new Error(`package ${pkg.package_code} is a top-up: profiles belong to base packages`);
          packageCode = pkg?.package_code ?? options.package;
        }
        const known = new Set(ctx.catalog.all().map((p) => p.package_code));
        const result = await importProfiles(ctx.store.db, {
          rowsText: text,
          pool: { packageCode, operator: options.operator, locationCode: options.location },
          batchName: options.name ?? path.basename(file),
          lowStockThreshold: Number(options.lowStock),
          nowMs: ctx.now(),
          catalogHas: (code) => known.has(code),
        });
        if (options.json) print(JSON.stringify(result));
        if (!result.ok) {
          if (!options.json) {
            for (const line of issueLines(result.errors)) process.stderr.write(`error: ${line}\n`);
            for (const line of issueLines(result.warnings)) process.stderr.write(`warning: ${line}\n`);
          }
          const lines = new Set(result.errors.map((e) => e.line)).size;
          throw new Error(`${result.errors.length} problem(s) on ${lines} line(s); nothing was imported`);
        }
        if (options.json) return;
        print(`imported ${result.inserted} profile(s) into pool ${result.pool} (batch ${result.batchId})`);
        for (const line of issueLines(result.warnings)) print(`warning: ${line}`);
      });
    });

  profiles
    .command('stock')
    .description('available and assigned profiles per pool, with low-stock flags')
    .option('--json', 'print JSON')
    .action(async (options) => {
      await withContext(async (ctx) => {
        const stock = await poolStock(ctx.store.db);
        if (options.json) return print(JSON.stringify(stock));
        table(stock.map((s) => ({ pool: s.pool, available: s.available, assigned: s.assigned, total: s.total, threshold: s.low_stock_threshold, low: s.low ? 'LOW' : '' })));
      });
    });
}
