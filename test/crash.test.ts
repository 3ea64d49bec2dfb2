import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openTestStore } from './helpers/store.ts';
import { killHard, post, runCli, spawnServer, type ServerProcess } from './helpers/process.ts';
import { walletBalance, walletBalanceFromTransfers } from '../src/domain/ledger/ledger.ts';

describe('crash safety', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'esimhub-crash-'));
  let server: ServerProcess | null = null;
  afterAll(async () => {
    if (server) await killHard(server);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('a server killed with SIGKILL mid-allocation finishes every accepted order after a restart', async () => {
    const env = { DATA_DIR: dataDir, SEED_DEMO: 'false', SANDBOX_ALLOCATION_DELAY_MS: '300', RATE_LIMIT_PER_SECOND: '100000' };
    const created = await runCli(['partner', 'create', '--name', 'Crash Test', '--deposit', '10000', '--json'], env);
    expect(created.code).toBe(0);
    const { partnerId, accessCode } = JSON.parse(created.stdout);

    server = await spawnServer(env);
    const accepted: string[] = [];
    const placing = Array.from({ length: 12 }, (_, i) =>
      post(server!.baseUrl, '/esim/order', { transactionId: `crash-${i}`, packageInfoList: [{ packageCode: 'US_1_7', count: 30 }] }, accessCode)
        .then((r) => {
          if (r.success) accepted.push(r.obj.orderNo);
        })
        .catch(() => undefined),
    );
    await Promise.all(placing);
    expect(accepted.length).toBe(12);
    // Let allocation start (the sandbox delay is 300 ms): as soon as a worker has claimed the allocation
    // jobs, kill it while it is making profiles.
    const store0 = await openTestStore(dataDir);
    const deadline = Date.now() + 10_000;
    for (;;) {
      const claimed = await store0.db.selectFrom('jobs').select('id').where('locked_by', 'is not', null).where('status', '=', 'queued').execute();
      if (claimed.length > 0) break;
      if (Date.now() > deadline) throw new Error('allocation never started');
      await new Promise((r) => setTimeout(r, 2));
    }
    await killHard(server);
    const readyAtKill = await store0.db.selectFrom('orders').select('id').where('status', '=', 'ready').execute();
    await store0.close();
    expect(readyAtKill.length).toBeLessThan(12);

    // On the embedded store the restarted process takes back the dead process's claims at once.
    server = await spawnServer({ ...env, SANDBOX_ALLOCATION_DELAY_MS: '0' });
    const store = await openTestStore(dataDir);
    try {
      const until = Date.now() + 30_000;
      for (;;) {
        const pending = await store.db.selectFrom('orders').select('id').where('status', '!=', 'ready').execute();
        if (pending.length === 0) break;
        if (Date.now() > until) throw new Error(`${pending.length} orders not finished after restart`);
        await new Promise((r) => setTimeout(r, 100));
      }
      for (const orderNo of accepted) {
        const res = await post(server.baseUrl, '/esim/query', { orderNo, pager: { pageNum: 1, pageSize: 50 } }, accessCode);
        expect(res.success).toBe(true);
        expect(res.obj.esimList).toHaveLength(30);
      }
      const esims = await store.db.selectFrom('esims').select(['iccid', 'order_item_id', 'slot']).execute();
      expect(esims).toHaveLength(12 * 30);
      expect(new Set(esims.map((e) => e.iccid)).size).toBe(12 * 30);
      const charges = await store.db.selectFrom('ledger_transfers').select('id').where('partner_id', '=', partnerId).where('kind', '=', 'charge').execute();
      expect(charges).toHaveLength(12);
      const balance = await walletBalance(store.db, partnerId);
      expect(balance.balanceMinor).toBe(await walletBalanceFromTransfers(store.db, partnerId));
    } finally {
      await store.close();
    }
  });
});
