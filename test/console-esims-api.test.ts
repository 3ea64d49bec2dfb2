import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unzipSync, strFromU8 } from 'fflate';
import jsQRModule from 'jsqr';
import { PNG } from 'pngjs';
import { startServer, type TestServer } from './helpers/server.ts';
import { walletBalance } from '../src/domain/ledger/ledger.ts';

// jsqr is CommonJS with a typed `default`: take whichever the loader hands us.
const jsQR = ((jsQRModule as unknown as { default?: unknown }).default ?? jsQRModule) as unknown as (data: Uint8ClampedArray, width: number, height: number) => { data: string } | null;

function decodeQr(png: Uint8Array): string | null {
  const image = PNG.sync.read(Buffer.from(png));
  return jsQR(new Uint8ClampedArray(image.data.buffer, image.data.byteOffset, image.data.length), image.width, image.height)?.data ?? null;
}

interface Session {
  cookie: string;
  csrf: string;
  partnerId: string;
}

interface Answer {
  status: number;
  headers: Headers;
  body: any;
  bytes: Uint8Array;
}

let emailSeq = 0;

/** A console user of a fresh sandbox partner, with money to spend. */
async function signUp(server: TestServer, depositMinor = 500 * 10_000): Promise<Session> {
  const response = await fetch(`${server.baseUrl}/console/api/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: `esims-${++emailSeq}-${Date.now()}@example.com`, password: 'correct horse battery', company: `Esims ${emailSeq}` }),
  });
  expect(response.status).toBe(201);
  const json = (await response.json()) as { csrf_token: string; partner: { id: string } };
  const cookie = (response.headers.get('set-cookie') ?? '').split(';')[0];
  expect(cookie).toMatch(/^esimhub_session=/);
  if (depositMinor > 0) await server.ctx.partners.deposit(json.partner.id, depositMinor, `test-deposit-${json.partner.id}`, server.ctx.now());
  return { cookie, csrf: json.csrf_token, partnerId: json.partner.id };
}

async function call(server: TestServer, session: Session | null, method: string, path: string, options: { body?: unknown; csrf?: boolean; idempotencyKey?: string } = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (session) headers.cookie = session.cookie;
  if (session && method !== 'GET' && options.csrf !== false) headers['x-csrf-token'] = session.csrf;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey;
  const response = await fetch(`${server.baseUrl}${path}`, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
  const bytes = new Uint8Array(await response.arrayBuffer());
  const type = response.headers.get('content-type') ?? '';
  const body = type.includes('json') && bytes.length ? JSON.parse(Buffer.from(bytes).toString('utf8')) : Buffer.from(bytes).toString('utf8');
  return { status: response.status, headers: response.headers, body, bytes };
}

/** A sandbox base package with a total volume (so usage thresholds fire) whose validity starts at the first network attach. */
async function basePackage(server: TestServer, session: Session): Promise<{ id: string; volume_bytes: number; price: number }> {
  const list = await call(server, session, 'GET', '/v1/packages?location=US&limit=100');
  expect(list.status).toBe(200);
  const pkg = list.body.data.find((p: any) => p.data_type === 1 && !p.day_pass && p.volume_bytes > 0 && p.active_type === 2);
  expect(pkg).toBeTruthy();
  return pkg;
}

async function orderReady(server: TestServer, session: Session, packageId: string, count: number) {
  const created = await call(server, session, 'POST', '/v1/orders', { body: { lines: [{ package_id: packageId, count }] }, idempotencyKey: `order-${Math.random()}` });
  expect(created.status).toBe(201);
  for (let i = 0; i < 400; i++) {
    const got = await call(server, session, 'GET', `/v1/orders/${created.body.id}`);
    if (got.body.status === 'ready') return got.body;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('order not ready');
}

async function esimsOf(server: TestServer, session: Session, orderId: string): Promise<any[]> {
  const list = await call(server, session, 'GET', `/v1/esims?order_id=${orderId}&limit=100`);
  expect(list.status).toBe(200);
  return list.body.data;
}

function csvRows(text: string): string[][] {
  return text
    .trim()
    .split(/\r\n/)
    .map((line) => line.split(','));
}

describe('console eSIM API: order QR ZIP, eSIM timeline, CSRF', () => {
  let server: TestServer;
  let receiver: http.Server;
  let receiverUrl = '';
  const received: string[] = [];

  beforeAll(async () => {
    server = await startServer();
    receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        received.push(body);
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;
  });
  afterAll(async () => {
    await server?.close();
    await new Promise((r) => receiver.close(r));
  });

  it('zips one PNG per eSIM that decodes to its activation code, and a CSV of every eSIM', async () => {
    const session = await signUp(server);
    const pkg = await basePackage(server, session);
    const order = await orderReady(server, session, pkg.id, 3);
    const esims = await esimsOf(server, session, order.id);
    expect(esims).toHaveLength(3);

    const zip = await call(server, session, 'GET', `/v1/orders/${order.id}/qr-codes.zip`);
    expect(zip.status).toBe(200);
    expect(zip.headers.get('content-type')).toBe('application/zip');
    expect(zip.headers.get('content-disposition')).toBe(`attachment; filename="qr-codes-${order.order_no}.zip"`);
    const files = unzipSync(zip.bytes);
    expect(Object.keys(files).sort()).toEqual([...esims.map((e) => `${e.iccid}.png`), 'esims.csv'].sort());
    for (const esim of esims) expect(decodeQr(files[`${esim.iccid}.png`])).toBe(esim.activation_code);

    const rows = csvRows(strFromU8(files['esims.csv']));
    expect(rows[0]).toEqual(['iccid', 'esim_id', 'status', 'activation_code', 'install_url']);
    const byIccid = new Map(rows.slice(1).map((r) => [r[0], r]));
    expect(byIccid.size).toBe(3);
    for (const esim of esims) expect(byIccid.get(esim.iccid)).toEqual([esim.iccid, esim.id, 'GOT_RESOURCE', esim.activation_code, esim.install_url]);

    // The order number works as the id too; a cancelled eSIM stays in the CSV but loses its QR image.
    const cancelled = await call(server, session, 'POST', `/v1/esims/${esims[0].id}/cancel`, { idempotencyKey: `cancel-${esims[0].id}` });
    expect(cancelled.status).toBe(200);
    const again = unzipSync((await call(server, session, 'GET', `/v1/orders/${order.order_no}/qr-codes.zip`)).bytes);
    expect(again[`${esims[0].iccid}.png`]).toBeUndefined();
    expect(Object.keys(again)).toHaveLength(3);
    expect(csvRows(strFromU8(again['esims.csv'])).find((r) => r[0] === esims[0].iccid)?.[2]).toBe('CANCEL');
  });

  it('adds a branded SVG per eSIM, with the display name and logo, once the partner has branding', async () => {
    const session = await signUp(server);
    const pkg = await basePackage(server, session);
    const order = await orderReady(server, session, pkg.id, 2);
    const esims = await esimsOf(server, session, order.id);
    const plainNames = [...esims.map((e) => `${e.iccid}.png`), 'esims.csv'].sort();
    expect(Object.keys(unzipSync((await call(server, session, 'GET', `/v1/orders/${order.id}/qr-codes.zip`)).bytes)).sort()).toEqual(plainNames);

    const logo = `data:image/svg+xml;base64,${Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><circle cx="5" cy="5" r="4" fill="#e4572e"/></svg>').toString('base64')}`;
    const saved = await call(server, session, 'PUT', '/console/api/branding', { body: { display_name: 'Nomad & Co <Travel>', logo_data_url: logo, accent_color: '#e4572e' } });
    expect(saved.status).toBe(200);
    const files = unzipSync((await call(server, session, 'GET', `/v1/orders/${order.id}/qr-codes.zip`)).bytes);
    expect(Object.keys(files).sort()).toEqual([...plainNames, ...esims.map((e) => `${e.iccid}.svg`)].sort());
    for (const esim of esims) {
      const svg = strFromU8(files[`${esim.iccid}.svg`]);
      expect(svg).toContain('>Nomad &amp; Co &lt;Travel&gt;</text>');
      expect(svg).toContain(`href="${logo}"`);
      // Exactly the branded QR of the install page, and the PNG next to it still decodes to the code.
      const token = /\/qr\/([^/.]+)\.png$/.exec(esim.qr_code_url)![1];
      expect(svg).toBe(await (await fetch(`${server.baseUrl}/qr/${token}.svg`)).text());
      expect(decodeQr(files[`${esim.iccid}.png`])).toBe(esim.activation_code);
    }

    // Without branding again, the ZIP is plain again.
    expect((await call(server, session, 'DELETE', '/console/api/branding')).status).toBe(204);
    expect(Object.keys(unzipSync((await call(server, session, 'GET', `/v1/orders/${order.id}/qr-codes.zip`)).bytes)).sort()).toEqual(plainNames);
  });

  it("answers 404 for another partner's order and for an unknown one, 401 without a session", async () => {
    const owner = await signUp(server);
    const other = await signUp(server);
    const pkg = await basePackage(server, owner);
    const order = await orderReady(server, owner, pkg.id, 1);

    const foreign = await call(server, other, 'GET', `/v1/orders/${order.id}/qr-codes.zip`);
    expect(foreign.status).toBe(404);
    expect(foreign.body.code).toBe('order_not_found');
    const byNumber = await call(server, other, 'GET', `/v1/orders/${order.order_no}/qr-codes.zip`);
    expect(byNumber.status).toBe(404);
    expect((await call(server, owner, 'GET', '/v1/orders/ord_nothing/qr-codes.zip')).status).toBe(404);
    expect((await call(server, null, 'GET', `/v1/orders/${order.id}/qr-codes.zip`)).status).toBe(401);
  });

  it('shows install, usage, webhooks and cancel on the timeline in order; other partners get 404', async () => {
    const session = await signUp(server);
    const hook = await call(server, session, 'POST', '/v1/webhook-endpoints', { body: { url: receiverUrl }, idempotencyKey: `hook-${session.partnerId}` });
    expect(hook.status).toBe(201);
    const pkg = await basePackage(server, session);
    const order = await orderReady(server, session, pkg.id, 2);
    const [used, unused] = await esimsOf(server, session, order.id);

    for (const step of ['install', 'enable']) {
      const r = await call(server, session, 'POST', `/sandbox/esims/${used.iccid}/${step}`);
      expect(r.status, step).toBe(200);
    }
    const bytes = Math.ceil(pkg.volume_bytes * 0.6);
    const usage = await call(server, session, 'POST', `/sandbox/esims/${used.iccid}/usage`, { body: { bytes } });
    expect(usage.status).toBe(200);
    expect(usage.body.grantedBytes).toBe(bytes);
    expect((await call(server, session, 'POST', `/v1/esims/${unused.id}/cancel`, { idempotencyKey: `cancel-${unused.id}` })).status).toBe(200);

    const timeline = await call(server, session, 'GET', `/console/api/esims/${used.id}/timeline`);
    expect(timeline.status).toBe(200);
    expect(timeline.body.object).toBe('esim_timeline');
    const oldestFirst = [...timeline.body.entries].reverse();
    expect(oldestFirst.map((e: any) => e.type)).toEqual(['order.ready', 'esim.smdp', 'esim.smdp', 'esim.smdp', 'esim.status', 'esim.data_usage']);
    expect(oldestFirst.map((e: any) => e.changes.map((c: any) => `${c.field}:${c.from}>${c.to}`).join(' '))).toEqual([
      '',
      'smdp_status:RELEASED>DOWNLOAD',
      'smdp_status:DOWNLOAD>INSTALLATION',
      'smdp_status:INSTALLATION>ENABLED',
      'status:GOT_RESOURCE>IN_USE',
      '',
    ]);
    expect(oldestFirst[5].summary).toBe('50% of the data used');
    const times = timeline.body.entries.map((e: any) => Date.parse(e.at));
    expect([...times].sort((a, b) => b - a)).toEqual(times);

    // The cancelled eSIM's newest entry is the cancellation.
    const cancelled = await call(server, session, 'GET', `/console/api/esims/${unused.iccid}/timeline`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.entries[0]).toMatchObject({ type: 'esim.status', changes: [{ field: 'status', from: 'GOT_RESOURCE', to: 'CANCEL' }] });

    // Every event went to the webhook endpoint: the history shows each delivery with its attempts.
    let history: any;
    for (let i = 0; i < 200; i++) {
      history = (await call(server, session, 'GET', `/console/api/esims/${used.id}/timeline`)).body;
      if (history.webhooks.length === 6 && history.webhooks.every((w: any) => w.status === 'delivered')) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(history.webhooks.map((w: any) => w.event_type)).toEqual(['esim.data_usage', 'esim.status', 'esim.smdp', 'esim.smdp', 'esim.smdp', 'order.ready']);
    for (const w of history.webhooks) {
      expect(w).toMatchObject({ status: 'delivered', attempts: 1, last_status_code: 200, url: receiverUrl });
      expect(w.attempt_log).toEqual([expect.objectContaining({ attempt_no: 1, status_code: 200 })]);
    }
    expect(history.entries.every((e: any) => e.webhook?.status === 'delivered')).toBe(true);
    expect(received.length).toBeGreaterThanOrEqual(7);

    const other = await signUp(server, 0);
    for (const ref of [used.id, used.iccid]) {
      const foreign = await call(server, other, 'GET', `/console/api/esims/${ref}/timeline`);
      expect(foreign.status).toBe(404);
      expect(foreign.body.code).toBe('esim_not_found');
      expect(foreign.body.entries).toBeUndefined();
    }
    expect((await call(server, null, 'GET', `/console/api/esims/${used.id}/timeline`)).status).toBe(401);
  });

  it('shows a top-up reviving a used-up eSIM as a status change, matching the eSIM', async () => {
    const session = await signUp(server);
    const pkg = await basePackage(server, session);
    const order = await orderReady(server, session, pkg.id, 1);
    const [esim] = await esimsOf(server, session, order.id);
    for (const step of ['install', 'enable']) expect((await call(server, session, 'POST', `/sandbox/esims/${esim.iccid}/${step}`)).status).toBe(200);
    expect((await call(server, session, 'POST', `/sandbox/esims/${esim.iccid}/usage`, { body: { bytes: pkg.volume_bytes } })).status).toBe(200);
    expect((await call(server, session, 'GET', `/v1/esims/${esim.id}`)).body.status).toBe('USED_UP');

    const fits = await call(server, session, 'GET', `/v1/packages?type=topup&topup_for_esim=${esim.id}`);
    expect(fits.body.data.length).toBeGreaterThan(0);
    const topup = await call(server, session, 'POST', `/v1/esims/${esim.id}/topups`, { body: { package_id: fits.body.data[0].id }, idempotencyKey: `topup-${esim.id}` });
    expect(topup.status).toBe(201);
    expect(topup.body.esim.status).toBe('IN_USE');

    const timeline = await call(server, session, 'GET', `/console/api/esims/${esim.id}/timeline`);
    const added = timeline.body.entries.find((e: any) => e.type === 'topup.added');
    expect(added).toMatchObject({ summary: `Top-up ${fits.body.data[0].id} added`, webhook: null });
    // The domain tells the partner of the revival too (an esim.status event with its webhook).
    const statuses = timeline.body.entries.filter((e: any) => e.type === 'esim.status');
    expect(statuses[0]).toMatchObject({ changes: [{ field: 'status', from: 'USED_UP', to: 'IN_USE' }] });
    expect(statuses[1]).toMatchObject({ changes: [{ field: 'status', from: 'IN_USE', to: 'USED_UP' }] });
  });

  it('refuses a /v1 POST with the session cookie but no CSRF token, and changes nothing', async () => {
    const session = await signUp(server);
    const pkg = await basePackage(server, session);
    const before = await walletBalance(server.ctx.store.db, session.partnerId);

    const forged = await call(server, session, 'POST', '/v1/orders', { body: { lines: [{ package_id: pkg.id, count: 1 }] }, csrf: false, idempotencyKey: 'forged-order' });
    expect(forged.status).toBe(403);
    expect(forged.body.code).toBe('forbidden');
    const wrong = await call(server, { ...session, csrf: 'x'.repeat(session.csrf.length) }, 'POST', '/v1/orders', { body: { lines: [{ package_id: pkg.id, count: 1 }] }, idempotencyKey: 'forged-order-2' });
    expect(wrong.status).toBe(403);

    expect((await walletBalance(server.ctx.store.db, session.partnerId)).balanceMinor).toBe(before.balanceMinor);
    const orders = await server.ctx.store.db.selectFrom('orders').select('id').where('partner_id', '=', session.partnerId).execute();
    expect(orders).toEqual([]);

    // The same request with the token goes through: the refusal was the missing token, not the request.
    const real = await call(server, session, 'POST', '/v1/orders', { body: { lines: [{ package_id: pkg.id, count: 1 }] }, idempotencyKey: 'real-order' });
    expect(real.status).toBe(201);
    expect((await walletBalance(server.ctx.store.db, session.partnerId)).balanceMinor).toBe(before.balanceMinor - pkg.price);
  });
});

describe('console eSIM API: an order still allocating', () => {
  let server: TestServer;
  beforeAll(async () => {
    // No worker: orders stay allocating.
    server = await startServer({}, {}, { worker: false });
  });
  afterAll(async () => server?.close());

  it('answers 409 order_in_progress with Retry-After until the order is allocated', async () => {
    const session = await signUp(server);
    const pkg = await basePackage(server, session);
    const created = await call(server, session, 'POST', '/v1/orders', { body: { lines: [{ package_id: pkg.id, count: 2 }] }, idempotencyKey: 'slow-order' });
    expect(created.status).toBe(201);
    expect(created.body.status).toBe('allocating');

    const zip = await call(server, session, 'GET', `/v1/orders/${created.body.id}/qr-codes.zip`);
    expect(zip.status).toBe(409);
    expect(zip.headers.get('content-type')).toContain('application/problem+json');
    expect(zip.body.code).toBe('order_in_progress');
    expect(zip.headers.get('retry-after')).toBe('1');

    server.ctx.worker.start();
    let ready = false;
    for (let i = 0; i < 400 && !ready; i++) {
      ready = (await call(server, session, 'GET', `/v1/orders/${created.body.id}`)).body.status === 'ready';
      if (!ready) await new Promise((r) => setTimeout(r, 25));
    }
    expect(ready).toBe(true);
    const after = await call(server, session, 'GET', `/v1/orders/${created.body.id}/qr-codes.zip`);
    expect(after.status).toBe(200);
    expect(Object.keys(unzipSync(after.bytes)).filter((name) => name.endsWith('.png'))).toHaveLength(2);
  });
});
