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

  it('revoke and suspend fired together, many times: the final state is one the state machine allows, never SUSPENDED after REVOKE', async () => {
    const orders = await Promise.all(
      [0, 1].map(async (i) => {
        const placed = (await server.ea('/esim/order', { transactionId: `race-${i}`, packageInfoList: [{ packageCode: 'US_1_7', count: 30 }] }, partner)).json;
        return waitForOrder(server, partner, placed.obj.orderNo);
      }),
    );
    const iccids: string[] = orders.flatMap((o) => o.esimList.map((e: any) => e.iccid));
    expect(iccids).toHaveLength(60);

    let suspendedAndKept = 0;
    for (const iccid of iccids) {
      const [suspended, revoked] = await Promise.all([action('/esim/suspend', iccid), action('/esim/revoke', iccid)]).then((answers) => answers.map(outcome));
      const row = await esimState(iccid);
      const events = await statusEvents(row.id);
      // One of the two always succeeds.
      expect(suspended || revoked).toBe(true);
      if (revoked) {
        expect(row.esim_status).toBe('REVOKE');
        // Suspend either came first (then revoke closed a suspended eSIM) or was refused.
        expect(events).toEqual(suspended ? ['SUSPENDED', 'REVOKE'] : ['REVOKE']);
      } else {
        // Revoke lost to a suspend that read the same state: it was refused and changed nothing.
        expect(row).toMatchObject({ esim_status: 'SUSPENDED', status_before_suspend: 'GOT_RESOURCE' });
        expect(events).toEqual(['SUSPENDED']);
        suspendedAndKept++;
      }
      const bundles = await server.ctx.store.db.selectFrom('bundles').select('state').where('esim_id', '=', row.id).execute();
      expect(bundles.map((b) => b.state)).toEqual([revoked ? 'revoked' : 'queued']);
    }
    // Whatever the interleaving, no eSIM is SUSPENDED once revoked.
    const all = await server.ctx.store.db.selectFrom('esims').select('esim_status').where('iccid', 'in', iccids).execute();
    expect(all.filter((e) => e.esim_status !== 'REVOKE').length).toBe(suspendedAndKept);

    // Round two on what is still suspended: unsuspend and revoke together, then a late suspend.
    for (const iccid of iccids) {
      const before = await esimState(iccid);
      if (before.esim_status !== 'SUSPENDED') {
        expect(outcome(await action('/esim/suspend', iccid))).toBe(false);
        continue;
      }
      const [unsuspended, revoked] = await Promise.all([action('/esim/unsuspend', iccid), action('/esim/revoke', iccid)]).then((answers) => answers.map(outcome));
      expect(unsuspended || revoked).toBe(true);
      const after = await esimState(iccid);
      expect(after.esim_status).toBe(revoked ? 'REVOKE' : 'GOT_RESOURCE');
      const late = outcome(await action('/esim/suspend', iccid));
      expect(late).toBe(!revoked);
      expect((await esimState(iccid)).esim_status).toBe(revoked ? 'REVOKE' : 'SUSPENDED');
    }
  });
});
