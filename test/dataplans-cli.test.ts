import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Command } from 'commander';
import { registerPricingCommands } from '../src/cli/pricing.ts';

/** Runs `esimhub pricing …` in-process (the command is wired into main.ts by the CLI owner) and captures stdout. */
async function run(args: string[]): Promise<string> {
  const program = new Command().exitOverride();
  registerPricingCommands(program);
  const lines: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  try {
    await program.parseAsync(['node', 'esimhub', ...args]);
  } finally {
    process.stdout.write = write;
  }
  return lines.join('');
}

describe('esimhub pricing', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'esimhub-dp-cli-'));
  process.env.DATA_DIR = dataDir;
  process.env.LOG_LEVEL = 'silent';
  process.env.SEED_DEMO = 'false';
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('sets and lists rates and price lists, shows tiers, a partner standing and a quote', async () => {
    expect(await run(['pricing', 'rate', 'set', 'thb', '35.5'])).toMatch(/1 USD = 35\.5 THB/);
    const rates = JSON.parse(await run(['pricing', 'rate', 'list', '--json']));
    expect(rates).toContainEqual(expect.objectContaining({ currency: 'THB', unitsPerUsd: '35.5' }));
    await expect(run(['pricing', 'rate', 'set', 'THB', '-1'])).rejects.toThrow(/rate must be/);

    const tiers = JSON.parse(await run(['pricing', 'tiers', '--json']));
    expect(tiers.map((t: any) => t.id)).toEqual(['standard', 'silver', 'gold', 'platinum']);

    // A THB partner through the same store.
    const { withContext } = await import('../src/cli/context.ts');
    const { partnerId, code } = await withContext(async (ctx) => {
      const { partner } = await ctx.partners.create({ name: 'THB Co', currency: 'THB', environment: 'sandbox' }, ctx.now());
      return { partnerId: partner.id, code: ctx.catalog.list({ locationCode: 'TH' })[0].package_code };
    });
    const standing = await run(['pricing', 'tier', partnerId]);
    expect(standing).toMatch(/tier standard/);
    expect(standing).toMatch(/next: silver .* from 177500\.00 THB/);
    const quote = await run(['pricing', 'quote', partnerId, code]);
    expect(quote).toMatch(new RegExp(`${code} .*: \\d+\\.\\d{2} THB`));
    expect(await run(['pricing', 'price', 'set', 'THB', code, '99.00'])).toMatch(/99\.00 THB/);
    expect(await run(['pricing', 'quote', partnerId, code])).toMatch(/: 99\.00 THB/);
    expect(JSON.parse(await run(['pricing', 'price', 'list', 'THB', '--json']))).toEqual([{ packageCode: code, priceMinor: 990_000 }]);
  });
});
