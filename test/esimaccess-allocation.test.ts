import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestPartner, type TestServer } from './helpers/server.ts';
import { waitForOrder } from './helpers/orders.ts';

describe('esim/query while the sandbox SM-DP+ allocates', () => {
  let server: TestServer;
  let partner: TestPartner;

  beforeAll(async () => {
    server = await startServer({ SANDBOX_ALLOCATION_DELAY_MS: '800' });
    partner = await server.createPartner();
  });
  afterAll(async () => server.close());

  it('answers 200010 with the exact getting-resource text, then the three profiles', async () => {
    const placed = (await server.ea('/esim/order', { transactionId: 'slow-3', packageInfoList: [{ packageCode: 'US_1_7', count: 3 }] }, partner)).json;
    expect(placed.success).toBe(true);
    const pending = (await server.ea('/esim/query', { orderNo: placed.obj.orderNo, pager: { pageNum: 1, pageSize: 10 } }, partner)).json;
    const text = 'the batchOrder has been getting resource, total:[3], success:[0]';
    expect(pending).toEqual({ success: false, errorCode: '200010', errorMsg: text, errorMessage: text, obj: null });
    const ready = await waitForOrder(server, partner, placed.obj.orderNo);
    expect(ready.esimList).toHaveLength(3);
    expect(ready.pager).toEqual({ pageSize: 50, pageNum: 1, total: 3 });
    expect(ready.esimList.every((e: any) => e.orderNo === placed.obj.orderNo && e.transactionId === 'slow-3' && e.esimStatus === 'GOT_RESOURCE')).toBe(true);
  });
});

describe('concurrent state changes of one eSIM', () => {
  let server: TestServer;
  let partner: TestPartner;

  beforeAll(async () => {
    server = await startServer();
    partner = await server.createPartner();
  });
  afterAll(async () => server.close());

  const action = async (path: string, iccid: string) => (await server.ea(path, { iccid }, partner)).json;
  const esimState = (iccid: string) => server.ctx.store.db.selectFrom('esims').select(['id', 'esim_status', 'status_before_suspend']).where('iccid', '=', iccid).executeTakeFirstOrThrow();
  const statusEvents = async (esimId: string) =>
    (await server.ctx.store.db.selectFrom('events').select(['payload']).where('type', '=', 'esim.status').where('subject', '=', esimId).orderBy('seq').execute()).map((e) => JSON.parse(e.payload).esimStatus);

  /** Answers are success or exactly 200002 (the state forbids it): never a lost update, never another error. */
  function outcome(res: any): boolean {
    if (res.success) {
      expect(res).toEqual({ success: true, errorCode: '0', errorMsg: null, errorMessage: null, obj: {} });
      return true;
    }
    expect(res.errorCode).toBe('200002');
    expect(res.errorMsg).toMatch(/^This operation \((suspend|revoke|unsuspend)\) is not allowed while the eSIM is /);
    return false;
  }

  it('revoke and suspend fired together, many times: revoke always wins in the end, a refused suspend names REVOKE, never SUSPENDED after REVOKE', async () => {
    const orders = await Promise.all(
      [0, 1].map(async (i) => {
        const placed = (await server.ea('/esim/order', { transactionId: `race-${i}`, packageInfoList: [{ packageCode: 'US_1_7', count: 30 }] }, partner)).json;
        return waitForOrder(server, partner, placed.obj.orderNo);
      }),
    );
    const iccids: string[] = orders.flatMap((o) => o.esimList.map((e: any) => e.iccid));
    expect(iccids).toHaveLength(60);

    // Round one: each eSIM half gets suspend and revoke together, the other half unsuspend (after a suspend) and revoke.
    for (const [n, iccid] of iccids.entries()) {
      const first = n % 2 ? '/esim/unsuspend' : '/esim/suspend';
      if (first === '/esim/unsuspend') expect(outcome(await action('/esim/suspend', iccid))).toBe(true);
      const [firstAnswer, revokeAnswer] = await Promise.all([action(first, iccid), action('/esim/revoke', iccid)]);
      const firstDone = outcome(firstAnswer);
      // A revoke that lost the race to the other change is decided again on its result, and revokes that.
      expect(outcome(revokeAnswer)).toBe(true);
      // The other change either came first or was refused naming the state the revoke left, not the one it read.
      if (!firstDone) expect(firstAnswer.errorMsg).toMatch(/while the eSIM is REVOKE\//);
      const row = await esimState(iccid);
      expect(row.esim_status).toBe('REVOKE');
      const events = await statusEvents(row.id);
      const before = first === '/esim/suspend' ? ['SUSPENDED'] : ['SUSPENDED', 'GOT_RESOURCE'];
      expect(events).toEqual(firstDone ? [...before, 'REVOKE'] : [...before.slice(0, -1), 'REVOKE']);
      const bundles = await server.ctx.store.db.selectFrom('bundles').select('state').where('esim_id', '=', row.id).execute();
      expect(bundles.map((b) => b.state)).toEqual(['revoked']);
      // A late suspend changes nothing.
      expect(outcome(await action('/esim/suspend', iccid))).toBe(false);
    }
    const all = await server.ctx.store.db.selectFrom('esims').select('esim_status').where('iccid', 'in', iccids).execute();
    expect(all.every((e) => e.esim_status === 'REVOKE')).toBe(true);
  });
});
