import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PNG } from 'pngjs';
import jsQRModule from 'jsqr';
import type { Browser } from 'playwright-core';
import { startServer, type TestServer } from './helpers/server.ts';
import { launchBrowser, screenshot, watchPageErrors } from './helpers/browser.ts';
import { consoleSignUp, consoleUser, type ConsoleClient } from './helpers/console.ts';
import { renderQrPng } from '../src/http/install/qr.ts';

// jsqr is CommonJS with a typed `default`: take whichever the loader hands us.
const jsQR = ((jsQRModule as unknown as { default?: unknown }).default ?? jsQRModule) as unknown as (data: Uint8ClampedArray, width: number, height: number) => { data: string } | null;

const ADMIN_TOKEN = 'partner-console-test-admin-token';
const DAY_MS = 86_400_000;

/** Rasterizes the SVG QR this server renders (one path of 1x1 module squares) and reads it with jsQR. */
function decodeSvgQr(svg: string): string | null {
  const viewBox = /viewBox="0 0 (\d+) (\d+)"/.exec(svg);
  const path = /<path d="([^"]*)"/.exec(svg)?.[1] ?? '';
  if (!viewBox) return null;
  const side = Number(viewBox[1]);
  const scale = 6;
  const png = new PNG({ width: side * scale, height: side * scale });
  png.data.fill(255);
  for (const m of path.matchAll(/M(\d+) (\d+)h1v1h-1z/g)) {
    const x0 = Number(m[1]) * scale;
    const y0 = Number(m[2]) * scale;
    for (let y = y0; y < y0 + scale; y++) {
      for (let x = x0; x < x0 + scale; x++) {
        const i = (y * png.width + x) * 4;
        png.data[i] = png.data[i + 1] = png.data[i + 2] = 0;
      }
    }
  }
  return jsQR(new Uint8ClampedArray(png.data), png.width, png.height)?.data ?? null;
}

describe('partner console API', () => {
  let server: TestServer;
  let alice: ConsoleClient;
  let bob: ConsoleClient;

  async function balanceOf(client: ConsoleClient): Promise<number> {
    const res = await client.call('GET', '/v1/balance');
    expect(res.status).toBe(200);
    return res.json.available;
  }

  async function dashboard(client: ConsoleClient) {
    const res = await client.call('GET', '/console/api/dashboard');
    expect(res.status, res.text).toBe(200);
    return res.json;
  }

  async function readyOrder(client: ConsoleClient, count: number) {
    const created = await client.call('POST', '/v1/orders', { body: { lines: [{ package_id: 'US_1_7', count }] }, headers: { 'idempotency-key': `order-${Math.random()}` } });
    expect(created.status, created.text).toBe(201);
    for (let i = 0; i < 400; i++) {
      const got = await client.call('GET', `/v1/orders/${created.json.id}`);
      if (got.json.status === 'ready') {
        const esims = await client.call('GET', `/v1/esims?order_id=${created.json.id}`);
        return { order: got.json, esims: esims.json.data as any[] };
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error('order not ready');
  }

  async function depositRows(partnerId: string) {
    return server.ctx.store.db.selectFrom('deposit_requests').selectAll().where('partner_id', '=', partnerId).execute();
  }

  beforeAll(async () => {
    server = await startServer({ ADMIN_TOKEN });
    alice = await consoleSignUp(server, { email: 'alice@example.com', company: 'Alice Travel' });
    bob = await consoleSignUp(server, { email: 'bob@example.com', company: 'Bob Roaming' });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('needs a partner session', async () => {
    const anonymous = await fetch(`${server.baseUrl}/console/api/dashboard`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('content-type')).toContain('application/problem+json');
    const operator = await consoleUser(server, { email: 'ops@example.com', role: 'operator' });
    expect((await operator.call('GET', '/console/api/dashboard')).status).toBe(403);
    expect((await operator.call('POST', '/console/api/deposits', { body: { amount: 10_000 } })).status).toBe(403);
    expect((await operator.call('GET', '/console/api/branding')).status).toBe(403);
  });

  it('credits a sandbox deposit at once, once per request', async () => {
    const before = await balanceOf(alice);
    const first = await alice.call('POST', '/console/api/deposits', { body: { amount: 250_000, reference: 'top up' } });
    expect(first.status, first.text).toBe(201);
    expect(first.json).toMatchObject({ object: 'deposit_request', amount: 250_000, status: 'approved', reference: 'top up', currency: 'USD' });
    expect(first.json.transfer_id).toBeTruthy();
    expect(await balanceOf(alice)).toBe(before + 250_000);

    const second = await alice.call('POST', '/console/api/deposits', { body: { amount: 125_000 } });
    expect(second.status).toBe(201);
    expect(second.json.id).not.toBe(first.json.id);
    expect(await balanceOf(alice)).toBe(before + 375_000);

    // The ledger shows both as deposits.
    const ledger = await alice.call('GET', '/v1/transactions?kind=deposit&limit=100');
    const amounts = ledger.json.data.map((t: any) => t.amount);
    expect(amounts).toEqual(expect.arrayContaining([250_000, 125_000]));

    // Newest first, paginated.
    const page1 = await alice.call('GET', '/console/api/deposits?limit=1');
    expect(page1.json).toMatchObject({ object: 'list', has_more: true });
    expect(page1.json.data.map((d: any) => d.id)).toEqual([second.json.id]);
    const page2 = await alice.call('GET', `/console/api/deposits?limit=1&cursor=${page1.json.next_cursor}`);
    expect(page2.json.data.map((d: any) => d.id)).toEqual([first.json.id]);
    expect(page2.json.has_more).toBe(false);
    expect((await alice.call('GET', '/console/api/deposits?cursor=garbage')).status).toBe(400);
  });

  it('makes one deposit of copies sent with one Idempotency-Key, also at once', async () => {
    const dora = await consoleSignUp(server, { email: 'dora@example.com', company: 'Dora Data' });
    const before = await balanceOf(dora);
    const headers = { 'idempotency-key': 'deposit-click-1' };
    const copies = await Promise.all(Array.from({ length: 5 }, () => dora.call('POST', '/console/api/deposits', { body: { amount: 90_000 }, headers })));
    expect(copies.map((c) => c.status).sort()).toEqual([200, 200, 200, 200, 201]);
    expect(new Set(copies.map((c) => c.json.id)).size).toBe(1);
    expect(await balanceOf(dora)).toBe(before + 90_000);
    const later = await dora.call('POST', '/console/api/deposits', { body: { amount: 90_000 }, headers });
    expect(later.status).toBe(200);
    expect(later.json.id).toBe(copies[0].json.id);
    const otherAmount = await dora.call('POST', '/console/api/deposits', { body: { amount: 1_000 }, headers });
    expect(otherAmount.status).toBe(409);
    expect(await balanceOf(dora)).toBe(before + 90_000);
  });

  it('refuses invalid amounts and missing CSRF tokens, changing nothing', async () => {
    const balance = await balanceOf(alice);
    const rows = (await depositRows(alice.session.partner.id)).length;
    for (const body of [{ amount: 0 }, { amount: -5 }, { amount: 1.5 }, { amount: '100' }, { amount: 1e15 }, {}, { amount: 10_000, extra: 1 }, { amount: 10_000, reference: 'x'.repeat(201) }]) {
      const res = await alice.call('POST', '/console/api/deposits', { body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect(res.json.code).toBe('invalid_request');
    }
    const noCsrf = await alice.call('POST', '/console/api/deposits', { body: { amount: 10_000 }, csrf: false });
    expect(noCsrf.status).toBe(403);
    const wrongCsrf = await alice.call('POST', '/console/api/deposits', { body: { amount: 10_000 }, csrf: bob.csrf });
    expect(wrongCsrf.status).toBe(403);
    const brandingNoCsrf = await alice.call('PUT', '/console/api/branding', { body: { display_name: 'Hacked', logo_data_url: null, accent_color: '#000000' }, csrf: false });
    expect(brandingNoCsrf.status).toBe(403);
    expect(await balanceOf(alice)).toBe(balance);
    expect((await depositRows(alice.session.partner.id)).length).toBe(rows);
    expect((await alice.call('GET', '/console/api/branding')).json.configured).toBe(false);
  });

  it('keeps a live deposit pending without touching the balance, and partners apart', async () => {
    const live = await server.createPartner({ name: 'Live Co', environment: 'live' });
    const carol = await consoleUser(server, { email: 'carol@example.com', role: 'partner', partnerId: live.partnerId });
    const before = await balanceOf(carol);
    const res = await carol.call('POST', '/console/api/deposits', { body: { amount: 5_000_000, reference: 'wire 42' } });
    expect(res.status, res.text).toBe(201);
    expect(res.json).toMatchObject({ status: 'pending', amount: 5_000_000, transfer_id: null, decided_at: null });
    expect(await balanceOf(carol)).toBe(before);
    const listed = await carol.call('GET', '/console/api/deposits?status=pending');
    expect(listed.json.data.map((d: any) => d.id)).toEqual([res.json.id]);

    // Nobody else sees it.
    const aliceIds = (await alice.call('GET', '/console/api/deposits?limit=100')).json.data.map((d: any) => d.id);
    expect(aliceIds).not.toContain(res.json.id);
    expect((await bob.call('GET', '/console/api/deposits')).json.data).toEqual([]);
    const carolIds = (await carol.call('GET', '/console/api/deposits?limit=100')).json.data.map((d: any) => d.id);
    expect(carolIds).toEqual([res.json.id]);
  });

  it('shows balance, spend, active eSIMs, orders and data used on the dashboard', async () => {
    const empty = await dashboard(bob);
    expect(empty).toMatchObject({ object: 'dashboard', spend: 0, active_esims: 0, currency: 'USD' });
    expect(empty.orders_per_day).toHaveLength(30);
    expect(empty.data_used_per_day).toHaveLength(30);
    expect(empty.orders_per_day.every((p: any) => p.value === 0)).toBe(true);
    expect(empty.balance).toBe(await balanceOf(bob));
    const today = new Date(empty.now).toISOString().slice(0, 10);
    expect(empty.orders_per_day[29].date).toBe(today);

    expect((await bob.call('POST', '/console/api/deposits', { body: { amount: 1000 * 10_000 } })).status).toBe(201);
    expect((await dashboard(bob)).balance).toBe(empty.balance + 1000 * 10_000);
    const { order, esims } = await readyOrder(bob, 2);
    expect(esims).toHaveLength(2);
    const [kept, cancelled] = esims;
    // Usage from the supplier feed (usage_records) and from the simulated device.
    const ingest = await fetch(`${server.baseUrl}/internal/usage`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ records: [{ iccid: kept.iccid, bytes: 3_000_000, recordId: 'r1' }, { iccid: kept.iccid, bytes: 2_000_000, recordId: 'r2' }] }),
    });
    expect((await ingest.json()).applied).toBe(2);
    for (const step of ['install', 'enable']) expect((await bob.call('POST', `/sandbox/esims/${kept.iccid}/${step}`, { body: {} })).status).toBe(200);
    const used = await bob.call('POST', `/sandbox/esims/${kept.iccid}/usage`, { body: { bytes: 1_000_000 } });
    expect(used.status, used.text).toBe(200);

    let figures = await dashboard(bob);
    expect(figures.spend).toBe(order.amount);
    expect(figures.active_esims).toBe(2);
    expect(figures.balance).toBe(await balanceOf(bob));
    expect(figures.orders_per_day[29]).toEqual({ date: today, value: 1 });
    expect(figures.orders_per_day.reduce((s: number, p: any) => s + p.value, 0)).toBe(1);
    expect(figures.data_used_per_day[29].value).toBeGreaterThanOrEqual(5_000_000);

    // A cancel refunds: spend falls by the eSIM's price and it no longer counts as active.
    const cancel = await bob.call('POST', `/v1/esims/${cancelled.id}/cancel`, { headers: { 'idempotency-key': 'cancel-1' }, body: {} });
    expect(cancel.status, cancel.text).toBe(200);
    figures = await dashboard(bob);
    expect(figures.spend).toBe(order.amount - order.lines[0].unit_price);
    expect(figures.active_esims).toBe(1);
    // Alice's figures are Alice's own.
    expect((await dashboard(alice)).active_esims).toBe(0);

    // A sandbox partner's dashboard runs on its own clock: 40 days on, the order has left the window.
    const moved = await bob.call('POST', '/sandbox/clock/advance', { body: { days: 40 } });
    expect(moved.status, moved.text).toBe(200);
    figures = await dashboard(bob);
    expect(figures.orders_per_day.reduce((s: number, p: any) => s + p.value, 0)).toBe(0);
    expect(figures.spend).toBe(0);
    expect(Date.parse(figures.now) - Date.now()).toBeGreaterThan(39 * DAY_MS);
  });

  describe('branding', () => {
    const svgLogo = (body: string) => `data:image/svg+xml;base64,${Buffer.from(body).toString('base64')}`;
    const goodSvg = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><defs><linearGradient id="g"><stop offset="0" stop-color="#f00"/></linearGradient></defs><rect width="10" height="10" fill="url(#g)"/><use href="#g"/></svg>';
    let pngLogo = '';

    beforeAll(async () => {
      pngLogo = `data:image/png;base64,${(await renderQrPng('logo')).png.toString('base64')}`;
    });

    it('refuses logos that are not small, plain PNG/JPEG/SVG images, changing nothing', async () => {
      const saved = await alice.call('PUT', '/console/api/branding', { body: { display_name: 'Alice Travel', logo_data_url: pngLogo, accent_color: '#AA3300' } });
      expect(saved.status, saved.text).toBe(200);
      expect(saved.json).toMatchObject({ configured: true, display_name: 'Alice Travel', logo_data_url: pngLogo, accent_color: '#aa3300' });

      const pngBytes = Buffer.from(pngLogo.split(',')[1], 'base64');
      const bad: Array<[string, Record<string, unknown>]> = [
        ['script', { logo_data_url: svgLogo('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>') }],
        ['event handler', { logo_data_url: svgLogo('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect/></svg>') }],
        ['external image', { logo_data_url: svgLogo('<svg xmlns="http://www.w3.org/2000/svg"><image href="https://evil.example/x.png"/></svg>') }],
        ['xlink', { logo_data_url: svgLogo('<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"><a xlink:href="javascript:alert(1)"><rect/></a></svg>') }],
        ['foreignObject', { logo_data_url: svgLogo('<svg xmlns="http://www.w3.org/2000/svg"><foreignObject><div/></foreignObject></svg>') }],
        ['entity', { logo_data_url: svgLogo('<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x "y">]><svg xmlns="http://www.w3.org/2000/svg"/>') }],
        ['css url', { logo_data_url: svgLogo('<svg xmlns="http://www.w3.org/2000/svg"><style>rect{fill:url(https://evil.example/a)}</style><rect/></svg>') }],
        ['mislabelled', { logo_data_url: `data:image/jpeg;base64,${pngBytes.toString('base64')}` }],
        ['html as svg', { logo_data_url: `data:image/svg+xml;base64,${Buffer.from('<html><body>hi</body></html>').toString('base64')}` }],
        ['gif', { logo_data_url: `data:image/gif;base64,${Buffer.from('GIF89a....').toString('base64')}` }],
        ['too big', { logo_data_url: `data:image/png;base64,${Buffer.concat([pngBytes, Buffer.alloc(101 * 1024)]).toString('base64')}` }],
        ['not a data url', { logo_data_url: 'https://evil.example/logo.png' }],
        ['accent', { accent_color: 'red' }],
        ['accent css', { accent_color: '#fff;}body{display:none' }],
        ['empty name', { display_name: '   ' }],
        ['long name', { display_name: 'x'.repeat(61) }],
        ['control chars', { display_name: 'Evil\u202eCorp' }],
      ];
      for (const [what, change] of bad) {
        const res = await alice.call('PUT', '/console/api/branding', { body: { display_name: 'Changed', logo_data_url: null, accent_color: '#000000', ...change } });
        expect(res.status, what).toBe(400);
        expect(res.headers.get('content-type')).toContain('application/problem+json');
      }
      const after = await alice.call('GET', '/console/api/branding');
      expect(after.json).toMatchObject({ display_name: 'Alice Travel', logo_data_url: pngLogo, accent_color: '#aa3300' });

      const svgSaved = await bob.call('PUT', '/console/api/branding', { body: { display_name: 'Bob Roaming', logo_data_url: svgLogo(goodSvg), accent_color: '#117733' } });
      expect(svgSaved.status, svgSaved.text).toBe(200);
      expect(svgSaved.json.logo_data_url).toBe(svgLogo(goodSvg));
    });

    it('is each partner’s own', async () => {
      const live = await server.createPartner({ name: 'Dave Mobile', environment: 'live' });
      const dave = await consoleUser(server, { email: 'dave@example.com', role: 'partner', partnerId: live.partnerId });
      expect((await dave.call('GET', '/console/api/branding')).json).toMatchObject({ configured: false, display_name: 'Dave Mobile', logo_data_url: null });
      expect((await alice.call('GET', '/console/api/branding')).json.display_name).toBe('Alice Travel');
      expect((await bob.call('GET', '/console/api/branding')).json.display_name).toBe('Bob Roaming');
    });

    it('shows on the install page and in the SVG QR of the partner’s eSIMs', async () => {
      const { esims } = await readyOrder(alice, 1);
      const esim = esims[0];
      const page = await fetch(esim.install_url);
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toContain('Alice Travel');
      expect(html).toContain(`<img src="${pngLogo}"`);
      expect(html).toContain(':root{--accent:#aa3300}');
      expect(html).not.toMatch(/<script/i);
      const csp = page.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("img-src 'self' data:");
      expect(csp).not.toContain('unsafe-inline');
      expect(csp).not.toContain('script-src');
      // Every <style> block is allowed by a hash in the CSP (no more, no less).
      const { createHash } = await import('node:crypto');
      const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => `'sha256-${createHash('sha256').update(m[1]).digest('base64')}'`);
      expect(styles).toHaveLength(2);
      for (const hash of styles) expect(csp).toContain(hash);
      const token = new URL(esim.qr_code_url).pathname.slice(4, -4);
      expect(html).toContain(`../qr/${token}.svg`);

      const svgUrl = `${server.baseUrl}/qr/${token}.svg`;
      const qr = await fetch(svgUrl);
      expect(qr.status).toBe(200);
      expect(qr.headers.get('content-type')).toContain('image/svg+xml');
      expect(qr.headers.get('content-security-policy')).toContain('sandbox');
      const svg = await qr.text();
      expect(svg).toContain('>Alice Travel</text>');
      expect(svg).toContain(`href="${pngLogo}"`);
      expect(svg).not.toMatch(/<script/i);
      // It still reads as the activation code with the logo's modules left out.
      expect(decodeSvgQr(svg)).toBe(esim.activation_code);
      const etag = qr.headers.get('etag')!;
      expect((await fetch(svgUrl, { headers: { 'if-none-match': etag } })).status).toBe(304);

      // The PNG is unchanged by branding.
      const png = Buffer.from(await (await fetch(esim.qr_code_url)).arrayBuffer());
      expect(png.equals((await renderQrPng(esim.activation_code)).png)).toBe(true);

      // A branding change shows at once (new ETag), and removing it restores the neutral page.
      const renamed = await alice.call('PUT', '/console/api/branding', { body: { display_name: 'Alice & Co <Travel>', logo_data_url: null, accent_color: '#aa3300' } });
      expect(renamed.status).toBe(200);
      const qr2 = await fetch(svgUrl, { headers: { 'if-none-match': etag } });
      expect(qr2.status).toBe(200);
      const svg2 = await qr2.text();
      expect(svg2).toContain('>Alice &amp; Co &lt;Travel&gt;</text>');
      expect(svg2).not.toContain('<image');
      expect(decodeSvgQr(svg2)).toBe(esim.activation_code);
      const page2 = await fetch(esim.install_url);
      expect(await page2.text()).toContain('Alice &amp; Co &lt;Travel&gt;');
      expect(page2.headers.get('content-security-policy')).toContain("img-src 'self';");

      const preview = await alice.call('GET', '/console/api/branding/qr-preview.svg');
      expect(preview.status).toBe(200);
      expect(preview.text).toContain('Alice &amp; Co &lt;Travel&gt;');

      expect((await alice.call('DELETE', '/console/api/branding')).status).toBe(204);
      const plain = await (await fetch(esim.install_url)).text();
      expect(plain).not.toContain('Alice &amp; Co');
      expect(plain).toContain(`<img src="../qr/${token}.png"`);
    });
  });

  it('shows a webhook delivery with its payload and attempts, to its partner only', async () => {
    const http = await import('node:http');
    const receiver = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200).end('ok'));
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(receiver.address() as any).port}/hook`;
      const created = await bob.call('POST', '/v1/webhook-endpoints', { body: { url }, headers: { 'idempotency-key': 'we-1' } });
      expect(created.status, created.text).toBe(201);
      await readyOrder(bob, 1);
      let delivery: any;
      for (let i = 0; i < 200 && !delivery; i++) {
        const list = await bob.call('GET', '/v1/webhook-deliveries?status=delivered');
        delivery = list.json.data[0];
        if (!delivery) await new Promise((r) => setTimeout(r, 25));
      }
      expect(delivery).toBeTruthy();
      const detail = await bob.call('GET', `/console/api/webhook-deliveries/${delivery.id}`);
      expect(detail.status, detail.text).toBe(200);
      expect(detail.json).toMatchObject({ id: delivery.id, event_type: delivery.event_type, status: 'delivered' });
      expect(typeof detail.json.payload).toBe('object');
      expect(detail.json.attempt_log[0]).toMatchObject({ attempt_no: 1, status_code: 200 });
      expect((await alice.call('GET', `/console/api/webhook-deliveries/${delivery.id}`)).status).toBe(404);
    } finally {
      await new Promise((r) => receiver.close(r));
    }
  });
});

describe('partner console pages in a browser', () => {
  let server: TestServer;
  let browser: Browser;
  let receiver: import('node:http').Server;
  let receiverUrl = '';

  beforeAll(async () => {
    server = await startServer();
    browser = await launchBrowser();
    const http = await import('node:http');
    receiver = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200).end('ok'));
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as any).port}/hook`;
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await new Promise((r) => receiver?.close(r));
  });

  it('deposits, manages keys and webhooks, and brands the install page', async () => {
    const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.baseUrl });
    const page = await context.newPage();
    const errors = watchPageErrors(page);
    await page.goto(`${server.baseUrl}/console/signup`);
    await page.getByLabel('Company').fill('Pages Travel');
    await page.getByLabel('Email').fill('pages@example.com');
    await page.getByLabel('Password').fill('correct horse battery');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
    await page.getByText('Active eSIMs').waitFor();
    await screenshot(page, 'partner-dashboard');

    // Billing: a simulated deposit shows in the balance and the ledger.
    await page.goto(`${server.baseUrl}/console/billing`);
    await page.getByLabel('Amount (USD)').fill('250.50');
    await page.getByLabel('Reference (optional)').fill('first top-up');
    await page.getByRole('button', { name: 'Make external deposit' }).click();
    await page.getByText('$250.50 was credited to your balance.').waitFor();
    await page.locator('.stat-value', { hasText: '$250.50' }).waitFor();
    await page.locator('td', { hasText: '+$250.50' }).waitFor();
    const csv = page.getByRole('link', { name: 'Download CSV' });
    expect(await csv.getAttribute('href')).toBe('/v1/transactions/export');
    await screenshot(page, 'partner-billing');

    // API keys: the secret is shown once; revoking asks first.
    await page.goto(`${server.baseUrl}/console/api-keys`);
    await page.getByLabel('Label (optional)').fill('backend');
    await page.getByRole('button', { name: 'Create API key' }).click();
    const dialog = page.getByRole('dialog', { name: 'Your new API key' });
    await dialog.getByText('you will not see it again').waitFor();
    const accessCode = (await dialog.getByLabel('AccessCode').textContent())!.trim();
    expect(accessCode).toMatch(/^[0-9a-f]{32}$/);
    await screenshot(page, 'partner-api-key-secret');
    await dialog.getByRole('button', { name: 'I have saved it' }).click();
    const row = page.locator('tr', { hasText: 'backend' });
    await row.getByRole('button', { name: /Revoke key/ }).click();
    await page.getByRole('dialog', { name: 'Revoke this API key?' }).getByRole('button', { name: 'Revoke key' }).click();
    await row.getByText('revoked', { exact: true }).waitFor();
    const v1 = await fetch(`${server.baseUrl}/v1/balance`, { headers: { authorization: `Bearer ${accessCode}` } });
    expect(v1.status).toBe(401);

    // Webhooks: add the endpoint, reveal its secret, send a test; an order shows in the delivery log.
    await page.goto(`${server.baseUrl}/console/webhooks`);
    await page.getByLabel('Endpoint URL').fill(receiverUrl);
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    await page.getByLabel('Signing secret', { exact: true }).waitFor();
    expect(await page.getByLabel('Signing secret', { exact: true }).textContent()).toMatch(/^whsec_/);
    await page.getByRole('button', { name: 'Send test' }).click();
    await page.getByText(/Test delivered: HTTP 200/).waitFor();
    const cookies = await context.cookies();
    const cookie = cookies.map((c) => `${c.name}=${c.value}`).join('; ');
    const session = await (await fetch(`${server.baseUrl}/console/api/session`, { headers: { cookie } })).json();
    const order = await fetch(`${server.baseUrl}/v1/orders`, {
      method: 'POST',
      headers: { cookie, 'x-csrf-token': session.csrf_token, 'content-type': 'application/json', 'idempotency-key': 'browser-order' },
      body: JSON.stringify({ lines: [{ package_id: 'US_1_7', count: 1 }] }),
    });
    expect(order.status).toBe(201);
    const logRow = page.locator('tr', { hasText: 'order.ready' }).filter({ hasText: 'delivered' }).first();
    for (let i = 0; i < 50 && !(await logRow.isVisible()); i++) {
      await page.getByRole('button', { name: 'Refresh' }).click();
      await page.waitForTimeout(100);
    }
    await logRow.waitFor();
    await logRow.getByRole('button', { name: /Details of/ }).click();
    const detail = page.getByRole('dialog', { name: 'Webhook delivery' });
    await detail.getByText('HTTP 200').first().waitFor();
    await screenshot(page, 'partner-webhook-delivery');
    await detail.getByRole('button', { name: 'Close' }).click();
    await logRow.getByRole('button', { name: /Re-send/ }).click();
    await page.getByText('order.ready is queued to be sent again.').waitFor();
    await screenshot(page, 'partner-webhooks');

    // Branding: a logo file, a name and a colour; the install page shows them.
    await page.goto(`${server.baseUrl}/console/branding`);
    await page.getByLabel('Display name').fill('Pages & Co');
    const logo = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><circle cx="5" cy="5" r="4" fill="#c0392b"/></svg>';
    await page.getByLabel('Logo', { exact: true }).setInputFiles({ name: 'logo.svg', mimeType: 'image/svg+xml', buffer: Buffer.from(logo) });
    await page.getByAltText('Current logo').waitFor();
    await page.getByLabel('Accent colour').fill('#c0392b');
    await page.getByRole('button', { name: 'Save branding' }).click();
    await page.getByText('Saved: your install pages').waitFor();
    const preview = page.getByAltText(/Preview of your branded QR code/);
    await preview.waitFor();
    expect(await preview.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);
    await screenshot(page, 'partner-branding');
    const esims = await (await fetch(`${server.baseUrl}/v1/esims?limit=1`, { headers: { cookie } })).json();
    const install = await context.newPage();
    const failed: string[] = [];
    install.on('console', (m) => {
      if (m.type() === 'error') failed.push(m.location().url ? new URL(m.location().url).pathname : m.text());
    });
    install.on('pageerror', (e) => failed.push(e.message));
    await install.goto(esims.data[0].install_url);
    await install.getByText('Pages & Co').first().waitFor();
    const accent = await install.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--accent').trim());
    expect(accent).toBe('#c0392b');
    const images = await install.evaluate(() => [...document.images].map((img) => ({ src: img.getAttribute('src')!, ok: img.complete && img.naturalWidth > 0 })));
    expect(images).toEqual([
      { src: `data:image/svg+xml;base64,${Buffer.from(logo).toString('base64')}`, ok: true },
      { src: expect.stringMatching(/^\.\.\/qr\/\w+\.svg$/), ok: true },
    ]);
    await screenshot(install, 'install-page-branded');
    // The browser's own favicon request is the only miss (the page links no icon).
    expect(failed.filter((p) => p !== '/favicon.ico')).toEqual([]);

    // The console's install cards show the same branded QR (the plain PNG stays one click away).
    const orderId = (await order.json()).id;
    for (const [path, name] of [[`/console/buy?order=${orderId}`, 'buy'], [`/console/esims/${esims.data[0].id}`, 'esim']] as const) {
      await page.goto(`${server.baseUrl}${path}`);
      const qr = page.getByRole('img', { name: `QR code to install eSIM ${esims.data[0].iccid}` });
      await qr.waitFor();
      await expect.poll(() => qr.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);
      expect(await qr.getAttribute('src')).toBe(new URL(esims.data[0].qr_code_url).pathname.replace(/\.png$/, '.svg'));
      expect(await page.locator('.qr-branded figcaption').textContent()).toBe('With your branding · plain PNG');
      expect(await page.getByRole('link', { name: `Plain PNG QR code of eSIM ${esims.data[0].iccid}` }).getAttribute('href')).toBe(new URL(esims.data[0].qr_code_url).pathname);
      await screenshot(page, `partner-${name}-branded-qr`);
    }

    // A phone-sized screen: no page scrolls sideways.
    await page.setViewportSize({ width: 390, height: 844 });
    for (const path of ['', 'billing', 'api-keys', 'webhooks', 'branding']) {
      await page.goto(`${server.baseUrl}/console/${path}`);
      await page.getByRole('heading', { level: 1 }).waitFor();
      await page.waitForLoadState('networkidle');
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      expect(overflow, path).toBeLessThanOrEqual(1);
      await screenshot(page, `partner-phone-${path || 'dashboard'}`);
    }
    expect(errors).toEqual([]);
    await context.close();
  }, 90_000);
});
