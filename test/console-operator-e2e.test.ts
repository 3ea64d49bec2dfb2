import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startServer, type TestServer } from './helpers/server.ts';
import { launchBrowser, screenshot, watchPageErrors } from './helpers/browser.ts';
import { walletBalance } from '../src/domain/ledger/ledger.ts';

/**
 * The operator's side in Debian's chromium against a real server: every click is checked on the page and in
 * the database.
 */
describe('operator console end to end', () => {
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    server = await startServer();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  const nav = (page: Page, name: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });
  const login = async (email: string, password: string) =>
    fetch(`${server.baseUrl}/console/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) });

  it('creates a partner, changes its tier, suspends it, disables a package and imports a catalogue', async () => {
    const db = server.ctx.store.db;
    await server.ctx.consoleAccounts.createUser({ email: 'ops@hub.example', password: 'operator password', role: 'operator' }, server.ctx.now());
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const errors = watchPageErrors(page);
    await page.goto(`${server.baseUrl}/console/login`);
    await page.getByLabel('Email').fill('ops@hub.example');
    await page.getByLabel('Password').fill('operator password');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();

    // Create a live partner with a first console login and an initial deposit.
    await nav(page, 'Partners').click();
    await page.getByRole('button', { name: 'New partner' }).click();
    const create = page.getByRole('dialog', { name: 'New partner' });
    await create.getByLabel('Company name').fill('Harbour Mobile');
    await create.getByLabel('Environment').selectOption('live');
    await create.getByLabel('Currency').selectOption('USD');
    await create.getByLabel('Price tier').selectOption('silver');
    await create.getByLabel('Initial deposit').fill('25');
    await create.getByLabel('Login email').fill('desk@harbour.example');
    await create.getByLabel('Initial password').fill('harbour desk password');
    await create.getByRole('button', { name: 'Create partner' }).click();
    await create.getByText('Created Harbour Mobile (live, USD) with a balance of $25.00. desk@harbour.example can log in to the console now.').waitFor();
    await screenshot(page, 'operator-e2e-01-partner-created');
    const partner = await db.selectFrom('partners').selectAll().where('name', '=', 'Harbour Mobile').executeTakeFirstOrThrow();
    expect(partner).toMatchObject({ environment: 'live', currency: 'USD', price_tier_id: 'silver', status: 'active' });
    expect((await walletBalance(db, partner.id)).balanceMinor).toBe(25 * 10_000);
    expect((await db.selectFrom('console_users').select(['role', 'partner_id']).where('email', '=', 'desk@harbour.example').executeTakeFirstOrThrow())).toEqual({ role: 'partner', partner_id: partner.id });
    const deskLogin = await login('desk@harbour.example', 'harbour desk password');
    expect(deskLogin.status).toBe(200);
    const deskCookie = /esimhub_session=[^;]*/.exec(deskLogin.headers.get('set-cookie') ?? '')![0];
    // Its first API key, shown once, works.
    const accessCode = (await create.locator('.secret').first().textContent())!.trim();
    expect(accessCode).toMatch(/^[0-9a-f]{32}$/);
    const balanceWith = async (headers: Record<string, string>) => (await fetch(`${server.baseUrl}/v1/balance`, { headers })).status;
    expect(await balanceWith({ authorization: `Bearer ${accessCode}` })).toBe(200);
    expect(await balanceWith({ cookie: deskCookie })).toBe(200);
    await create.getByRole('button', { name: 'Done' }).click();
    const row = page.locator('tr', { hasText: partner.id });
    await row.getByText('silver', { exact: true }).waitFor();
    expect(await row.locator('td.num').textContent()).toBe('$25.00');

    // Change its tier.
    await row.getByRole('button', { name: 'Manage Harbour Mobile' }).click();
    const manage = page.getByRole('dialog', { name: 'Partner' });
    await manage.getByLabel('Assigned tier').selectOption('gold');
    await manage.getByRole('button', { name: 'Save tier' }).click();
    await manage.getByText('Tier changed to gold.').waitFor();
    expect((await db.selectFrom('partners').select('price_tier_id').where('id', '=', partner.id).executeTakeFirstOrThrow()).price_tier_id).toBe('gold');

    // Suspend it: the page says so, the database has it, and its API key and console session are refused.
    await manage.getByRole('button', { name: 'Suspend' }).click();
    await manage.getByText('Suspended: API keys and console logins are refused.').waitFor();
    await manage.locator('.badge', { hasText: /^suspended$/ }).waitFor();
    await manage.getByRole('button', { name: 'Reactivate' }).waitFor();
    expect((await db.selectFrom('partners').select('status').where('id', '=', partner.id).executeTakeFirstOrThrow()).status).toBe('suspended');
    expect(await balanceWith({ authorization: `Bearer ${accessCode}` })).toBe(403);
    expect(await balanceWith({ cookie: deskCookie })).toBe(403);
    await screenshot(page, 'operator-e2e-02-partner-suspended');
    await manage.getByRole('button', { name: 'Close' }).click();
    await row.getByText('gold', { exact: true }).waitFor();
    await row.locator('.badge', { hasText: /^suspended$/ }).waitFor();

    // Disable a package: no longer listed or sold.
    const pkg = server.ctx.catalog.get('US_1_7')!;
    await nav(page, 'Catalog').click();
    await page.getByLabel('Search').fill(pkg.package_code);
    const pkgRow = page.locator('tr', { hasText: `${pkg.package_code} · ${pkg.slug}` });
    await pkgRow.getByRole('button', { name: `Disable ${pkg.package_code}` }).click();
    await page.getByText(`${pkg.name} is disabled: it is no longer listed or sold (existing eSIMs keep it).`).waitFor();
    await pkgRow.locator('.badge', { hasText: /^retired$/ }).waitFor();
    await pkgRow.getByRole('button', { name: `Enable ${pkg.package_code}` }).waitFor();
    expect((await db.selectFrom('packages').select('status').where('package_code', '=', pkg.package_code).executeTakeFirstOrThrow()).status).toBe('retired');
    expect(server.ctx.catalog.get(pkg.package_code)).toBeUndefined();
    await screenshot(page, 'operator-e2e-03-package-disabled');

    // Import a small catalogue: two new plans, listed at once with their prices.
    const csv = [
      'packageCode,slug,name,price,volume,duration,locationCode',
      'HRB001,US_2_7_HRB,Harbour USA 2GB 7Days,9000,2147483648,7,US',
      'HRB002,US_4_14_HRB,Harbour USA 4GB 14Days,15500,4294967296,14,US',
    ].join('\n');
    await page.getByLabel('Catalogue CSV text').fill(csv);
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await page.getByText('Imported: 2 new, 0 updated packages.').waitFor();
    const imported = await db.selectFrom('packages').select(['package_code', 'slug', 'name', 'price', 'volume', 'duration', 'location_code', 'status']).where('package_code', 'in', ['HRB001', 'HRB002']).orderBy('package_code').execute();
    expect(imported.map((p) => ({ ...p, price: Number(p.price), volume: Number(p.volume) }))).toEqual([
      { package_code: 'HRB001', slug: 'US_2_7_HRB', name: 'Harbour USA 2GB 7Days', price: 9000, volume: 2147483648, duration: 7, location_code: 'US', status: 'active' },
      { package_code: 'HRB002', slug: 'US_4_14_HRB', name: 'Harbour USA 4GB 14Days', price: 15500, volume: 4294967296, duration: 14, location_code: 'US', status: 'active' },
    ]);
    expect(server.ctx.catalog.get('US_2_7_HRB')?.package_code).toBe('HRB001');
    await page.getByLabel('Search').fill('Harbour USA');
    const importedRow = page.locator('tr', { hasText: 'HRB002 · US_4_14_HRB' });
    await importedRow.waitFor();
    expect(await importedRow.locator('td.num').first().textContent()).toBe('$1.55');
    expect(await page.locator('tbody tr', { hasText: 'Harbour USA' }).count()).toBe(2);
    await screenshot(page, 'operator-e2e-04-catalog-imported');
    expect(errors).toEqual([]);
    await context.close();
  });
});
