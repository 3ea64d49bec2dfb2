import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestPartner, type TestServer } from './helpers/server.ts';
import { checkResponses, ResponseLog } from './helpers/openapi-responses.ts';

const log = new ResponseLog();

/** Cursor pages of the lists that used to come whole: walked to the end, exactly the rows there are. */
describe('/v1 cursor pagination of operators, locations, API keys and inventory', () => {
  let server: TestServer;
  let partner: TestPartner;

  beforeAll(async () => {
    server = await startServer({}, {}, { worker: false });
    partner = await server.createPartner({ name: 'Pages Co' });
  });
  afterAll(async () => server?.close());

  async function get(path: string) {
    const response = await fetch(`${server.baseUrl}/v1${path}`, { headers: { authorization: `Bearer ${partner.accessCode}` } });
    const body = log.record('GET', response.url, response.status, response.headers.get('content-type') ?? '', await response.text()) as any;
    return { status: response.status, body };
  }

  /** Every page of a list: each at most `limit` rows, has_more until the last, which has no cursor. */
  async function walk(path: string, limit: number, between?: (pageNo: number, ids: string[]) => Promise<void>): Promise<string[]> {
    const ids: string[] = [];
    let cursor: string | null = null;
    for (let pageNo = 0; ; pageNo++) {
      const sep = path.includes('?') ? '&' : '?';
      const { status, body } = await get(`${path}${sep}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
      expect(status, path).toBe(200);
      expect(body.data.length, path).toBeLessThanOrEqual(limit);
      ids.push(...body.data.map((row: { id?: string; code?: string }) => row.id ?? row.code));
      expect(body.has_more).toBe(body.next_cursor !== null);
      if (!body.has_more) return ids;
      expect(body.data.length, path).toBe(limit);
      cursor = body.next_cursor;
      await between?.(pageNo, ids);
    }
  }

  it('pages operators by country, name and id: every operator once', async () => {
    const db = server.ctx.store.db;
    const all = await db.selectFrom('operators').select('id').orderBy('country_code').orderBy('name').orderBy('id').execute();
    expect(all.length).toBeGreaterThan(1000);
    const first = await get('/operators');
    expect(first.body.data).toHaveLength(20);
    expect(first.body.has_more).toBe(true);
    const ids = await walk('/operators', 100);
    expect(ids).toHaveLength(all.length);
    expect(new Set(ids).size).toBe(all.length);
    expect(ids).toEqual(all.map((o) => o.id));

    const us = await db.selectFrom('operators').select('id').where('country_code', '=', 'US').orderBy('name').orderBy('id').execute();
    expect(us.length).toBeGreaterThan(2);
    expect(await walk('/operators?country=us', 2)).toEqual(us.map((o) => o.id));
  });

  it('pages locations by code, with and without the type filter', async () => {
    const all = server.ctx.catalog.locations();
    const codes = await walk('/locations', 37);
    expect(codes).toHaveLength(all.length);
    expect(new Set(codes).size).toBe(all.length);
    expect(codes).toEqual(all.map((l) => l.code).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    const regions = all.filter((l) => l.type === 2).map((l) => l.code);
    expect(regions.length).toBeGreaterThan(3);
    expect((await walk('/locations?type=region', 3)).sort()).toEqual(regions.sort());
  });

  it('pages API keys, oldest first', async () => {
    for (let i = 0; i < 6; i++) await server.ctx.partners.createKey(partner.partnerId, { label: `k${i}` }, Date.now());
    const keys = await server.ctx.partners.listKeys(partner.partnerId);
    expect(keys).toHaveLength(7);
    const ids = await walk('/api-keys', 3);
    expect(ids).toHaveLength(7);
    expect(new Set(ids).size).toBe(7);
    expect(ids[0]).toBe(partner.keyId);
    expect([...ids].sort()).toEqual(keys.map((k) => k.id).sort());
  });

  it('pages inventory, and an item used up between pages skips nothing', async () => {
    const codes = server.ctx.catalog.list({ locationCode: 'US', type: 'BASE' }).slice(0, 5).map((p) => p.package_code);
    expect(codes).toHaveLength(5);
    const headers = { authorization: `Bearer ${partner.accessCode}`, 'content-type': 'application/json' };
    const bought = await fetch(`${server.baseUrl}/v1/inventory/purchases`, { method: 'POST', headers, body: JSON.stringify({ lines: codes.map((package_id) => ({ package_id, quantity: 1 })) }) });
    expect(bought.status).toBe(201);
    const rows = await server.ctx.inventory.list(partner.partnerId, Date.now());
    const expected = rows.map((r) => `inv_${r.usage_id}`);
    expect(expected).toHaveLength(5);
    expect(await walk('/inventory', 2)).toEqual(expected);

    // Refund the last item of the first page before reading the second: the walk still sees every other item.
    const seen = await walk('/inventory', 2, async (pageNo, ids) => {
      if (pageNo !== 0) return;
      const refund = await fetch(`${server.baseUrl}/v1/inventory/${ids[1]}/refund`, { method: 'POST', headers, body: JSON.stringify({ quantity: 1 }) });
      expect(refund.status).toBe(200);
    });
    expect(seen).toEqual(expected);
    expect(await walk('/inventory', 100)).toEqual(expected.filter((_, i) => i !== 1));
  });

  it('refuses a cursor of another list or a bad one with a problem', async () => {
    const keysPage = await get('/api-keys?limit=1');
    const wrong = await get(`/operators?cursor=${keysPage.body.next_cursor}`);
    expect(wrong.status).toBe(400);
    expect(wrong.body).toMatchObject({ code: 'invalid_request', errors: [{ loc: 'query.cursor', msg: 'is invalid', type: 'cursor' }] });
    expect((await get('/locations?cursor=garbage')).body.code).toBe('invalid_request');
    expect((await get('/inventory?limit=0')).body.code).toBe('invalid_request');
    expect((await get('/api-keys?limit=101')).body.code).toBe('invalid_request');
  });

  it('every response seen validates against the OpenAPI document', async () => {
    const { failures, covered } = await checkResponses(server.baseUrl, log.seen);
    expect(failures).toEqual([]);
    expect([...covered].sort()).toEqual(['GET /v1/api-keys', 'GET /v1/inventory', 'GET /v1/locations', 'GET /v1/operators']);
  });
});
