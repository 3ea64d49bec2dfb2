import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/process.ts';
import { openTestStore } from './helpers/store.ts';

describe('esimhub sandbox (the simulated network from the command line)', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'esimhub-cli-sandbox-'));
  const env = { DATA_DIR: dataDir, SANDBOX_ALLOCATION_DELAY_MS: '0', SEED_DEMO: 'false' };
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  const cli = async (...args: string[]) => runCli(args, env);
  const ok = async (...args: string[]) => {
    const run = await cli(...args);
    expect(run.code, `${args.join(' ')}: ${run.stderr}`).toBe(0);
    return run.stdout;
  };

  it('installs, enables, uses data (recorded like the API does), disables and deletes; refuses what the state does not allow', async () => {
    const owner = JSON.parse(await ok('partner', 'create', '--name', 'CLI Sandbox', '--deposit', '100', '--json'));
    const order = JSON.parse(await ok('order', 'US_1_7', '--partner', owner.partnerId, '--json'));
    expect(order.status).toBe('ready');
    const iccid = order.esims[0].iccid as string;

    // --partner looks the eSIM up among that partner's only.
    const foreign = await cli('sandbox', 'install', iccid, '--partner', 'ptn_someoneElse');
    expect(foreign.code).toBe(1);
    expect(foreign.stderr).toMatch(new RegExp(`ICCID ${iccid} does not exist`));

    // US_1_7 starts its validity at the first network attach (activeType 2): on enable, not on install.
    expect(await ok('sandbox', 'install', iccid, '--partner', owner.partnerId)).toMatch(new RegExp(`^${iccid}: smdpStatus INSTALLATION, esimStatus GOT_RESOURCE, eid \\d{32}\\n$`));
    expect(await ok('sandbox', 'enable', iccid, '--partner', owner.partnerId)).toMatch(/smdpStatus ENABLED, esimStatus IN_USE/);
    expect(await ok('sandbox', 'use', iccid, '--partner', owner.partnerId, '--bytes', '1MB')).toMatch(new RegExp(`^${iccid}: granted 1048576 of 1048576 bytes; used 1048576 of \\d+; IN_USE\\n$`));
    expect(await ok('sandbox', 'disable', iccid)).toMatch(/smdpStatus DISABLED, esimStatus IN_USE/);
    const useDisabled = await cli('sandbox', 'use', iccid, '--bytes', '1000');
    expect(useDisabled.code).toBe(1);
    expect(useDisabled.stderr).toMatch(/data use \(the profile is not enabled\)\) is not allowed while the eSIM is IN_USE\/DISABLED/);
    expect(await ok('sandbox', 'delete', iccid, '--partner', owner.partnerId)).toMatch(/smdpStatus DELETED, esimStatus IN_USE/);

    const store = await openTestStore(dataDir);
    try {
      const esim = await store.db.selectFrom('esims').selectAll().where('iccid', '=', iccid).executeTakeFirstOrThrow();
      expect(esim).toMatchObject({ smdp_status: 'DELETED', esim_status: 'IN_USE', partner_id: owner.partnerId });
      expect(Number(esim.order_usage)).toBe(1_048_576);
      // The CLI's use is a usage record, exactly as POST /sandbox/esims/:ref/usage writes one.
      const records = await store.db.selectFrom('usage_records').select(['bytes', 'source', 'period_end']).where('esim_id', '=', esim.id).execute();
      expect(records.map((r) => [Number(r.bytes), r.source])).toEqual([[1_048_576, 'sandbox']]);
      expect(Number(records[0].period_end)).toBe(Number(esim.last_usage_at));
      const events = await store.db.selectFrom('events').select(['type', 'payload']).where('subject', '=', esim.id).orderBy('seq').execute();
      expect(events.map((e) => [e.type, JSON.parse(e.payload).smdpStatus, JSON.parse(e.payload).esimStatus])).toEqual([
        ['esim.smdp', 'DOWNLOAD', 'GOT_RESOURCE'],
        ['esim.smdp', 'INSTALLATION', 'GOT_RESOURCE'],
        ['esim.smdp', 'ENABLED', 'GOT_RESOURCE'],
        ['esim.status', 'ENABLED', 'IN_USE'],
        ['esim.smdp', 'DISABLED', 'IN_USE'],
        ['esim.smdp', 'DELETED', 'IN_USE'],
      ]);
    } finally {
      await store.close();
    }
  }, 300_000); // nine CLI processes: slow on a busy machine
});
