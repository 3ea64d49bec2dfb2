import fs from 'node:fs';
import type { Command } from 'commander';
import { importCatalog, parseCatalogFile } from '../domain/catalog/import.ts';
import { print, withContext } from './context.ts';

export function registerCatalogCommands(program: Command): void {
  const catalog = program.command('catalog').description('manage the package catalogue');
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
