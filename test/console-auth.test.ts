import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from './helpers/server.ts';
import { consoleLogin, consoleSignUp, consoleUser } from './helpers/console.ts';

async function post(server: TestServer, path: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${server.baseUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, headers: response.headers, json: text ? JSON.parse(text) : null };
}

describe('console sessions and sign-up', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
    await server.ctx.pricing.setRate('EUR', '0.9', Date.now());
  });
  afterAll(async () => {
    await server?.close();
  });

  const countUsers = async () => Number((await server.ctx.store.db.selectFrom('console_users').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  const countPartners = async () => Number((await server.ctx.store.db.selectFrom('partners').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

  it('signs up a sandbox partner with an HttpOnly, SameSite=Strict session cookie', async () => {
    const response = await fetch(`${server.baseUrl}/console/api/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: ' Alice@Example.com ', password: 'correct horse battery', company: 'Alice Travel', currency: 'eur' }),
    });
    expect(response.status).toBe(201);
    const cookie = response.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^esimhub_session=[A-Za-z0-9_-]{43};/);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    expect(cookie).toMatch(/Path=\//);
    const body = await response.json();
    expect(body.user).toMatchObject({ email: 'alice@example.com', role: 'partner' });
    expect(body.partner).toMatchObject({ name: 'Alice Travel', environment: 'sandbox', currency: 'EUR' });
    expect(body.csrf_token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(JSON.stringify(body)).not.toContain('scrypt');
    const row = await server.ctx.store.db.selectFrom('console_users').selectAll().where('email', '=', 'alice@example.com').executeTakeFirstOrThrow();
    expect(row.password_hash).toMatch(/^scrypt\$32768\$8\$1\$/);
    expect(row.password_hash).not.toContain('correct horse');
    // The session is stored hashed: the cookie value is not in the table.
    const token = /esimhub_session=([^;]+)/.exec(cookie)![1];
    const sessions = await server.ctx.store.db.selectFrom('console_sessions').select('id_hash').execute();
    expect(sessions.some((s) => s.id_hash === token)).toBe(false);
    expect(sessions.length).toBeGreaterThan(0);
  });

  it('offers only currencies with an exchange rate, and prices /v1 packages as orders charge them', async () => {
    expect((await (await fetch(`${server.baseUrl}/console/api/currencies`)).json()).currencies).toEqual(['USD', 'EUR']);
    const refused = await post(server, '/console/api/signup', { email: 'thb@example.com', password: 'correct horse battery', company: 'Baht', currency: 'THB' });
    expect(refused.status).toBe(400);
    expect(refused.json.detail).toMatch(/USD, EUR/);
    // Alice holds EUR: the catalogue shows EUR prices, and an order charges exactly that.
    const alice = await consoleLogin(server, 'alice@example.com', 'correct horse battery');
    await alice.call('POST', '/console/api/deposits', { body: { amount: 100 * 10_000 } });
    const pkg = (await alice.call('GET', '/v1/packages/US_1_7')).json;
    expect(pkg.currency).toBe('EUR');
    const usd = server.ctx.catalog.get('US_1_7')!.price;
    expect(pkg.price).toBe(Math.round((Number(usd) * 0.9) / 100) * 100);
    const order = await alice.call('POST', '/v1/orders', { body: { transaction_id: 'eur-1', lines: [{ package_id: 'US_1_7', count: 2 }] } });
    expect(order.status).toBe(201);
    expect(order.json.amount).toBe(2 * pkg.price);
    expect(order.json.currency).toBe('EUR');
  });

  it('refuses bad sign-ups with a clear problem and creates nothing', async () => {
    const users = await countUsers();
    const partners = await countPartners();
    const cases: Array<[unknown, number, RegExp]> = [
      [{ email: 'alice@example.com', password: 'correct horse battery', company: 'Again' }, 409, /already exists/],
      [{ email: 'bob@example.com', password: 'short', company: 'Bob' }, 400, /at least 10/],
      [{ email: 'not-an-email', password: 'correct horse battery', company: 'Bob' }, 400, /email/],
      [{ email: 'bob@example.com', password: 'correct horse battery', company: '' }, 400, /company/],
      [{ email: 'bob@example.com', password: 'correct horse battery', company: 'Bob', currency: 'DOLLARS' }, 400, /currency/],
      [{ email: 'bob@example.com', password: 'correct horse battery', company: 'Bob', admin: true }, 400, /additional|admin/],
    ];
    for (const [body, status, detail] of cases) {
      const response = await post(server, '/console/api/signup', body);
      expect(response.status, JSON.stringify(body)).toBe(status);
      expect(response.headers.get('content-type')).toContain('application/problem+json');
      expect(JSON.stringify(response.json)).toMatch(detail);
      expect(response.headers.get('set-cookie')).toBeNull();
    }
    expect(await countUsers()).toBe(users);
    expect(await countPartners()).toBe(partners);
  });

  it('answers a wrong password and an unknown email alike, and locks an account after repeated failures', async () => {
    await consoleSignUp(server, { email: 'carol@example.com' });
    const unknown = await post(server, '/console/api/login', { email: 'nobody@example.com', password: 'whatever-password' });
    const wrong = await post(server, '/console/api/login', { email: 'carol@example.com', password: 'wrong password!' });
    expect(unknown.status).toBe(401);
    expect(wrong.status).toBe(401);
    expect(wrong.json.detail).toBe(unknown.json.detail);
    for (let i = 0; i < 4; i++) expect((await post(server, '/console/api/login', { email: 'carol@example.com', password: 'wrong password!' })).status).toBe(401);
    // Five failures: now even the right password is refused until the lockout ends.
    const locked = await post(server, '/console/api/login', { email: 'carol@example.com', password: 'correct horse battery' });
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(locked.headers.get('set-cookie')).toBeNull();
    // When it ends, the right password works and the failure count starts again.
    const row = await server.ctx.store.db.selectFrom('console_users').select(['locked_until', 'failed_logins']).where('email', '=', 'carol@example.com').executeTakeFirstOrThrow();
    expect(row.failed_logins).toBe(5);
    await server.ctx.store.db.updateTable('console_users').set({ locked_until: Date.now() - 1 }).where('email', '=', 'carol@example.com').execute();
    const ok = await consoleLogin(server, 'carol@example.com', 'correct horse battery');
    expect(ok.session.user.email).toBe('carol@example.com');
    const after = await server.ctx.store.db.selectFrom('console_users').select(['failed_logins']).where('email', '=', 'carol@example.com').executeTakeFirstOrThrow();
    expect(after.failed_logins).toBe(0);
  });

  it('drives /v1 with the session, and refuses state changes without the CSRF token', async () => {
    const dave = await consoleSignUp(server, { email: 'dave@example.com' });
    const balance = await dave.call('GET', '/v1/balance', { csrf: false });
    expect(balance.status).toBe(200);
    expect(balance.json).toMatchObject({ available: 0, currency: 'USD' });
    const keysBefore = (await dave.call('GET', '/v1/api-keys')).json.data.length;
    const noToken = await dave.call('POST', '/v1/api-keys', { body: {}, csrf: false });
    expect(noToken.status).toBe(403);
    expect(noToken.json.detail).toMatch(/CSRF/);
    const wrongToken = await dave.call('POST', '/v1/api-keys', { body: {}, csrf: 'x'.repeat(32) });
    expect(wrongToken.status).toBe(403);
    // Another session's token is no good either.
    const erin = await consoleSignUp(server, { email: 'erin@example.com' });
    expect((await dave.call('POST', '/v1/api-keys', { body: {}, csrf: erin.csrf })).status).toBe(403);
    expect((await dave.call('GET', '/v1/api-keys')).json.data.length).toBe(keysBefore);
    const created = await dave.call('POST', '/v1/api-keys', { body: { label: 'ci' } });
    expect(created.status).toBe(201);
    expect((await dave.call('GET', '/v1/api-keys')).json.data.length).toBe(keysBefore + 1);
    // The sandbox network takes the session too, with the same CSRF rule.
    expect((await dave.call('POST', '/sandbox/clock/advance', { body: { seconds: 60 }, csrf: false })).status).toBe(403);
    const advanced = await dave.call('POST', '/sandbox/clock/advance', { body: { seconds: 60 } });
    expect(advanced.status).toBe(200);
    expect(advanced.json.offsetMs).toBe(60_000);
  });

  it('keeps partners apart: a session sees only its own partner', async () => {
    const frank = await consoleSignUp(server, { email: 'frank@example.com' });
    const grace = await consoleSignUp(server, { email: 'grace@example.com' });
    const franksKeys = (await frank.call('GET', '/v1/api-keys')).json.data.map((k: { id: string }) => k.id);
    expect(franksKeys.length).toBeGreaterThan(0);
    const revoke = await grace.call('DELETE', `/v1/api-keys/${franksKeys[0]}`);
    expect(revoke.status).toBe(404);
    expect((await frank.call('GET', '/v1/api-keys')).json.data.find((k: { id: string }) => k.id === franksKeys[0]).status).toBe('active');
  });

  it('gives operators no partner API and partners no operator pages', async () => {
    const operator = await consoleUser(server, { email: 'ops@example.com', role: 'operator' });
    expect(operator.session.user.role).toBe('operator');
    expect(operator.session.partner).toBeNull();
    expect((await operator.call('GET', '/v1/balance')).status).toBe(403);
  });

  it('ends sessions on logout, on idling and on a password change', async () => {
    const heidi = await consoleSignUp(server, { email: 'heidi@example.com' });
    const second = await consoleLogin(server, 'heidi@example.com', 'correct horse battery');
    const out = await heidi.call('POST', '/console/api/logout');
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/esimhub_session=;.*Max-Age=0/i);
    expect((await heidi.call('GET', '/v1/balance')).status).toBe(401);
    expect((await heidi.call('GET', '/console/api/session')).json.user).toBeNull();
    // The other session lives on until idle for 12 h.
    expect((await second.call('GET', '/v1/balance')).status).toBe(200);
    const realNow = server.ctx.now;
    try {
      server.ctx.now = () => Date.now() + 12 * 3600_000 + 1000;
      expect((await second.call('GET', '/v1/balance')).status).toBe(401);
    } finally {
      server.ctx.now = realNow;
    }
    // A password change ends every other session and needs the current password.
    const a = await consoleLogin(server, 'heidi@example.com', 'correct horse battery');
    const b = await consoleLogin(server, 'heidi@example.com', 'correct horse battery');
    expect((await a.call('POST', '/console/api/password', { body: { current_password: 'wrong password!', new_password: 'a new long password' } })).status).toBe(401);
    const changed = await a.call('POST', '/console/api/password', { body: { current_password: 'correct horse battery', new_password: 'a new long password' } });
    expect(changed.status).toBe(200);
    expect((await b.call('GET', '/v1/balance')).status).toBe(401);
    expect((await post(server, '/console/api/login', { email: 'heidi@example.com', password: 'correct horse battery' })).status).toBe(401);
    expect((await consoleLogin(server, 'heidi@example.com', 'a new long password')).session.user.email).toBe('heidi@example.com');
  });

  it('prefers an API key to a cookie when both are sent', async () => {
    const ivan = await consoleSignUp(server, { email: 'ivan@example.com' });
    const other = await server.createPartner({ name: 'Keyed' });
    const response = await ivan.call('GET', '/v1/balance', { headers: { authorization: `Bearer ${other.accessCode}` } });
    expect(response.status).toBe(200);
    expect(response.json.available).toBe(1000 * 10_000);
  });
});

describe('console sign-up switched off and login rate limits', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ CONSOLE_SIGNUP: 'false', CONSOLE_LOGIN_RATE: '2' });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('refuses sign-up when the operator has switched it off', async () => {
    const response = await post(server, '/console/api/signup', { email: 'x@example.com', password: 'correct horse battery', company: 'X' });
    expect(response.status).toBe(403);
    expect(await server.ctx.consoleAccounts.findUserByEmail('x@example.com')).toBeUndefined();
  });

  it('limits login attempts per client address', async () => {
    // Sent together: one after another, each waits for a (decoy) scrypt hash, and on a busy machine six of them
    // can spread over more one-second windows than the limit needs to trip.
    const statuses = (await Promise.all(Array.from({ length: 6 }, (_, i) => post(server, '/console/api/login', { email: `u${i}@example.com`, password: 'whatever-password' })))).map((r) => r.status);
    expect(statuses).toContain(429);
    expect(statuses.filter((s) => s === 401).length).toBeGreaterThanOrEqual(1);
  });
});

describe('console cookies behind an https public URL', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ PUBLIC_BASE_URL: 'https://console.esimhub.example' });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('marks the session cookie Secure on sign-up, login and logout, though the request itself came over plain http', async () => {
    expect(server.ctx.config.publicBaseUrl).toBe('https://console.esimhub.example');
    const signup = await post(server, '/console/api/signup', { email: 'secure@example.com', password: 'correct horse battery', company: 'Secure Travel' });
    expect(signup.status).toBe(201);
    const cookie = signup.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^esimhub_session=[A-Za-z0-9_-]{43};/);
    expect(cookie.split(';').map((part) => part.trim())).toContain('Secure');
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);

    const login = await post(server, '/console/api/login', { email: 'secure@example.com', password: 'correct horse battery' });
    expect(login.status).toBe(200);
    const loginCookie = login.headers.get('set-cookie') ?? '';
    expect(loginCookie.split(';').map((part) => part.trim())).toContain('Secure');
    const session = `esimhub_session=${/esimhub_session=([^;]*)/.exec(loginCookie)![1]}`;

    const logout = await post(server, '/console/api/logout', {}, { cookie: session, 'x-csrf-token': login.json.csrf_token });
    expect(logout.status).toBe(204);
    const cleared = logout.headers.get('set-cookie') ?? '';
    expect(cleared).toMatch(/^esimhub_session=;/);
    expect(cleared.split(';').map((part) => part.trim())).toContain('Secure');
  });

  it('leaves Secure off on a plain http server', async () => {
    const plain = await startServer();
    try {
      const signup = await post(plain, '/console/api/signup', { email: 'plain@example.com', password: 'correct horse battery', company: 'Plain Travel' });
      expect(signup.status).toBe(201);
      expect((signup.headers.get('set-cookie') ?? '').split(';').map((part) => part.trim())).not.toContain('Secure');
    } finally {
      await plain.close();
    }
  });
});
