import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startServer, type TestServer } from './helpers/server.ts';
import { launchBrowser, screenshot, watchPageErrors } from './helpers/browser.ts';
import { walletBalance } from '../src/domain/ledger/ledger.ts';

/**
 * The journeys the console exists for, driven in Debian's chromium against a real server and a real webhook
 * receiver: a sandbox partner from sign-up to refund, and a live deposit approved by an operator.
 */
describe('web console end to end', () => {
  let server: TestServer;
  let browser: Browser;
  let receiver: http.Server;
  let receiverUrl = '';
  const received: Array<{ type?: string; eventType?: string }> = [];

  beforeAll(async () => {
    server = await startServer();
    browser = await launchBrowser();
    receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        try {
          received.push(JSON.parse(body));
        } catch {
          /* not JSON */
        }
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/esim-events`;
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await new Promise((r) => receiver?.close(r));
  });

  /** A link of the main navigation (pages link to each other too). */
  const nav = (page: Page, name: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });
  const go = (page: Page, path: string) => page.goto(`${server.baseUrl}/console${path}`);
  const meterValue = async (page: Page) => Number(await page.getByRole('meter').first().getAttribute('aria-valuenow'));

  it('takes a sandbox partner from sign-up through buying, using, topping up and a refund', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const errors = watchPageErrors(page);

    // Sign up.
    await go(page, '/');
    await page.getByRole('link', { name: 'Create a sandbox account' }).click();
    await screenshot(page, 'e2e-01-signup');
    await page.getByLabel('Company').fill('Wanderlust Data');
    await page.getByLabel('Email').fill('ops@wanderlust.example');
    await page.getByLabel('Password').fill('a long sandbox password');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
    const partner = (await server.ctx.store.db.selectFrom('partners').selectAll().where('name', '=', 'Wanderlust Data').executeTakeFirstOrThrow());
    expect(partner.environment).toBe('sandbox');

    // Deposit $100.00 (simulated in the sandbox).
    await nav(page, 'Billing').click();
    await page.getByLabel('Amount (USD)').fill('100');
    await page.getByRole('button', { name: 'Make external deposit' }).click();
    await page.getByText('$100.00 was credited to your balance.').waitFor();
    await page.locator('.stat-value', { hasText: '$100.00' }).waitFor();

    // Webhooks to a real receiver.
    await nav(page, 'Webhooks').click();
    await page.getByLabel('Endpoint URL').fill(receiverUrl);
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    await page.getByLabel('Signing secret', { exact: true }).waitFor();

    // Find a plan and buy two eSIMs of it.
    await nav(page, 'Products').click();
    await page.getByLabel('Search plans').fill('US_1_7');
    const plan = server.ctx.catalog.get('US_1_7')!;
    await page.getByRole('link', { name: `Buy ${plan.name}` }).first().click();
    await page.getByLabel('Number of eSIMs').fill('2');
    await page.getByRole('button', { name: 'Place order' }).click();
    const qrImages = page.getByRole('img', { name: /QR code to install eSIM/ });
    await qrImages.nth(1).waitFor({ timeout: 30_000 });
    expect(await qrImages.count()).toBe(2);
    // The QR images really loaded (not broken links).
    for (let i = 0; i < 2; i++) await expect.poll(() => qrImages.nth(i).evaluate((img) => (img as HTMLImageElement).naturalWidth)).toBeGreaterThan(0);
    await page.getByRole('link', { name: 'Download ZIP' }).waitFor();
    await screenshot(page, 'e2e-02-buy-qr-codes');
    const iccids = (await page.getByRole('link', { name: /^ICCID / }).allTextContents()).map((t) => t.replace('ICCID ', '').trim());
    expect(iccids).toHaveLength(2);
    const paid = Number((await server.ctx.store.db.selectFrom('orders').select('amount').where('partner_id', '=', partner.id).executeTakeFirstOrThrow()).amount);
    const unitPrice = paid / 2;

    // Install the first and use data: the usage bar moves and webhooks arrive.
    await page.getByRole('link', { name: `ICCID ${iccids[0]}` }).click();
    await page.getByRole('button', { name: 'Install' }).click();
    await expect.poll(async () => (await page.getByText('SM-DP+ ENABLED').count()) > 0, { timeout: 15_000 }).toBe(true);
    expect(await meterValue(page)).toBe(0);
    await page.getByLabel('Data to use (MB)').fill('600');
    await page.getByRole('button', { name: 'Use data' }).click();
    await expect.poll(() => meterValue(page), { timeout: 15_000 }).toBeGreaterThan(30);
    await screenshot(page, 'e2e-03-esim-after-use');

    // The delivery log shows the eSIM's webhooks, delivered to the receiver.
    await nav(page, 'Webhooks').click();
    const smdpRow = page.locator('tr', { hasText: 'esim.smdp' }).filter({ hasText: 'delivered' }).first();
    const usageRow = page.locator('tr', { hasText: 'esim.data_usage' }).first();
    for (let i = 0; i < 60 && !((await smdpRow.isVisible()) && (await usageRow.isVisible())); i++) {
      await page.getByRole('button', { name: 'Refresh' }).click();
      await page.waitForTimeout(100);
    }
    await smdpRow.waitFor();
    await usageRow.waitFor();
    await screenshot(page, 'e2e-04-webhook-log');
    expect(received.length).toBeGreaterThan(2);

    // Top it up.
    await page.goto(`${server.baseUrl}/console/esims`);
    await page.getByRole('link', { name: new RegExp(iccids[0]) }).first().click();
    const before = await meterValue(page);
    await page.getByRole('button', { name: 'Top up' }).click();
    const topupDialog = page.getByRole('dialog');
    await topupDialog.getByLabel('Top-up package').selectOption({ index: 1 }).catch(async () => topupDialog.getByLabel('Top-up package').selectOption({ index: 0 }));
    await topupDialog.getByRole('button', { name: 'Confirm' }).click();
    await expect.poll(() => meterValue(page), { timeout: 15_000 }).toBeLessThan(before);
    const esimRow = await server.ctx.store.db.selectFrom('esims').select('id').where('iccid', '=', iccids[0]).executeTakeFirstOrThrow();
    const bundles = await server.ctx.store.db.selectFrom('bundles').select('kind').where('esim_id', '=', esimRow.id).execute();
    expect(bundles.map((b) => b.kind).sort()).toEqual(['BASE', 'TOPUP']);

    // Cancel the other (never installed): refunded in full, and the ledger shows it.
    await page.goto(`${server.baseUrl}/console/esims`);
    await screenshot(page, 'e2e-05-esims');
    await page.getByRole('link', { name: new RegExp(iccids[1]) }).first().click();
    await page.getByRole('button', { name: 'Cancel eSIM' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Confirm' }).click();
    await page.locator('.badge', { hasText: 'CANCEL' }).first().waitFor();
    await nav(page, 'Billing').click();
    const refundRow = page.locator('tr', { hasText: 'refund' }).first();
    await refundRow.waitFor();
    expect(await refundRow.textContent()).toContain(`+$${(unitPrice / 10_000).toFixed(2)}`);
    await screenshot(page, 'e2e-06-billing-refund');

    // The remaining main pages render.
    for (const [path, heading, name] of [
      ['/', 'Dashboard', 'partner-dashboard'],
      ['/products', 'Products', 'partner-products'],
      ['/buy', 'Buy', 'partner-buy'],
      ['/esims', 'eSIMs', 'partner-esims'],
      ['/billing', 'Billing', 'partner-billing'],
      ['/api-keys', 'API keys', 'partner-api-keys'],
      ['/webhooks', 'Webhooks', 'partner-webhooks'],
      ['/branding', 'Branding', 'partner-branding'],
    ] as const) {
      await go(page, path);
      await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
      await page.waitForLoadState('networkidle');
      await screenshot(page, `main-${name}`);
    }
    // The dashboard counts what happened: one active eSIM, two orders' worth of spend less the refund.
    await go(page, '/');
    await page.getByText('Active eSIMs').waitFor();
    expect(errors).toEqual([]);
    await context.close();
  });

  it('lets an operator approve a live partner\'s deposit request', async () => {
    const now = server.ctx.now();
    const { partner } = await server.ctx.partners.create({ name: 'Skyline Airways', environment: 'live' }, now);
    await server.ctx.consoleAccounts.createUser({ email: 'finance@skyline.example', password: 'skyline finance pw', role: 'partner', partnerId: partner.id }, now);
    await server.ctx.consoleAccounts.createUser({ email: 'operator@hub.example', password: 'operator password', role: 'operator' }, now);

    const partnerPage = await (await browser.newContext()).newPage();
    const partnerErrors = watchPageErrors(partnerPage);
    await go(partnerPage, '/login');
    await partnerPage.getByLabel('Email').fill('finance@skyline.example');
    await partnerPage.getByLabel('Password').fill('skyline finance pw');
    await partnerPage.getByRole('button', { name: 'Log in' }).click();
    await partnerPage.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
    await nav(partnerPage, 'Billing').click();
    await partnerPage.getByLabel('Amount (USD)').fill('500');
    await partnerPage.getByLabel('Reference (optional)').fill('WIRE-7781');
    await partnerPage.getByRole('button', { name: 'Request deposit' }).click();
    await partnerPage.locator('tr', { hasText: 'WIRE-7781' }).getByText('pending').waitFor();
    expect((await walletBalance(server.ctx.store.db, partner.id)).balanceMinor).toBe(0);
    await screenshot(partnerPage, 'e2e-07-live-deposit-pending');

    const operatorPage = await (await browser.newContext()).newPage();
    const operatorErrors = watchPageErrors(operatorPage);
    await go(operatorPage, '/login');
    await operatorPage.getByLabel('Email').fill('operator@hub.example');
    await operatorPage.getByLabel('Password').fill('operator password');
    await operatorPage.getByRole('button', { name: 'Log in' }).click();
    await nav(operatorPage, 'Deposits').click();
    await operatorPage.getByRole('button', { name: 'Approve $500.00 from Skyline Airways' }).click();
    await operatorPage.getByRole('button', { name: 'Approve $500.00 from Skyline Airways' }).waitFor({ state: 'detached' });
    await screenshot(operatorPage, 'e2e-08-operator-approved');

    await partnerPage.reload();
    await partnerPage.locator('tr', { hasText: 'WIRE-7781' }).getByText('approved').waitFor();
    await partnerPage.locator('.stat-value', { hasText: '$500.00' }).waitFor();
    expect((await walletBalance(server.ctx.store.db, partner.id)).balanceMinor).toBe(500 * 10_000);
    await screenshot(partnerPage, 'e2e-09-live-deposit-credited');

    for (const [path, heading, name] of [
      ['/operator', 'Overview', 'operator-overview'],
      ['/operator/partners', 'Partners', 'operator-partners'],
      ['/operator/deposits', 'Deposits', 'operator-deposits'],
      ['/operator/catalog', 'Catalog', 'operator-catalog'],
      ['/operator/pools', 'Profile pools', 'operator-pools'],
    ] as const) {
      await go(operatorPage, path);
      await operatorPage.getByRole('heading', { name: heading, level: 1 }).waitFor();
      await operatorPage.waitForLoadState('networkidle');
      await screenshot(operatorPage, `main-${name}`);
    }
    // An operator session never reaches partner pages' data, and a partner never the operator's.
    const partnerCookie = (await partnerPage.context().cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
    expect((await fetch(`${server.baseUrl}/console/api/operator/overview`, { headers: { cookie: partnerCookie } })).status).toBe(403);
    expect(partnerErrors).toEqual([]);
    expect(operatorErrors).toEqual([]);
  });

  it('works on a phone screen and from the keyboard', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const page = await context.newPage();
    await go(page, '/login');
    // Keyboard only: the email field has the focus; tab to the password, submit with Enter.
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('type'))).toBe('email');
    await page.keyboard.type('ops@wanderlust.example');
    await page.keyboard.press('Tab');
    await page.keyboard.type('a long sandbox password');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
    // The navigation folds behind a menu button that says whether it is open.
    const menu = page.getByRole('button', { name: 'Menu' });
    expect(await menu.getAttribute('aria-expanded')).toBe('false');
    await menu.click();
    expect(await menu.getAttribute('aria-expanded')).toBe('true');
    await nav(page, 'eSIMs').click();
    await page.getByRole('heading', { name: 'eSIMs', level: 1 }).waitFor();
    await page.waitForLoadState('networkidle');
    // Nothing is wider than the screen.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await screenshot(page, 'e2e-10-phone-esims');
    await context.close();
  });
});
