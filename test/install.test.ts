import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { androidInstallUrl, escapeHtml, iosInstallUrl, renderInstallPage, type InstallPageData } from '../src/http/install/page.ts';
import { Lru, QrCache, etagMatches, renderQrPng } from '../src/http/install/qr.ts';
import { startServer, type TestPartner, type TestServer } from './helpers/server.ts';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

interface OrderedEsim {
  esimTranNo: string;
  ac: string;
  qrCodeUrl: string;
  shortUrl: string;
  iccid: string;
}

async function orderOne(server: TestServer, partner: TestPartner, packageCode = 'US_1_7'): Promise<OrderedEsim> {
  const order = await server.ea('/esim/order', { transactionId: `tx-${randomUUID()}`, packageInfoList: [{ packageCode, count: 1 }] }, partner);
  expect(order.json.success, order.text).toBe(true);
  const orderNo = order.json.obj.orderNo;
  for (let attempt = 0; attempt < 100; attempt++) {
    const query = await server.ea('/esim/query', { orderNo, pager: { pageNum: 1, pageSize: 20 } }, partner);
    if (query.json.success && query.json.obj.esimList.length === 1) return query.json.obj.esimList[0];
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`order ${orderNo} was not allocated in time`);
}

async function get(url: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, { headers });
  const body = Buffer.from(await response.arrayBuffer());
  return { status: response.status, headers: response.headers, body, text: body.toString('utf8') };
}

describe('QR rendering and caching (unit)', () => {
  it('renders the same activation code to the same bytes', async () => {
    const ac = 'LPA:1$rsp.example.com$ABCDE-12345-FGHJK-67890';
    const a = await renderQrPng(ac);
    const b = await renderQrPng(ac);
    expect(a.png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    expect(a.png.equals(b.png)).toBe(true);
    expect(a.etag).toBe(b.etag);
    expect((await renderQrPng(`${ac}$$1`)).etag).not.toBe(a.etag);
  });

  it('evicts the least recently used entry', () => {
    const lru = new Lru<string, number>(2);
    lru.set('a', 1);
    lru.set('b', 2);
    expect(lru.get('a')).toBe(1);
    lru.set('c', 3);
    expect(lru.get('b')).toBeUndefined();
    expect(lru.get('a')).toBe(1);
    expect(lru.get('c')).toBe(3);
    expect(lru.size).toBe(2);
  });

  it('renders each code once, even under concurrent requests', async () => {
    let renders = 0;
    const cache = new QrCache(10, async (text) => {
      renders++;
      return renderQrPng(text);
    });
    const [x, y] = await Promise.all([cache.get('LPA:1$a.example$X'), cache.get('LPA:1$a.example$X')]);
    expect(x).toBe(y);
    await cache.get('LPA:1$a.example$X');
    expect(renders).toBe(1);
  });

  it('matches If-None-Match lists, weak tags and *', () => {
    expect(etagMatches('"abc"', '"abc"')).toBe(true);
    expect(etagMatches('"x", W/"abc"', '"abc"')).toBe(true);
    expect(etagMatches('*', '"abc"')).toBe(true);
    expect(etagMatches('"abd"', '"abc"')).toBe(false);
    expect(etagMatches(undefined, '"abc"')).toBe(false);
  });
});

describe('install page template (unit)', () => {
  const base: InstallPageData = {
    planName: 'United States 1GB 7Days',
    qrSrc: '../qr/TOKEN.png',
    ac: 'LPA:1$rsp.example.com$ABCDE-12345',
    smdpAddress: 'rsp.example.com',
    matchingId: 'ABCDE-12345',
    confirmationCode: null,
    iccid: '8985200000000000001',
    sandbox: false,
    alreadyDownloaded: false,
  };

  it('escapes every value, including a malicious plan name', () => {
    const evil = `<script>alert(1)</script>"><img src=x onerror=alert(2)>'`;
    const html = renderInstallPage({ ...base, planName: evil, matchingId: '<b>M</b>', confirmationCode: '"&<>' });
    expect(html).not.toContain('<script');
    expect(html).not.toContain('<img src=x');
    expect(html).not.toContain('<b>M</b>');
    expect(html).toContain(escapeHtml(evil));
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(2)&gt;&#39;');
    expect(html).toContain('&quot;&amp;&lt;&gt;');
  });

  it('shows the confirmation code only when there is one', () => {
    expect(renderInstallPage(base)).not.toContain('Confirmation code');
    const withCode = renderInstallPage({ ...base, ac: `${base.ac}$$1`, confirmationCode: '482913' });
    expect(withCode).toContain('Confirmation code');
    expect(withCode).toContain('482913');
    expect(withCode).toContain('asks for this code during installation');
  });

  it('builds the one-tap links with the encoded activation code', () => {
    expect(iosInstallUrl('LPA:1$a.b$C')).toBe('https://esimsetup.apple.com/esim_qrcode_provisioning?carddata=LPA%3A1%24a.b%24C');
    expect(androidInstallUrl('LPA:1$a.b$C')).toBe('https://esimsetup.android.com/esim_qrcode_provisioning?carddata=LPA%3A1%24a.b%24C');
  });
});

describe('install links over HTTP', () => {
  let server: TestServer;
  let partner: TestPartner;
  let esim: OrderedEsim;

  beforeAll(async () => {
    server = await startServer();
    if (!server.app.hasRoute({ method: 'GET', url: '/i/:code' })) {
      throw new Error('installPlugin is not registered: add `await app.register(installPlugin, { ctx });` to buildServer in src/http/server.ts');
    }
    partner = await server.createPartner();
    esim = await orderOne(server, partner);
  });
  afterAll(async () => server.close());

  it('serves the qrCodeUrl as a cacheable PNG of exactly the activation code', async () => {
    expect(esim.ac).toMatch(/^LPA:1\$[^$]+\$[0-9A-Z-]+$/);
    expect(esim.qrCodeUrl).toMatch(new RegExp(`^${server.baseUrl}/qr/[1-9A-HJ-NP-Za-km-z]{24}\\.png$`));
    const res = await get(esim.qrCodeUrl);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(res.body.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    expect(res.headers.get('cache-control')).toBe('public, max-age=86400, immutable');
    expect(res.headers.get('x-robots-tag')).toContain('noindex');
    // Deterministic: the same text with the same options locally gives the same bytes.
    const local = await renderQrPng(esim.ac);
    expect(res.body.equals(local.png)).toBe(true);
    expect(res.headers.get('etag')).toBe(local.etag);
  });

  it('answers 304 to a matching If-None-Match', async () => {
    const first = await get(esim.qrCodeUrl);
    const etag = first.headers.get('etag');
    expect(etag).toBeTruthy();
    const again = await get(esim.qrCodeUrl, { 'if-none-match': etag! });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
    expect(again.headers.get('etag')).toBe(etag);
    const other = await get(esim.qrCodeUrl, { 'if-none-match': '"something-else"' });
    expect(other.status).toBe(200);
  });

  it('answers 404 with a small plain body for unknown or malformed tokens', async () => {
    const unknown = await get(`${server.baseUrl}/qr/${'1'.repeat(24)}.png`);
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toContain('text/plain');
    expect(unknown.text.length).toBeLessThan(100);
    const token = new URL(esim.qrCodeUrl).pathname.slice(4, -4);
    for (const path of [`/qr/${token.slice(1)}.png`, `/qr/0${token.slice(1)}.png`, `/qr/${token}`, `/qr/${token}.jpg`, `/qr/${'l'.repeat(24)}.png`]) {
      const res = await get(`${server.baseUrl}${path}`);
      expect(res.status, path).toBe(404);
      expect(res.text).not.toContain(' at ');
    }
  });

  it('serves the shortUrl as a self-contained install page', async () => {
    const res = await get(esim.shortUrl);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(res.headers.get('x-robots-tag')).toContain('noindex');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('script-src');

    const [, smdp, matchingId] = esim.ac.split('$');
    const page = res.text;
    expect(page).toContain('United States 1GB 7Days');
    expect(page).toContain(smdp);
    expect(page).toContain(matchingId);
    expect(page).toContain(`https://esimsetup.apple.com/esim_qrcode_provisioning?carddata=${encodeURIComponent(esim.ac)}`);
    expect(page).toContain(`https://esimsetup.android.com/esim_qrcode_provisioning?carddata=${encodeURIComponent(esim.ac)}`);
    expect(page).not.toMatch(/<script/i);
    expect(page).not.toMatch(/(src|href)="(https?:)?\/\/(?!esimsetup\.)/);
    expect(page).not.toContain('Confirmation code');

    // The image resolves, relative to the page, to the qrCodeUrl.
    const src = /<img src="([^"]+)"/.exec(page)?.[1];
    expect(src).toBeTruthy();
    expect(new URL(src!, esim.shortUrl).href).toBe(esim.qrCodeUrl);
  });

  it('answers an HTML 404 for an unknown or malformed short code', async () => {
    for (const code of ['1111111111', 'short', '0OIl000000', '%3Cscript%3E']) {
      const res = await get(`${server.baseUrl}/i/${code}`);
      expect(res.status, code).toBe(404);
      expect(res.headers.get('content-type')).toContain('text/html');
      expect(res.text).toContain('not found');
      expect(res.text).not.toMatch(/<script/i);
    }
  });

  it('shows the confirmation code when the profile needs one', async () => {
    const pkg = server.ctx.catalog.all().find((p) => p.sms_status === 2 && p.type === 'BASE' && p.status === 'active' && !p.is_daypass);
    expect(pkg).toBeTruthy();
    const withCode = await orderOne(server, partner, pkg!.package_code);
    expect(withCode.ac.endsWith('$$1')).toBe(true);
    const row = await server.ctx.store.db.selectFrom('esims').select(['confirmation_code']).where('esim_tran_no', '=', withCode.esimTranNo).executeTakeFirstOrThrow();
    expect(row.confirmation_code).toBeTruthy();
    const page = (await get(withCode.shortUrl)).text;
    expect(page).toContain('Confirmation code');
    expect(page).toContain(row.confirmation_code!);
    // The QR holds the activation code only, never the confirmation code.
    const png = (await get(withCode.qrCodeUrl)).body;
    expect(png.equals((await renderQrPng(withCode.ac)).png)).toBe(true);
  });

  it('answers 410 Gone on both links once the eSIM is cancelled', async () => {
    const victim = await orderOne(server, partner);
    expect((await get(victim.qrCodeUrl)).status).toBe(200); // warm the render cache first
    const cancel = await server.ea('/esim/cancel', { esimTranNo: victim.esimTranNo }, partner);
    expect(cancel.json.success, cancel.text).toBe(true);
    const qr = await get(victim.qrCodeUrl);
    expect(qr.status).toBe(410);
    expect(qr.headers.get('content-type')).toContain('text/plain');
    const page = await get(victim.shortUrl);
    expect(page.status).toBe(410);
    expect(page.text).toContain('no longer available');
    expect(page.text).not.toContain(victim.ac.split('$')[2]);
  });
});
