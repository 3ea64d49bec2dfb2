import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startServer, type TestServer } from './helpers/server.ts';
import { launchBrowser, screenshot, watchPageErrors } from './helpers/browser.ts';
import { consoleSignUp } from './helpers/console.ts';
import { walletBalance } from '../src/domain/ledger/ledger.ts';

const DAY_MS = 86_400_000;
/** A plan that takes SMS and top-ups, so one eSIM goes through every action. */
const SMS_PLAN = 'AX_1_7';
/** Money as the console shows it (formatMoney): dollars with 2 to 4 decimals. */
const usd = (amountMinor: number) => new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: 4 }).format(amountMinor / 10_000);

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
  /** The value of a dashboard stat card. */
  const statValue = (page: Page, label: string) => page.locator('.stat', { has: page.locator('.stat-label', { hasText: label }) }).locator('.stat-value').textContent();
  /** The eSIM page's status badge, next to its heading. */
  const headerBadge = (page: Page, status: string) => page.locator('.page-header .badge', { hasText: new RegExp(`^${status}$`) });
  const webhookTable = (page: Page) => page.getByRole('table', { name: 'Webhook deliveries for this eSIM, newest first' });
  /** Rows of the eSIM page's webhook history (0 while it shows none). */
  const webhookRows = (page: Page) => webhookTable(page).locator('tbody tr').count();
  const pendingWebhooks = (page: Page) => webhookTable(page).locator('tbody tr', { hasText: 'pending' }).count();

  it('takes a sandbox partner from sign-up through buying, using, topping up and a refund', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const errors = watchPageErrors(page);
    const db = server.ctx.store.db;

    // Sign up.
    await go(page, '/');
    await page.getByRole('link', { name: 'Create a sandbox account' }).click();
    await screenshot(page, 'e2e-01-signup');
    await page.getByLabel('Company').fill('Wanderlust Data');
    await page.getByLabel('Email').fill('ops@wanderlust.example');
    await page.getByLabel('Password').fill('a long sandbox password');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
    const partner = await db.selectFrom('partners').selectAll().where('name', '=', 'Wanderlust Data').executeTakeFirstOrThrow();
    expect(partner.environment).toBe('sandbox');
    expect(await statValue(page, 'Active eSIMs')).toBe('0');
    expect(await statValue(page, 'Spend, last 30 days')).toBe('$0.00');

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

    // Find a plan (one that takes SMS and top-ups) and buy two eSIMs of it.
    const plan = server.ctx.catalog.get(SMS_PLAN)!;
    expect(plan.sms_status).toBeGreaterThan(0);
    await nav(page, 'Products').click();
    await page.getByLabel('Search plans').fill(SMS_PLAN);
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
    const order = await db.selectFrom('orders').select('amount').where('partner_id', '=', partner.id).where('kind', '=', 'order').executeTakeFirstOrThrow();
    const unitPrice = Number(order.amount) / 2;

    // Install the first: the timeline shows the profile enabled, the webhook history grows.
    await page.getByRole('link', { name: `ICCID ${iccids[0]}` }).click();
    const timelineList = page.getByRole('list', { name: 'Lifecycle events, newest first' });
    await timelineList.waitFor();
    const beforeInstall = await webhookRows(page);
    expect(await timelineList.getByText('Profile enabled').count()).toBe(0);
    await page.getByRole('button', { name: 'Install' }).click();
    await timelineList.getByText('Profile enabled', { exact: true }).waitFor({ timeout: 15_000 });
    await expect.poll(() => webhookRows(page), { timeout: 15_000 }).toBeGreaterThan(beforeInstall);
    expect(await meterValue(page)).toBe(0);

    // Use data: the usage bar moves; use it all up, and the eSIM is USED_UP.
    await page.getByLabel('Data to use (MB)').fill('600');
    await page.getByRole('button', { name: 'Use data' }).click();
    await expect.poll(() => meterValue(page), { timeout: 15_000 }).toBeGreaterThan(30);
    expect(await meterValue(page)).toBeLessThan(100);
    await screenshot(page, 'e2e-03-esim-after-use');
    await page.getByLabel('Data to use (MB)').fill('500');
    await page.getByRole('button', { name: 'Use data' }).click();
    await expect.poll(() => meterValue(page), { timeout: 15_000 }).toBe(100);
    await headerBadge(page, 'USED_UP').waitFor({ timeout: 15_000 });

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

    // Top it up: the bar drops, the eSIM is IN_USE again and its webhook history grows.
    await page.goto(`${server.baseUrl}/console/esims`);
    await page.getByRole('link', { name: new RegExp(iccids[0]) }).first().click();
    await timelineList.waitFor();
    await expect.poll(() => pendingWebhooks(page), { timeout: 30_000 }).toBe(0);
    const beforeTopup = await webhookRows(page);
    await page.getByRole('button', { name: 'Top up' }).click();
    const topupDialog = page.getByRole('dialog', { name: 'Top up' });
    await topupDialog.getByLabel('Top-up package').selectOption({ index: 1 }).catch(async () => topupDialog.getByLabel('Top-up package').selectOption({ index: 0 }));
    await topupDialog.getByRole('button', { name: 'Confirm' }).click();
    await expect.poll(() => meterValue(page), { timeout: 15_000 }).toBeLessThan(100);
    await headerBadge(page, 'IN_USE').waitFor({ timeout: 15_000 });
    await expect.poll(() => webhookRows(page), { timeout: 15_000 }).toBeGreaterThan(beforeTopup);
    const esimRow = await db.selectFrom('esims').select('id').where('iccid', '=', iccids[0]).executeTakeFirstOrThrow();
    const bundles = await db.selectFrom('bundles').select('kind').where('esim_id', '=', esimRow.id).execute();
    expect(bundles.map((b) => b.kind).sort()).toEqual(['BASE', 'TOPUP']);
    const topup = await db.selectFrom('orders').select('amount').where('partner_id', '=', partner.id).where('kind', '=', 'topup').executeTakeFirstOrThrow();

    // Suspend, then resume.
    await page.getByRole('button', { name: 'Suspend' }).click();
    await page.getByRole('dialog', { name: 'Suspend this eSIM?' }).getByRole('button', { name: 'Confirm' }).click();
    await headerBadge(page, 'SUSPENDED').waitFor();
    expect((await db.selectFrom('esims').select('esim_status').where('id', '=', esimRow.id).executeTakeFirstOrThrow()).esim_status).toBe('SUSPENDED');
    expect(await page.getByRole('button', { name: 'Send SMS' }).isDisabled()).toBe(true);
    await page.getByRole('button', { name: 'Resume' }).click();
    await page.getByRole('dialog', { name: 'Resume this eSIM?' }).getByRole('button', { name: 'Confirm' }).click();
    await headerBadge(page, 'IN_USE').waitFor();
    expect((await db.selectFrom('esims').select('esim_status').where('id', '=', esimRow.id).executeTakeFirstOrThrow()).esim_status).toBe('IN_USE');

    // Send an SMS and see it on the page.
    const smsList = page.getByRole('list', { name: `Text messages of ${iccids[0]}` });
    expect(await smsList.count()).toBe(0);
    await page.getByRole('button', { name: 'Send SMS' }).click();
    await page.getByRole('dialog', { name: 'Send SMS' }).getByLabel('Message').fill('Welcome to Åland: your data works now.');
    await page.getByRole('dialog', { name: 'Send SMS' }).getByRole('button', { name: 'Send', exact: true }).click();
    await page.getByText('SMS sent.').waitFor();
    await smsList.getByText('Welcome to Åland: your data works now.', { exact: true }).waitFor();
    expect(await smsList.locator('li').count()).toBe(1);

    // Move the sandbox clock a day on: the clock on the page moves with it.
    const clock = page.getByTestId('sandbox-clock');
    await expect.poll(() => clock.textContent()).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d UTC$/);
    const clockBefore = Date.parse((await clock.textContent())!.replace(' UTC', 'Z').replace(' ', 'T'));
    expect(await page.getByText('days ahead of real time').count()).toBe(0);
    await page.getByLabel('Days to advance').fill('1');
    await page.getByRole('button', { name: 'Advance clock' }).click();
    await page.getByText('(1.0 days ahead of real time)').waitFor();
    const clockAfter = Date.parse((await clock.textContent())!.replace(' UTC', 'Z').replace(' ', 'T'));
    expect(clockAfter - clockBefore).toBeGreaterThanOrEqual(DAY_MS);
    expect(clockAfter - clockBefore).toBeLessThan(DAY_MS + 60 * 60_000);
    await screenshot(page, 'e2e-05-esim-sms-clock');

    // Cancel the other (never installed): refunded in full, and the ledger shows it.
    await page.goto(`${server.baseUrl}/console/esims`);
    await screenshot(page, 'e2e-06-esims');
    await page.getByRole('link', { name: new RegExp(iccids[1]) }).first().click();
    await page.getByRole('button', { name: 'Cancel eSIM' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Confirm' }).click();
    await headerBadge(page, 'CANCEL').waitFor();
    await nav(page, 'Billing').click();
    const refundRow = page.locator('tr', { hasText: 'refund' }).first();
    await refundRow.waitFor();
    expect(await refundRow.textContent()).toContain(`+${usd(unitPrice)}`);
    await screenshot(page, 'e2e-07-billing-refund');

    // The dashboard counts what happened: one active eSIM; the order and the top-up less the refund; the order's bar.
    await nav(page, 'Dashboard').click();
    await expect.poll(() => statValue(page, 'Active eSIMs')).toBe('1');
    expect(await statValue(page, 'Spend, last 30 days')).toBe(usd(Number(order.amount) + Number(topup.amount) - unitPrice));
    expect(await statValue(page, 'Orders, last 30 days')).toBe('1');
    const bars = await page
      .getByRole('img', { name: 'Orders per day over the last 30 days' })
      .locator('rect.chart-bar')
      .evaluateAll((rects) => rects.map((r) => ({ height: Number(r.getAttribute('height')), title: r.querySelector('title')?.textContent ?? '' })));
    expect(bars.length).toBe(30);
    const tall = bars.filter((b) => b.height > 0);
    expect(tall).toHaveLength(1);
    expect(tall[0].title).toMatch(/^\d{4}-\d\d-\d\d: 1 order$/);
    await screenshot(page, 'e2e-08-dashboard');

    // API keys: create one, roll it; the new secret is shown once, and works.
    await nav(page, 'API keys').click();
    await page.getByLabel('Label (optional)').fill('backend');
    await page.getByRole('button', { name: 'Create API key' }).click();
    const secretDialog = page.getByRole('dialog', { name: 'Your new API key' });
    const firstSecret = (await secretDialog.getByLabel('SecretKey').textContent())!.trim();
    await secretDialog.getByRole('button', { name: 'I have saved it' }).click();
    const keyRow = page.locator('tr', { hasText: 'backend' });
    await keyRow.getByRole('button', { name: /^Roll key / }).click();
    await page.getByRole('dialog', { name: 'Roll this API key?' }).getByRole('button', { name: 'Roll key' }).click();
    await secretDialog.getByText('The key you rolled keeps working until').waitFor();
    const rolledAccess = (await secretDialog.getByLabel('AccessCode').textContent())!.trim();
    const rolledSecret = (await secretDialog.getByLabel('SecretKey').textContent())!.trim();
    expect(rolledSecret).toMatch(/^[0-9a-f]{32}$/);
    expect(rolledSecret).not.toBe(firstSecret);
    await screenshot(page, 'e2e-09-api-key-rolled');
    await secretDialog.getByRole('button', { name: 'I have saved it' }).click();
    expect(await page.content()).not.toContain(rolledSecret);
    await page.reload();
    await page.locator('tr', { hasText: 'backend' }).first().waitFor();
    expect(await page.content()).not.toContain(rolledSecret);
    expect((await fetch(`${server.baseUrl}/v1/balance`, { headers: { authorization: `Bearer ${rolledAccess}` } })).status).toBe(200);

    // Revoke the installed eSIM: it stops for good and no longer counts as active.
    await page.goto(`${server.baseUrl}/console/esims`);
    await page.getByRole('link', { name: new RegExp(iccids[0]) }).first().click();
    await page.getByRole('button', { name: 'Revoke' }).click();
    await page.getByRole('dialog', { name: 'Revoke this eSIM?' }).getByRole('button', { name: 'Confirm' }).click();
    await headerBadge(page, 'REVOKE').waitFor();
    expect((await db.selectFrom('esims').select('esim_status').where('id', '=', esimRow.id).executeTakeFirstOrThrow()).esim_status).toBe('REVOKE');
    expect(await page.getByRole('button', { name: 'Top up' }).isDisabled()).toBe(true);
    await nav(page, 'Dashboard').click();
    await expect.poll(() => statValue(page, 'Active eSIMs')).toBe('0');

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

  /** A sandbox partner of its own with one ready eSIM, made through the API, for the keyboard and phone tests. */
  async function partnerWithEsim(email: string, password: string): Promise<{ orderId: string; esimId: string }> {
    const client = await consoleSignUp(server, { email, password, company: `Keys ${email}` });
    await server.ctx.partners.deposit(client.session.partner.id, 50 * 10_000, `deposit-${email}`, server.ctx.now());
    const created = await client.call('POST', '/v1/orders', { body: { lines: [{ package_id: SMS_PLAN, count: 1 }] }, headers: { 'idempotency-key': `order-${email}` } });
    expect(created.status, created.text).toBe(201);
    await expect.poll(async () => (await client.call('GET', `/v1/orders/${created.json.id}`)).json.status, { timeout: 30_000 }).toBe('ready');
    const esims = await client.call('GET', `/v1/esims?order_id=${created.json.id}`);
    expect(esims.json.data).toHaveLength(1);
    return { orderId: created.json.id, esimId: esims.json.data[0].id };
  }

  /** Presses Tab until the focused element matches, at most `max` times; answers whether it got there. */
  async function tabTo(page: Page, matches: (el: { tag: string; text: string; inNav: boolean }) => boolean, max = 40): Promise<boolean> {
    for (let i = 0; i < max; i++) {
      await page.keyboard.press('Tab');
      const focused = await page.evaluate(() => {
        const el = document.activeElement as HTMLElement | null;
        return { tag: el?.tagName ?? '', text: el?.textContent?.trim() ?? '', inNav: !!el?.closest('nav[aria-label="Main"]') };
      });
      if (matches(focused)) return true;
    }
    return false;
  }

  it('works from the keyboard: log in, follow a nav link, open and close the Top up dialog', async () => {
    const { esimId } = await partnerWithEsim('keys@wanderlust.example', 'a keyboard password');
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const errors = watchPageErrors(page);
    await go(page, '/login');
    // The email field has the focus; tab to the password, submit with Enter.
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('type'))).toBe('email');
    await page.keyboard.type('keys@wanderlust.example');
    await page.keyboard.press('Tab');
    await page.keyboard.type('a keyboard password');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();

    // Tab to the Products link of the main navigation and follow it with Enter.
    expect(await tabTo(page, (el) => el.tag === 'A' && el.inNav && el.text === 'Products')).toBe(true);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Products', level: 1 }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/console/products');

    // On the eSIM's page: Tab to Top up, open it with Enter, close it with Escape.
    await go(page, `/esims/${esimId}`);
    await page.getByRole('heading', { name: /^eSIM \d+/, level: 1 }).waitFor();
    const topupDialog = page.getByRole('dialog', { name: 'Top up' });
    expect(await topupDialog.isVisible()).toBe(false);
    expect(await tabTo(page, (el) => el.tag === 'BUTTON' && el.text === 'Top up')).toBe(true);
    await page.keyboard.press('Enter');
    await topupDialog.waitFor();
    await topupDialog.getByLabel('Top-up package').waitFor();
    // The focus moved into the dialog.
    expect(await page.evaluate(() => !!document.activeElement?.closest('dialog[open]'))).toBe(true);
    await screenshot(page, 'e2e-12-keyboard-topup-dialog');
    await page.keyboard.press('Escape');
    await topupDialog.waitFor({ state: 'hidden' });
    expect(await page.locator('dialog[open]').count()).toBe(0);
    // Nothing was bought.
    const bundles = await server.ctx.store.db.selectFrom('bundles').select('kind').where('esim_id', '=', esimId).execute();
    expect(bundles.map((b) => b.kind)).toEqual(['BASE']);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('works on a phone screen: a menu button, and no page wider than the screen', async () => {
    const { orderId, esimId } = await partnerWithEsim('phone@wanderlust.example', 'a phone password');
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const page = await context.newPage();
    const errors = watchPageErrors(page);
    await go(page, '/login');
    await page.getByLabel('Email').fill('phone@wanderlust.example');
    await page.getByLabel('Password').fill('a phone password');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
    // The navigation folds behind a menu button that says whether it is open.
    const menu = page.getByRole('button', { name: 'Menu' });
    expect(await menu.getAttribute('aria-expanded')).toBe('false');
    await menu.click();
    expect(await menu.getAttribute('aria-expanded')).toBe('true');
    await nav(page, 'eSIMs').click();
    await page.getByRole('heading', { name: 'eSIMs', level: 1 }).waitFor();

    // Nothing is wider than the screen, on the pages with the widest content too.
    for (const [path, heading, name] of [
      ['/esims', 'eSIMs', 'esims'],
      ['/', 'Dashboard', 'dashboard'],
      ['/products', 'Products', 'products'],
      [`/buy?order=${orderId}`, /^Order B\d+$/, 'buy-order'],
      [`/esims/${esimId}`, /^eSIM \d+/, 'esim'],
    ] as const) {
      await go(page, path);
      await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
      await page.waitForLoadState('networkidle');
      if (name === 'products') await page.locator('article.product').first().waitFor();
      if (name === 'buy-order' || name === 'esim') await page.getByRole('img', { name: /QR code to install eSIM/ }).waitFor();
      expect(await page.evaluate(() => document.documentElement.scrollWidth), path).toBeLessThanOrEqual(390);
      await screenshot(page, `e2e-10-phone-${name}`);
    }
    expect(errors).toEqual([]);
    await context.close();
  });
});
