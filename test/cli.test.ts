import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Command } from 'commander';
import { runCli } from './helpers/process.ts';
import { openTestStore } from './helpers/store.ts';
import { buildProgram } from '../src/cli/main.ts';

/** Leaf commands that only read: each must take --json. */
const READ_COMMAND = /^(list|show|stock|query|quote|tier|tiers|deliveries|attempts|secret)$/;

describe('the esimhub command', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'esimhub-cli-'));
  const env = { DATA_DIR: dataDir, SANDBOX_ALLOCATION_DELAY_MS: '0' };
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('creates partners, deposits idempotently, manages keys, and refuses bad input clearly', async () => {
    const created = await runCli(['partner', 'create', '--name', 'CLI Co', '--deposit', '100.00', '--json'], env);
    expect(created.code, created.stderr).toBe(0);
    const partner = JSON.parse(created.stdout);
    expect(Object.keys(partner).sort()).toEqual(['accessCode', 'partnerId', 'secretKey']);
    expect(created.stdout.trim().split('\n')).toHaveLength(1);

    const dep1 = await runCli(['partner', 'deposit', partner.partnerId, '25.50', '--id', 'dep-1'], env);
    expect(dep1.stdout).toMatch(/deposited 25\.50 USD; balance 125\.50 USD/);
    const dep2 = await runCli(['partner', 'deposit', partner.partnerId, '25.50', '--id', 'dep-1'], env);
    expect(dep2.stdout).toMatch(/already deposited.*balance 125\.50 USD/);

    const list = JSON.parse((await runCli(['partner', 'list', '--json'], env)).stdout);
    expect(list.find((p: any) => p.id === partner.partnerId).balanceMinor).toBe(1_255_000);

    const keys = JSON.parse((await runCli(['key', 'list', partner.partnerId, '--json'], env)).stdout);
    const rolled = JSON.parse((await runCli(['key', 'roll', keys[0].id, '--json'], env)).stdout);
    expect(rolled.accessCode).toMatch(/^[0-9a-f]{32}$/);
    expect((await runCli(['key', 'revoke', rolled.keyId], env)).code).toBe(0);
    const again = await runCli(['key', 'revoke', rolled.keyId], env);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/already revoked/);

    const bad = await runCli(['partner', 'create', '--name', 'X', '--env', 'prod'], env);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--env must be sandbox or live/);
    const badDeposit = await runCli(['partner', 'deposit', partner.partnerId, '12.345678'], env);
    expect(badDeposit.code).not.toBe(0);
    expect(badDeposit.stderr).toMatch(/amount/);
    const help = await runCli(['partner', 'create', '--help'], env);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--deposit/);
  });

  it('imports a catalogue all-or-nothing with line numbers', async () => {
    const good = path.join(dataDir, 'good.csv');
    fs.writeFileSync(
      good,
      'packageCode,slug,name,type,price,currencyCode,volume,smsStatus,dataType,unusedValidTime,duration,durationUnit,location,locationCode,description,activeType,retailPrice,speed,ipExport,supportTopUpType,fupPolicy,topupGroup\n' +
        'ZZTEST1,JP_7_30_X,"Japan 7GB, 30 days",BASE,70000,USD,7516192768,0,1,180,30,DAY,JP,JP,Japan plan,1,120000,4G/5G,JP,1,,JP-X\n',
    );
    const ok = await runCli(['catalog', 'import', good], env);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/1 new/);
    const bad = path.join(dataDir, 'bad.csv');
    fs.writeFileSync(
      bad,
      'packageCode,slug,name,type,price,currencyCode,volume,smsStatus,dataType,unusedValidTime,duration,durationUnit,location,locationCode,description,activeType,retailPrice,speed,ipExport,supportTopUpType,fupPolicy,topupGroup\n' +
        'ZZTEST2,JP_X2,Good row,BASE,70000,USD,7516192768,0,1,180,30,DAY,JP,JP,ok,1,120000,4G,JP,1,,JP-X\n' +
        'ZZTEST3,JP_X3,Bad price,BASE,seventy,USD,1,0,1,180,30,DAY,JP,JP,x,1,1,4G,JP,1,,JP-X\n' +
        'ZZTEST4,JP_X4,Bad type,WHAT,1,USD,1,0,1,180,30,DAY,ZZ,ZZ,x,1,1,4G,JP,1,,JP-X\n',
    );
    const refused = await runCli(['catalog', 'import', bad], env);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/line 3/);
    expect(refused.stderr).toMatch(/line 4/);
    expect(refused.stderr).toMatch(/nothing was imported/);
  });

  it('orders, lists, shows, drives the sandbox and imports usage', async () => {
    const partner = JSON.parse((await runCli(['partner', 'create', '--name', 'CLI Sandbox', '--deposit', '50', '--json'], env)).stdout);
    const ordered = await runCli(['order', 'US_1_7', '--partner', partner.partnerId, '--count', '2', '--json'], env);
    expect(ordered.code, ordered.stderr).toBe(0);
    const order = JSON.parse(ordered.stdout);
    expect(order.status).toBe('ready');
    expect(order.esims).toHaveLength(2);
    const [first] = order.esims;

    const listed = JSON.parse((await runCli(['esims', 'list', '--partner', partner.partnerId, '--json'], env)).stdout);
    expect(listed.total).toBe(2);

    expect((await runCli(['sandbox', 'install', first.iccid], env)).stdout).toMatch(/smdpStatus INSTALLATION/);
    expect((await runCli(['sandbox', 'enable', first.iccid], env)).stdout).toMatch(/smdpStatus ENABLED, esimStatus IN_USE/);
    expect((await runCli(['sandbox', 'use', first.iccid, '--bytes', '100MB'], env)).stdout).toMatch(/granted 104857600 of 104857600/);

    const usageFile = path.join(dataDir, 'usage.csv');
    fs.writeFileSync(usageFile, `iccid,bytes,recordId\n${first.iccid},1000,r1\n${first.iccid},1000,r1\n89000000000000000000,5,r2\n`);
    const imported = JSON.parse((await runCli(['usage', 'import', usageFile, '--json'], env)).stdout);
    expect(imported).toMatchObject({ received: 3, applied: 1, duplicates: 1, esimsUpdated: 1 });
    expect(imported.unknown).toEqual([{ line: 4, ref: '89000000000000000000' }]);

    const shown = JSON.parse((await runCli(['esims', 'show', first.esimTranNo, '--json'], env)).stdout);
    expect(Number(shown.esim.order_usage)).toBe(104857600 + 1000);
    expect(shown.events.map((e: any) => e.type)).toContain('esim.smdp');

    const advanced = await runCli(['sandbox', 'advance', '--partner', partner.partnerId, '--days', '8'], env);
    expect(advanced.stdout).toMatch(/2 transitions fired/);
    expect(JSON.parse((await runCli(['esims', 'show', first.esimTranNo, '--json'], env)).stdout).esim.esim_status).toBe('USED_EXPIRED');
  });

  it('gives every read command of the command tree --json printing one parseable JSON document', async () => {
    const leaves: Array<{ path: string; command: Command }> = [];
    const walk = (command: Command, path: string[]): void => {
      if (!command.commands.length) leaves.push({ path: path.join(' '), command });
      for (const sub of command.commands) walk(sub, [...path, sub.name()]);
    };
    walk(buildProgram(), []);
    const reads = leaves.filter((l) => READ_COMMAND.test(l.path.split(' ').pop()!));
    expect(reads.filter((l) => !l.command.options.some((o) => o.long === '--json')).map((l) => l.path)).toEqual([]);

    const partner = JSON.parse((await runCli(['partner', 'create', '--name', 'CLI JSON', '--deposit', '20', '--json'], env)).stdout);
    // A webhook URL (nothing listens: no dispatcher runs here) so the order's events are queued as deliveries.
    const store = await openTestStore(dataDir);
    await store.db.updateTable('partners').set({ webhook_url: 'http://127.0.0.1:9/hook' }).where('id', '=', partner.partnerId).execute();
    await store.close();
    const order = JSON.parse((await runCli(['order', 'US_1_7', '--partner', partner.partnerId, '--json'], env)).stdout);
    const iccid = order.esims[0].iccid;
    const deliveries = JSON.parse((await runCli(['webhooks', 'deliveries', partner.partnerId, '--json'], env)).stdout);
    expect(deliveries.length).toBeGreaterThan(0);
    const args: Record<string, string[]> = {
      'partner list': [],
      'key list': [partner.partnerId],
      'catalog list': ['--location', 'US'],
      'profiles stock': [],
      'esims list': ['--partner', partner.partnerId],
      'esims show': [iccid],
      'pricing rate list': [],
      'pricing price list': ['USD'],
      'pricing tiers': [],
      'pricing tier': [partner.partnerId],
      'pricing quote': [partner.partnerId, 'US_1_7'],
      'webhooks deliveries': [partner.partnerId],
      'webhooks attempts': [deliveries[0].id],
      'webhooks secret': [partner.partnerId],
    };
    // A new read command needs its arguments here, so it cannot go untested.
    expect(reads.map((l) => l.path).sort()).toEqual(Object.keys(args).sort());
    const printed: Record<string, any> = {};
    for (const [path, rest] of Object.entries(args)) {
      const result = await runCli([...path.split(' '), ...rest, '--json'], env);
      expect(result.code, `${path}: ${result.stderr}`).toBe(0);
      expect(result.stdout.trim().split('\n'), path).toHaveLength(1);
      printed[path] = JSON.parse(result.stdout);
    }
    expect(printed['esims show'].esim.iccid).toBe(iccid);
    expect(printed['esims list'].esims.map((e: { iccid: string }) => e.iccid)).toEqual([iccid]);
    expect(printed['key list'].map((k: { partner_id: string }) => k.partner_id)).toEqual([partner.partnerId]);
    expect(printed['webhooks attempts']).toEqual([]);
    // The quote in JSON is the quote in text.
    const quote = printed['pricing quote'];
    expect(quote).toMatchObject({ partnerId: partner.partnerId, slug: 'US_1_7', currency: 'USD' });
    const text = (await runCli(['pricing', 'quote', partner.partnerId, 'US_1_7'], env)).stdout;
    expect(text.trim()).toBe(`${quote.packageCode} (US_1_7): ${(quote.priceMinor / 10_000).toFixed(2)} USD`);
    expect(20 * 10_000 - printed['partner list'].find((p: { id: string }) => p.id === partner.partnerId).balanceMinor).toBe(quote.priceMinor);
  }, 400_000);

});
