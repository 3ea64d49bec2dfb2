import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestPartner, type TestServer } from './helpers/server.ts';
import { Purchases } from '../src/domain/purchases/purchases.ts';

/**
 * A synchronous dataplans purchase gives up after its timeout while the allocator may be finishing the same
 * order. With timeouts from 0 to about the allocation time, purchases land on both sides of that race; each
 * must end either delivered and charged, or failed and refunded in full — never both, never half.
 */
describe('dataplans purchase timeout racing allocation', () => {
  let server: TestServer;
  let partner: TestPartner;
  beforeAll(async () => {
    server = await startServer();
    partner = await server.createPartner({ name: 'Racer', depositMinor: 1000 * 10_000 });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('ends every purchase whole: delivered and charged, or failed and refunded once', async () => {
    const { ctx } = server;
    const purchases = new Purchases({ db: ctx.store.db, catalog: ctx.catalog, ordering: ctx.ordering, allocator: ctx.allocator, pricing: ctx.pricing, wake: () => ctx.worker.wake(), timeoutMs: 0, pollMs: 1 });
    const slug = ctx.catalog.get('US_1_7')!.slug;
    const outcomes: Array<'delivered' | 'refunded'> = [];
    for (const timeoutMs of [0, 1, 2, 3, 5, 8, 13, 21, 34, 55]) {
      const round = await Promise.all(
        Array.from({ length: 4 }, async () => {
          const partnerRow = await ctx.partners.get(partner.partnerId);
          return purchases.purchase({ partner: partnerRow, slug, nowMs: ctx.now(), timeoutMs }).then(
            () => 'delivered' as const,
            (error: Error & { details?: { refunded?: boolean } }) => {
              if (error.details?.refunded !== true) throw error;
              return 'refunded' as const;
            },
          );
        }),
      );
      outcomes.push(...round);
    }
    // Both outcomes happened, so the boundary was exercised.
    expect(outcomes).toContain('delivered');
    expect(outcomes).toContain('refunded');

    // Let allocations still running finish, then look at every order.
    await new Promise((r) => setTimeout(r, 300));
    const db = ctx.store.db;
    const orders = await db.selectFrom('orders').select(['id', 'order_no', 'status', 'amount']).where('partner_id', '=', partner.partnerId).execute();
    expect(orders.length).toBe(outcomes.length);
    const refunds = await db.selectFrom('ledger_transfers').select(['reference', 'amount']).where('kind', '=', 'refund').execute();
    let charged = 0;
    for (const order of orders) {
      const refunded = refunds.filter((r) => r.reference === order.order_no);
      const esims = await db.selectFrom('esims').select(['esim_status']).where('order_id', '=', order.id).execute();
      if (order.status === 'ready') {
        expect(refunded).toEqual([]);
        expect(esims.map((e) => e.esim_status)).toEqual(['GOT_RESOURCE']);
        charged += Number(order.amount);
      } else {
        expect(order.status).toBe('failed');
        expect(refunded.map((r) => Number(r.amount))).toEqual([Number(order.amount)]);
        expect(esims.every((e) => e.esim_status === 'CANCEL')).toBe(true);
      }
    }
    // What each caller was told matches what happened to its order, and the balance adds up.
    expect(outcomes.filter((o) => o === 'delivered').length).toBe(orders.filter((o) => o.status === 'ready').length);
    const balance = await (await fetch(`${server.baseUrl}/api/v1/accountBalance`, { headers: { authorization: partner.accessCode } })).json();
    expect(Math.round(Number(balance.availableBalance) * 10_000)).toBe(1000 * 10_000 - charged);
  });
});
