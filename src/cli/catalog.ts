import fs from 'node:fs';
import type { Command } from 'commander';
import { importCatalog, parseCatalogFile } from '../domain/catalog/import.ts';
import { print, table, withContext } from './context.ts';
import { formatMinor } from '../lib/money.ts';

export function registerCatalogCommands(program: Command): void {
  const catalog = program.command('catalog').description('manage the package catalogue');
  catalog
    .command('list')
    .description('list packages (what package/list and /v1/packages sell), at list price')
    .option('--location <code>', 'country or region code, !RG (regional) or !GL (global)')
    .option('--type <type>', 'BASE or TOPUP', 'BASE')
    .option('--json', 'print JSON')
    .action(async (options) => {
      const type = String(options.type).toUpperCase();
      if (type !== 'BASE' && type !== 'TOPUP') throw new Error('--type must be BASE or TOPUP');
      await withContext(async (ctx) => {
        const rows = ctx.catalog.list({ locationCode: options.location, type: type as 'BASE' | 'TOPUP' });
        if (options.json) return print(JSON.stringify(rows));
        table(rows.map((p) => ({ packageCode: p.package_code, slug: p.slug, name: p.name, price: formatMinor(Number(p.price), p.currency_code), volumeBytes: Number(p.volume), days: p.duration, dataType: p.data_type })));
        print(`${rows.length} packages`);
      });
    });

  catalog
    .command('import')
    .description('import packages from a CSV or JSON file; nothing is applied when any row is bad')
    .argument('<file>', 'a .csv or .json file')
    .option('--format <format>', 'csv or json (default: from the file extension)')
    .action(async (file: string, options) => {
      const format = (options.format ?? (file.toLowerCase().endsWith('.json') ? 'json' : 'csv')) as string;
      if (format !== 'csv' && format !== 'json') throw new Error('--format must be csv or json');
      if (!fs.existsSync(file)) throw new Error(`${file} does not exist`);
      const text = fs.readFileSync(file, 'utf8');
      await withContext(async (ctx) => {
        const parsed = parseCatalogFile(text, format);
        const result = await importCatalog(ctx.store, parsed, ctx.now());
        if (!result.ok) {
          const lines = result.errors.map((e) => `  line ${e.line}${e.field ? ` (${e.field})` : ''}: ${e.reason}`);
          throw new Error(`${file}: ${result.errors.length} bad row(s), nothing was imported:\n${lines.join('\n')}`);
        }
        print(`imported ${file}: ${result.inserted} new, ${result.updated} updated packages`);
      });
    });
}
