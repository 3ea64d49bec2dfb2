import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from './helpers/server.ts';
import { seedData } from '../src/cli/seed.ts';

/** Bulk seeding takes order and eSIM numbers from the same sequences as live orders: later orders never collide. */
describe('scale seeding', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  it('seeds partners, orders and eSIMs, after which live orders still get fresh numbers', async () => {
    const before = await server.createPartner({ name: 'Before Seed' });
    const first = await server.ea('/esim/order', { transactionId: 'before-seed', packageInfoList: [{ packageCode: 'US_1_7', count: 1 }] }, before);
    expect(first.json.success).toBe(true);

    const seeded = await seedData(server.ctx, { partners: 3, esims: 60, usage: 100, perOrder: 2, batch: 20 });
    expect(seeded.partners).toHaveLength(3);
    const db = server.ctx.store.db;
    const esims = await db.selectFrom('esims').select(['esim_tran_no', 'order_id']).where('partner_id', 'in', seeded.partners.map((p) => p.partnerId)).execute();
    expect(esims).toHaveLength(60);
    expect(new Set(esims.map((e) => e.order_id)).size).toBe(30);
    expect(Number((await db.selectFrom('usage_records').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n)).toBe(100);

    // Orders after the seed: numbers beyond the seeded range, no unique-key failure.
    const after = await Promise.all(Array.from({ length: 5 }, (_, i) => server.ea('/esim/order', { transactionId: `after-seed-${i}`, packageInfoList: [{ packageCode: 'US_1_7', count: 1 }] }, before)));
    expect(after.every((a) => a.json.success)).toBe(true);
    const numbers = await db.selectFrom('orders').select('order_no').execute();
    expect(new Set(numbers.map((o) => o.order_no)).size).toBe(numbers.length);
    const seededMax = Math.max(...(await db.selectFrom('orders').select('order_no').where('partner_id', 'in', seeded.partners.map((p) => p.partnerId)).execute()).map((o) => Number(o.order_no.slice(-8))));
    for (const a of after) expect(Number(a.json.obj.orderNo.slice(-8))).toBeGreaterThan(seededMax);
  });
});
