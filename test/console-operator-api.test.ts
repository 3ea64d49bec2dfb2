import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAnswer, startServer, type TestPartner, type TestServer } from './helpers/server.ts';
import { requestDeposit } from '../src/domain/console/deposits.ts';
import { makeIccid } from '../src/domain/esims/identifiers.ts';
import { walletBalance } from '../src/domain/ledger/ledger.ts';
import { launchBrowser, screenshot, watchPageErrors } from './helpers/browser.ts';
import { consoleLogin, type ConsoleClient } from './helpers/console.ts';

const GB = 1_073_741_824;
const OPERATOR = { email: 'ops@example.com', password: 'operator password 1' };

type Session = Pick<ConsoleClient, 'cookie' | 'csrf'>;

interface Reply {
  status: number;
  json: any;
  text: string;
}

describe('operator console API', () => {
  let server: TestServer;
  let operator: Session;
  let partnerUser: Session;
  let apiPartner: TestPartner;

  const login = (email: string, password: string): Promise<Session> => consoleLogin(server, email, password);

  async function call(session: Session | null, method: string, path: string, body?: unknown, options: { contentType?: string } = {}): Promise<Reply> {
    const headers: Record<string, string> = {};
    if (session) {
      headers.cookie = session.cookie;
      headers['x-csrf-token'] = session.csrf;
    }
    let payload: string | undefined;
    if (body !== undefined) {
      headers['content-type'] = options.contentType ?? 'application/json';
      payload = typeof body === 'string' ? body : JSON.stringify(body);
    }
    return readAnswer(await fetch(`${server.baseUrl}${path}`, { method, headers, body: payload }));
  }

  const op = (method: string, path: string, body?: unknown, options?: { contentType?: string }) => call(operator, method, `/console/api/operator${path}`, body, options);

  async function v1(partner: TestPartner, method: string, path: string, body?: unknown): Promise<Reply> {
    const headers: Record<string, string> = { authorization: `Bearer ${partner.accessCode}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${server.baseUrl}/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await response.text();
    return { status: response.status, json: text ? JSON.parse(text) : null, text };
  }

  async function partnerCount(): Promise<number> {
    const row = await server.ctx.store.db.selectFrom('partners').select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Balance straight from the ledger's wallet row. */
  const balanceOf = async (partnerId: string) => (await walletBalance(server.ctx.store.db, partnerId)).balanceMinor;

  beforeAll(async () => {
    server = await startServer();
    await server.ctx.consoleAccounts.createUser({ email: OPERATOR.email, password: OPERATOR.password, role: 'operator' }, server.ctx.now());
    operator = await login(OPERATOR.email, OPERATOR.password);
    apiPartner = await server.createPartner({ name: 'API Partner' });
    await server.ctx.consoleAccounts.createUser({ email: 'staff@partner.example', password: 'partner password 1', role: 'partner', partnerId: apiPartner.partnerId }, server.ctx.now());
    partnerUser = await login('staff@partner.example', 'partner password 1');
  });

  afterAll(async () => {
    await server?.close();
  });

  it('refuses every operator route without a session (401) and to partner users (403)', async () => {
    const routes: Array<[string, string, unknown?]> = [
      ['GET', '/overview'],
      ['GET', '/partners'],
      ['POST', '/partners', { name: 'x', environment: 'sandbox' }],
      ['GET', `/partners/${apiPartner.partnerId}`],
      ['PATCH', `/partners/${apiPartner.partnerId}`, { status: 'suspended' }],
      ['GET', '/deposits'],
      ['POST', '/deposits/dep_x/approve', {}],
      ['POST', '/deposits/dep_x/reject', {}],
      ['GET', '/tiers'],
      ['PATCH', '/tiers/gold', { price_factor_bps: 5000 }],
      ['GET', '/catalog/packages'],
      ['PATCH', '/catalog/packages/X', { status: 'retired' }],
      ['POST', '/catalog/import', { csv: 'a' }],
      ['GET', '/pools'],
      ['POST', '/pools/import', { csv: 'a' }],
      ['GET', '/locations'],
    ];
    for (const [method, path, body] of routes) {
      const anonymous = await call(null, method, `/console/api/operator${path}`, body);
      expect(anonymous.status, `${method} ${path} without a session`).toBe(401);
      expect(anonymous.json.code).toBe('unauthenticated');
      const asPartner = await call(partnerUser, method, `/console/api/operator${path}`, body);
      expect(asPartner.status, `${method} ${path} as a partner`).toBe(403);
      expect(asPartner.json.code).toBe('forbidden');
    }
    // And the partner's own data is untouched by those attempts.
    const partner = await server.ctx.partners.get(apiPartner.partnerId);
    expect(partner.status).toBe('active');
    // State changes also need the CSRF token.
    const noCsrf = await call({ cookie: operator.cookie, csrf: '' }, 'PATCH', `/console/api/operator/partners/${apiPartner.partnerId}`, { status: 'suspended' });
    expect(noCsrf.status).toBe(403);
    expect((await server.ctx.partners.get(apiPartner.partnerId)).status).toBe('active');
  });

  it('creates a partner with its first console user in one go; that user sees only its partner', async () => {
    const before = await partnerCount();
    const created = await op('POST', '/partners', {
      name: 'Globetrotter Live',
      environment: 'live',
      currency: 'EUR',
      price_tier_id: 'silver',
      initial_deposit: 250 * 10_000,
      user: { email: 'Owner@Globetrotter.example', password: 'globetrotter pass' },
    });
    expect(created.status).toBe(201);
    expect(created.json.partner).toMatchObject({ name: 'Globetrotter Live', environment: 'live', currency: 'EUR', price_tier_id: 'silver', status: 'active', balance: 250 * 10_000 });
    expect(created.json.api_key.access_code).toMatch(/^[0-9a-f]{32}$/);
    expect(created.json.user.email).toBe('owner@globetrotter.example');
    expect(await partnerCount()).toBe(before + 1);
    const partnerId = created.json.partner.id as string;
    expect(await balanceOf(partnerId)).toBe(250 * 10_000);

    const session = await login('owner@globetrotter.example', 'globetrotter pass');
    const who = await call(session, 'GET', '/console/api/session');
    expect(who.json.user.role).toBe('partner');
    expect(who.json.partner.id).toBe(partnerId);
    const balance = await call(session, 'GET', '/v1/balance');
    expect(balance.json).toMatchObject({ available: 250 * 10_000, currency: 'EUR' });
    expect((await call(session, 'GET', '/console/api/operator/partners')).status).toBe(403);

    // The API key works too.
    const key = { partnerId, keyId: created.json.api_key.key_id, accessCode: created.json.api_key.access_code, secretKey: created.json.api_key.secret_key };
    expect((await v1(key, 'GET', '/balance')).json.available).toBe(250 * 10_000);

    // The list shows it with its balance; the detail shows the user and the deposit in the ledger.
    const list = await op('GET', '/partners?q=globetrotter');
    expect(list.json.total).toBe(1);
    expect(list.json.data[0]).toMatchObject({ id: partnerId, balance: 250 * 10_000, environment: 'live' });
    const detail = await op('GET', `/partners/${partnerId}`);
    expect(detail.status).toBe(200);
    expect(detail.json.users.map((u: { email: string }) => u.email)).toEqual(['owner@globetrotter.example']);
    expect(detail.json.ledger.data).toEqual([expect.objectContaining({ kind: 'deposit', amount_minor: 250 * 10_000, currency: 'EUR' })]);
    expect(detail.json.active_api_keys).toBe(1);
  });

  it('refuses bad partner input with 400 (or 409 for a taken email) and creates nothing', async () => {
    const before = await partnerCount();
    const users = async () => Number((await server.ctx.store.db.selectFrom('console_users').select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirstOrThrow()).n);
    const usersBefore = await users();
    const bad: Array<[unknown, number]> = [
      [{ name: 'x', environment: 'production' }, 400],
      [{ name: '', environment: 'sandbox' }, 400],
      [{ name: 'x', environment: 'sandbox', initial_deposit: -5 }, 400],
      [{ name: 'x', environment: 'sandbox', initial_deposit: 1.5 }, 400],
      [{ name: 'x', environment: 'sandbox', initial_deposit: 10_000_000 * 10_000 }, 400],
      [{ name: 'x', environment: 'sandbox', price_tier_id: 'diamond' }, 400],
      [{ name: 'x', environment: 'sandbox', currency: 'EURO' }, 400],
      [{ name: 'x', environment: 'sandbox', user: { email: 'not-an-email', password: 'long enough pass' } }, 400],
      [{ name: 'x', environment: 'sandbox', user: { email: 'short@example.com', password: 'short' } }, 400],
      [{ name: 'x', environment: 'sandbox', extra: true }, 400],
      // The email of an existing console account: the whole creation rolls back.
      [{ name: 'x', environment: 'sandbox', initial_deposit: 10_000, user: { email: OPERATOR.email, password: 'long enough pass' } }, 409],
    ];
    for (const [body, status] of bad) {
      const reply = await op('POST', '/partners', body);
      expect(reply.status, JSON.stringify(body)).toBe(status);
      expect(reply.json.type).toMatch(/^https:\/\/esimhub\.dev\/problems\//);
    }
    expect(await partnerCount()).toBe(before);
    expect(await users()).toBe(usersBefore);
    // Not JSON at all.
    const garbage = await op('POST', '/partners', '{"name":', { contentType: 'application/json' });
    expect(garbage.status).toBe(400);
    expect(await partnerCount()).toBe(before);
  });

  it("changes a partner's tier and tier factors, and /v1 prices follow at once", async () => {
    const partner = await server.createPartner({ name: 'Tiered' });
    const pkg = (await v1(partner, 'GET', '/packages/US_1_7')).json;
    const row = await server.ctx.store.db.selectFrom('packages').select(['package_code', 'price']).where('slug', '=', 'US_1_7').executeTakeFirstOrThrow();
    const list = Number(row.price);
    expect(pkg.price).toBe(list);

    const changed = await op('PATCH', `/partners/${partner.partnerId}`, { price_tier_id: 'gold' });
    expect(changed.status).toBe(200);
    expect(changed.json.price_tier_id).toBe('gold');
    expect((await v1(partner, 'GET', '/packages/US_1_7')).json.price).toBe(Math.round((list * 9000) / 10_000));

    const tier = await op('PATCH', '/tiers/gold', { price_factor_bps: 8000 });
    expect(tier.status).toBe(200);
    expect(tier.json.price_factor_bps).toBe(8000);
    expect((await v1(partner, 'GET', '/packages/US_1_7')).json.price).toBe(Math.round((list * 8000) / 10_000));
    // The catalogue view prices each tier.
    const found = await op('GET', `/catalog/packages?q=${row.package_code}`);
    const gold = found.json.data.find((p: { package_code: string }) => p.package_code === row.package_code).tier_prices.find((t: { tier_id: string }) => t.tier_id === 'gold');
    expect(gold).toMatchObject({ price_factor_bps: 8000, price: Math.round((list * 8000) / 10_000) });

    // Out-of-range factors and unknown tiers change nothing.
    for (const body of [{ price_factor_bps: 50 }, { price_factor_bps: 40_000 }, { price_factor_bps: 9000.5 }, {}, { price_factor_bps: '9000' }]) {
      expect((await op('PATCH', '/tiers/gold', body)).status, JSON.stringify(body)).toBe(400);
    }
    expect((await op('PATCH', '/tiers/diamond', { price_factor_bps: 9000 })).status).toBe(404);
    expect((await op('PATCH', `/partners/${partner.partnerId}`, { price_tier_id: 'diamond' })).status).toBe(400);
    expect((await op('PATCH', `/partners/${partner.partnerId}`, { status: 'closed' })).status).toBe(400);
    expect((await op('PATCH', '/partners/ptn_nope', { status: 'suspended' })).status).toBe(404);
    expect((await server.ctx.partners.get(partner.partnerId)).price_tier_id).toBe('gold');
    const tiers = (await op('GET', '/tiers')).json.data;
    expect(tiers.find((t: { id: string }) => t.id === 'gold').price_factor_bps).toBe(8000);
    expect((await v1(partner, 'GET', '/packages/US_1_7')).json.price).toBe(Math.round((list * 8000) / 10_000));

    // Back to the defaults for the other tests.
    expect((await op('PATCH', '/tiers/gold', { price_factor_bps: 9000 })).status).toBe(200);
  });

  it("suspending a partner blocks its API key and console session at once; reactivating restores them", async () => {
    const partner = await server.createPartner({ name: 'Suspendable' });
    await server.ctx.consoleAccounts.createUser({ email: 'staff@suspendable.example', password: 'suspendable pass', role: 'partner', partnerId: partner.partnerId }, server.ctx.now());
    const session = await login('staff@suspendable.example', 'suspendable pass');
    expect((await v1(partner, 'GET', '/balance')).status).toBe(200);
    expect((await call(session, 'GET', '/v1/balance')).status).toBe(200);

    const suspended = await op('PATCH', `/partners/${partner.partnerId}`, { status: 'suspended' });
    expect(suspended.status).toBe(200);
    expect(suspended.json.status).toBe('suspended');
    const refused = await v1(partner, 'GET', '/balance');
    expect([401, 403]).toContain(refused.status);
    expect((await call(session, 'GET', '/v1/balance')).status).toBe(403);
    const order = await v1(partner, 'POST', '/orders', { lines: [{ package_id: 'US_1_7', count: 1 }] });
    expect([401, 403]).toContain(order.status);
    expect(await balanceOf(partner.partnerId)).toBe(1000 * 10_000);
    expect((await op('GET', '/partners?status=suspended')).json.data.map((p: { id: string }) => p.id)).toContain(partner.partnerId);

    const reactivated = await op('PATCH', `/partners/${partner.partnerId}`, { status: 'active' });
    expect(reactivated.json.status).toBe('active');
    expect((await v1(partner, 'GET', '/balance')).status).toBe(200);
    expect((await call(session, 'GET', '/v1/balance')).status).toBe(200);
  });

  it('approves a live deposit exactly once; a second approve or a reject afterwards is a 409', async () => {
    const db = server.ctx.store.db;
    const partner = await server.createPartner({ name: 'Live Depositor', environment: 'live', depositMinor: 0 });
    const p = await server.ctx.partners.get(partner.partnerId);
    const { deposit: first } = await requestDeposit(db, { partner: p, amountMinor: 500 * 10_000, reference: 'wire 1', userId: null }, server.ctx.now());
    const { deposit: second } = await requestDeposit(db, { partner: p, amountMinor: 70 * 10_000, reference: 'wire 2', userId: null }, server.ctx.now() + 1);
    const { deposit: third } = await requestDeposit(db, { partner: p, amountMinor: 30 * 10_000, reference: 'wire 3', userId: null }, server.ctx.now() + 2);
    expect(first.status).toBe('pending');
    expect(await balanceOf(partner.partnerId)).toBe(0);

    const pending = await op('GET', '/deposits?status=pending');
    expect(pending.status).toBe(200);
    expect(pending.json.data.map((d: { id: string }) => d.id)).toEqual(expect.arrayContaining([first.id, second.id, third.id]));
    expect(pending.json.data.find((d: { id: string }) => d.id === first.id)).toMatchObject({ partner_name: 'Live Depositor', environment: 'live', amount: 500 * 10_000, reference: 'wire 1' });
    const overview = await op('GET', '/overview');
    expect(overview.json.deposits.pending).toBeGreaterThanOrEqual(3);

    const approved = await op('POST', `/deposits/${first.id}/approve`, {});
    expect(approved.status).toBe(200);
    expect(approved.json).toMatchObject({ status: 'approved', partner_balance: 500 * 10_000 });
    expect(approved.json.transfer_id).toBeTruthy();
    expect(await balanceOf(partner.partnerId)).toBe(500 * 10_000);

    const again = await op('POST', `/deposits/${first.id}/approve`, {});
    expect(again.status).toBe(409);
    expect(again.json.code).toBe('invalid_state');
    const rejectAfter = await op('POST', `/deposits/${first.id}/reject`, {});
    expect(rejectAfter.status).toBe(409);
    expect(await balanceOf(partner.partnerId)).toBe(500 * 10_000);

    // Two operators clicking at the same moment: one credit.
    const both = await Promise.all([op('POST', `/deposits/${second.id}/approve`, {}), op('POST', `/deposits/${second.id}/approve`, {})]);
    expect(both.map((r) => r.status).sort()).toEqual([200, 409]);
    expect(await balanceOf(partner.partnerId)).toBe(570 * 10_000);

    const rejected = await op('POST', `/deposits/${third.id}/reject`, {});
    expect(rejected.json.status).toBe('rejected');
    expect((await op('POST', `/deposits/${third.id}/approve`, {})).status).toBe(409);
    expect(await balanceOf(partner.partnerId)).toBe(570 * 10_000);
    const deposits = await db.selectFrom('ledger_transfers').select('amount').where('partner_id', '=', partner.partnerId).where('kind', '=', 'deposit').execute();
    expect(deposits.map((d) => Number(d.amount)).sort()).toEqual([500 * 10_000, 70 * 10_000].sort());

    expect((await op('POST', '/deposits/dep_missing/approve', {})).status).toBe(404);
    const history = await op('GET', `/deposits?status=approved&partner_id=${partner.partnerId}`);
    expect(history.json.data.map((d: { id: string }) => d.id).sort()).toEqual([first.id, second.id].sort());
    const paged = await op('GET', `/deposits?partner_id=${partner.partnerId}&limit=2`);
    expect(paged.json.data).toHaveLength(2);
    expect(paged.json.has_more).toBe(true);
    const rest = await op('GET', `/deposits?partner_id=${partner.partnerId}&limit=2&cursor=${paged.json.next_cursor}`);
    expect(rest.json.data).toHaveLength(1);
    expect((await op('GET', '/deposits?status=done')).status).toBe(400);
    expect((await op('GET', '/deposits?cursor=garbage')).status).toBe(400);
  });

  it('retires a package so ordering refuses it, and enables it again', async () => {
    const partner = await server.createPartner({ name: 'Orderer' });
    const row = await server.ctx.store.db.selectFrom('packages').select(['package_code', 'price']).where('slug', '=', 'US_3_15').executeTakeFirstOrThrow();
    const retired = await op('PATCH', `/catalog/packages/${row.package_code}`, { status: 'retired' });
    expect(retired.status).toBe(200);
    expect(retired.json.status).toBe('retired');

    const order = await v1(partner, 'POST', '/orders', { lines: [{ package_id: row.package_code, count: 1 }] });
    expect(order.status).toBe(404);
    expect(order.json.code).toBe('package_not_found');
    const ea = await server.ea('/esim/order', { transactionId: 'retired-1', packageInfoList: [{ packageCode: row.package_code, count: 1 }] }, partner);
    expect(ea.json.success).toBe(false);
    expect(await balanceOf(partner.partnerId)).toBe(1000 * 10_000);
    expect((await v1(partner, 'GET', `/packages/${row.package_code}`)).status).toBe(404);
    const listed = await op('GET', `/catalog/packages?status=retired&q=${row.package_code}`);
    expect(listed.json.data.map((p: { package_code: string }) => p.package_code)).toEqual([row.package_code]);

    const enabled = await op('PATCH', `/catalog/packages/${row.package_code}`, { status: 'active' });
    expect(enabled.json.status).toBe('active');
    const ordered = await v1(partner, 'POST', '/orders', { lines: [{ package_id: row.package_code, count: 1 }] });
    expect(ordered.status).toBe(201);
    expect(await balanceOf(partner.partnerId)).toBe(1000 * 10_000 - Number(row.price));
  });

  it('edits a list price (validated) and /v1 charges the new price', async () => {
    const partner = await server.createPartner({ name: 'Repriced' });
    const row = await server.ctx.store.db.selectFrom('packages').select(['package_code', 'price']).where('slug', '=', 'FR_1_7').executeTakeFirstOrThrow();
    for (const body of [{ price: 0 }, { price: -1 }, { price: 12.5 }, { price: 100_001 * 10_000 }, { status: 'deleted' }, { price: 1, colour: 'red' }]) {
      expect((await op('PATCH', `/catalog/packages/${row.package_code}`, body)).status, JSON.stringify(body)).toBe(400);
    }
    expect((await op('PATCH', '/catalog/packages/NO_SUCH_PACKAGE', { price: 10_000 })).status).toBe(404);
    const unchanged = await server.ctx.store.db.selectFrom('packages').select(['price', 'status']).where('package_code', '=', row.package_code).executeTakeFirstOrThrow();
    expect(Number(unchanged.price)).toBe(Number(row.price));
    expect(unchanged.status).toBe('active');

    const repriced = await op('PATCH', `/catalog/packages/${row.package_code}`, { price: 12_340 });
    expect(repriced.status).toBe(200);
    expect(repriced.json.list_price).toBe(12_340);
    // Partners pay whole cents: 1.234 USD is charged 1.23 (the pricing rule rounds half-up to the minor unit).
    expect((await v1(partner, 'GET', `/packages/${row.package_code}`)).json.price).toBe(12_300);
    const ordered = await v1(partner, 'POST', '/orders', { lines: [{ package_id: row.package_code, count: 2 }] });
    expect(ordered.status).toBe(201);
    expect(await balanceOf(partner.partnerId)).toBe(1000 * 10_000 - 2 * 12_300);
  });

  it('searches the catalogue by text and location, with paging', async () => {
    const all = await op('GET', '/catalog/packages?limit=5');
    expect(all.status).toBe(200);
    expect(all.json.data).toHaveLength(5);
    expect(all.json.total).toBeGreaterThan(1000);
    const next = await op('GET', '/catalog/packages?limit=5&offset=5');
    expect(next.json.data[0].package_code).not.toBe(all.json.data[0].package_code);

    const us = await op('GET', '/catalog/packages?location=US&type=BASE&limit=200');
    expect(us.json.total).toBeGreaterThan(0);
    for (const p of us.json.data) expect(p.location_code === 'US' || p.locations.includes('US')).toBe(true);
    expect(us.json.data.some((p: { location_code: string }) => p.location_code !== 'US')).toBe(true);

    const named = await op('GET', '/catalog/packages?q=united%20states&limit=3');
    for (const p of named.json.data) expect(p.name.toLowerCase()).toContain('united states');
    // LIKE wildcards are searched as text.
    expect((await op('GET', '/catalog/packages?q=%25')).json.total).toBe(0);
    expect((await op('GET', '/catalog/packages?limit=500')).status).toBe(400);
    expect((await op('GET', '/catalog/packages?location=%3Bdrop')).status).toBe(400);
    const locations = await op('GET', '/locations');
    expect(locations.json.data.find((l: { code: string }) => l.code === 'US')).toMatchObject({ type: 'country' });
  });

  it('imports a catalogue CSV (JSON or text/csv); a bad row refuses the whole file', async () => {
    const header = 'packageCode,slug,name,price,volume,duration,locationCode';
    const existing = await server.ctx.store.db.selectFrom('packages').select(['package_code', 'slug', 'name', 'volume', 'duration']).where('slug', '=', 'DE_1_7').executeTakeFirstOrThrow();
    const csv = [header, `OPS001,US_77_30,United States 77GB 30Days,770000,${77 * GB},30,US`, `${existing.package_code},DE_1_7,${existing.name},4321,${existing.volume},${existing.duration},DE`].join('\n');
    const imported = await op('POST', '/catalog/import', { csv });
    expect(imported.status).toBe(200);
    expect(imported.json).toEqual({ inserted: 1, updated: 1, errors: [] });
    const partner = await server.createPartner({ name: 'Importer' });
    expect((await v1(partner, 'GET', '/packages/OPS001')).json.price).toBe(770_000);
    expect((await v1(partner, 'GET', `/packages/${existing.package_code}`)).json.price).toBe(4300); // 0.4321 USD, charged in whole cents

    const asText = await op('POST', '/catalog/import', `${header}\nOPS002,US_78_30,United States 78GB 30Days,780000,${78 * GB},30,US\n`, { contentType: 'text/csv; charset=utf-8' });
    expect(asText.status).toBe(200);
    expect(asText.json).toEqual({ inserted: 1, updated: 0, errors: [] });

    const bad = [header, `OPS003,US_79_30,United States 79GB 30Days,790000,${79 * GB},30,US`, `OPS004,US_80_30,x,abc,${80 * GB},30,US`, `OPS005,US_81_30,y,1000,${GB},30,XX`].join('\n');
    const refused = await op('POST', '/catalog/import', { csv: bad });
    expect(refused.status).toBe(400);
    expect(refused.json.detail).toMatch(/nothing was imported/);
    const lines = refused.json.errors.map((e: { loc: string }) => e.loc);
    expect(lines.some((l: string) => l.startsWith('line 3'))).toBe(true);
    expect(lines.some((l: string) => l.startsWith('line 4'))).toBe(true);
    const ops3 = await server.ctx.store.db.selectFrom('packages').select('package_code').where('package_code', '=', 'OPS003').executeTakeFirst();
    expect(ops3).toBeUndefined();

    expect((await op('POST', '/catalog/import', {})).status).toBe(400);
    expect((await op('POST', '/catalog/import', { csv: 'x', extra: 1 })).status).toBe(400);
    expect((await op('POST', '/catalog/import', { csv: '' })).status).toBe(400);
    const tooBig = await op('POST', '/catalog/import', `${header}\n${'x'.repeat(9 * 1024 * 1024)}`, { contentType: 'text/csv' });
    expect(tooBig.status).toBe(413);
  });

  it('imports a profile batch into a pool, shows its stock and refuses a bad file whole', async () => {
    const db = server.ctx.store.db;
    const pkg = await db.selectFrom('packages').select('package_code').where('slug', '=', 'JP_1_7').executeTakeFirstOrThrow();
    const header = 'iccid,ac,confirmation_code,imsi,msisdn,pin,puk,apn';
    const row = (n: number) => `${makeIccid('4477', String(n).padStart(10, '0'))},LPA:1$rsp.example.com$OPS-${String(n).padStart(5, '0')},,,,,,`;
    const csv = [header, row(1), row(2), row(3)].join('\n');
    const imported = await op('POST', '/pools/import', { csv, package_code: pkg.package_code, batch_name: 'JP batch 1', low_stock_threshold: 5 });
    expect(imported.status).toBe(201);
    expect(imported.json).toMatchObject({ pool: pkg.package_code, inserted: 3, warnings: [] });

    const pools = await op('GET', '/pools');
    const pool = pools.json.data.find((p: { pool: string }) => p.pool === pkg.package_code);
    expect(pool).toMatchObject({ available: 3, assigned: 0, reserved: 0, used: 0, total: 3, low_stock_threshold: 5, low: true });
    expect(pool.batches).toEqual([expect.objectContaining({ name: 'JP batch 1', profile_count: 3 })]);
    const overview = await op('GET', '/overview');
    expect(overview.json.low_stock).toEqual(expect.arrayContaining([expect.objectContaining({ pool: pkg.package_code, available: 3, threshold: 5 })]));

    // A live partner's order takes one profile: it is reserved until downloaded.
    const live = await server.createPartner({ name: 'Live Buyer', environment: 'live' });
    const order = await v1(live, 'POST', '/orders', { lines: [{ package_id: pkg.package_code, count: 1 }] });
    expect(order.status).toBe(201);
    for (let i = 0; i < 100; i++) {
      const o = await v1(live, 'GET', `/orders/${order.json.id}`);
      if (o.json.status !== 'allocating') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const after = (await op('GET', '/pools')).json.data.find((p: { pool: string }) => p.pool === pkg.package_code);
    expect(after).toMatchObject({ available: 2, assigned: 1, reserved: 1, used: 0 });

    // Location pool, text/csv with the options in the query.
    const byLocation = await op('POST', '/pools/import?location_code=FR&low_stock_threshold=0', [header, row(10)].join('\n'), { contentType: 'text/csv' });
    expect(byLocation.status).toBe(201);
    expect(byLocation.json).toMatchObject({ pool: 'loc:FR', inserted: 1 });
    // Operator pool (Orange France), drawn on by every package whose networks name it.
    const byOperator = await op('POST', '/pools/import', { csv: [header, row(11)].join('\n'), operator: '20801' });
    expect(byOperator.status, byOperator.text).toBe(201);
    expect(byOperator.json).toMatchObject({ pool: 'op:20801', inserted: 1 });
    expect((await op('POST', '/pools/import', { csv: [header, row(12)].join('\n'), operator: '99999' })).status).toBe(404);
    expect((await op('POST', '/pools/import', { csv: [header, row(12)].join('\n'), operator: '20801', location_code: 'FR' })).status).toBe(400);

    const count = async () => Number((await db.selectFrom('pool_profiles').select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirstOrThrow()).n);
    const before = await count();
    const bad = [header, row(20), `123,LPA:1$rsp.example.com$X,,,,,,`, row(1), `${makeIccid('4477', '0000000021')},not-an-ac,,,,,,`].join('\n');
    const refused = await op('POST', '/pools/import', { csv: bad, package_code: pkg.package_code });
    expect(refused.status).toBe(400);
    const locs = refused.json.errors.map((e: { loc: string }) => e.loc);
    expect(locs).toEqual(expect.arrayContaining(['line 3', 'line 4', 'line 5']));
    expect(locs).not.toContain('line 2');
    expect(await count()).toBe(before);

    expect((await op('POST', '/pools/import', { csv, package_code: pkg.package_code, location_code: 'JP' })).status).toBe(400);
    expect((await op('POST', '/pools/import', { csv })).status).toBe(400);
    expect((await op('POST', '/pools/import', { csv: [header, row(30)].join('\n'), package_code: 'NO_SUCH' })).status).toBe(404);
    expect((await op('POST', '/pools/import', { csv: [header, row(30)].join('\n'), package_code: pkg.package_code, low_stock_threshold: -1 })).status).toBe(400);
    expect((await op('POST', '/pools/import', { csv: [header, row(30)].join('\n'), package_code: pkg.package_code, colour: 'red' })).status).toBe(400);
    expect(await count()).toBe(before);
  });

  it('shows the system at a glance', async () => {
    const overview = await op('GET', '/overview');
    expect(overview.status).toBe(200);
    const o = overview.json;
    const partners = await server.ctx.partners.list();
    expect(o.partners.total).toBe(partners.length);
    expect(o.partners.live).toBe(partners.filter((p) => p.environment === 'live').length);
    expect(o.partners.sandbox).toBe(partners.filter((p) => p.environment === 'sandbox').length);
    expect(o.esims.total).toBeGreaterThanOrEqual(3);
    expect(o.orders_24h.sandbox.total).toBeGreaterThanOrEqual(2);
    expect(o.orders_24h.live.total).toBeGreaterThanOrEqual(1);
    expect(o.supply.map((s: { id: string }) => s.id)).toEqual(['simulated', 'pool', 'upstream']);
    expect(o.supply.find((s: { id: string }) => s.id === 'simulated').status).toBe('ok');
    expect(o.supply.find((s: { id: string }) => s.id === 'pool').status).toBe('warning');
    expect(o.database).toMatchObject({ status: 'ok', pending_migrations: [] });
    expect(o.webhooks).toMatchObject({ pending: expect.any(Number), failed: expect.any(Number), dead: expect.any(Number) });
    expect(o.jobs).toMatchObject({ queued: expect.any(Number), failed: expect.any(Number) });
  });
  it('renders every operator page in a browser (desktop and phone) and approves a deposit there', async () => {
    const partner = await server.createPartner({ name: 'Browser Live Co', environment: 'live', depositMinor: 0 });
    const p = await server.ctx.partners.get(partner.partnerId);
    await requestDeposit(server.ctx.store.db, { partner: p, amountMinor: 42 * 10_000, reference: 'UI wire', userId: null }, server.ctx.now());
    const browser = await launchBrowser();
    try {
      for (const viewport of [{ width: 1280, height: 900 }, { width: 390, height: 844 }]) {
        const page = await browser.newPage({ viewport });
        const errors = watchPageErrors(page);
        await page.goto(`${server.baseUrl}/console/`);
        await page.getByLabel('Email').fill(OPERATOR.email);
        await page.getByLabel('Password').fill(OPERATOR.password);
        await page.getByRole('button', { name: 'Log in' }).click();
        await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
        await page.getByRole('heading', { name: 'Supply health' }).waitFor();
        const suffix = viewport.width < 500 ? '-phone' : '';
        await screenshot(page, `operator-overview${suffix}`);
        const pages: Array<[string, string, string]> = [
          ['/operator/partners', 'Partners', 'Browser Live Co'],
          ['/operator/deposits', 'Deposits', 'Browser Live Co'],
          ['/operator/catalog', 'Catalog', 'Price tiers and markups'],
          ['/operator/pools', 'Profile pools', 'Import a profile batch'],
        ];
        for (const [path, heading, text] of pages) {
          await page.goto(`${server.baseUrl}/console${path}`);
          await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
          await page.getByText(text).first().waitFor();
          // Nothing wider than the phone: tables scroll inside their own box.
          expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(viewport.width);
          await screenshot(page, `operator-${path.split('/').pop()}${suffix}`);
        }
        if (!suffix) {
          await page.goto(`${server.baseUrl}/console/operator/deposits`);
          await page.getByRole('button', { name: /^Approve .* Browser Live Co$/ }).click();
          await page.getByText(/Approved .* balance now/).waitFor();
          expect(await balanceOf(partner.partnerId)).toBe(42 * 10_000);
          await screenshot(page, 'operator-deposit-approved');
        }
        expect(errors).toEqual([]);
        await page.close();
      }
    } finally {
      await browser.close();
    }
  }, 60_000);
});
