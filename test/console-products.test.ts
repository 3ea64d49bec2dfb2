import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startServer, type TestServer } from './helpers/server.ts';
import { launchBrowser, screenshot, watchPageErrors } from './helpers/browser.ts';
import { consoleSignUp, type ConsoleClient } from './helpers/console.ts';

/**
 * Products search over the whole catalogue: GET /v1/packages filters by text (q) and data type on the server,
 * and the console's Products page uses those filters instead of filtering the plans it happened to load.
 */
/** Every page of a GET /v1/packages listing, following next_cursor. */
async function allPackages(client: ConsoleClient, query: string): Promise<any[]> {
  const out: any[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < 100; i++) {
    const res = await client.call('GET', `/v1/packages?limit=50&${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    expect(res.status, res.text).toBe(200);
    out.push(...res.json.data);
    cursor = res.json.has_more ? res.json.next_cursor : null;
    if (!cursor) return out;
  }
  throw new Error('more than 100 pages');
}

describe('GET /v1/packages q and data_type', () => {
  let server: TestServer;
  let alice: ConsoleClient;

  beforeAll(async () => {
    server = await startServer();
    alice = await consoleSignUp(server, { email: 'products@example.com' });
  });
  afterAll(async () => {
    await server?.close();
  });

  const allPages = (query: string) => allPackages(alice, query);

  /** Active base packages straight from the database, in catalogue order: the expectation, not the code under test. */
  async function basePackagesInDb() {
    return server.ctx.store.db.selectFrom('packages').select(['package_code', 'name', 'slug', 'location_code', 'data_type']).where('status', '=', 'active').where('type', '=', 'BASE').orderBy('sort_order').orderBy('package_code').execute();
  }

  it('finds every plan of a country by its name, in any case, across pages', async () => {
    const japan = await allPages('q=Japan');
    const expected = (await basePackagesInDb()).filter((p) => p.location_code === 'JP').map((p) => p.package_code);
    expect(expected.length).toBeGreaterThan(10);
    expect(japan.map((p) => p.id)).toEqual(expected);
    expect((await allPages('q=jApAn')).map((p) => p.id)).toEqual(expected);
    // The first unfiltered page holds few of them: the search must not depend on what a client loaded.
    const first = await alice.call('GET', '/v1/packages?limit=48');
    expect(first.json.data.filter((p: any) => p.location_code === 'JP').length).toBeLessThan(expected.length);
  });

  it('finds plans by volume text and by package code or slug', async () => {
    const fiveGb = await allPages('q=5gb');
    const expected = (await basePackagesInDb()).filter((p) => `${p.name}\n${p.package_code}\n${p.slug}`.toLowerCase().includes('5gb')).map((p) => p.package_code);
    expect(expected.length).toBeGreaterThan(100);
    expect(fiveGb.map((p) => p.id)).toEqual(expected);
    for (const p of fiveGb) expect(`${p.name} ${p.id} ${p.slug}`.toLowerCase()).toContain('5gb');

    const us17 = server.ctx.catalog.get('US_1_7')!;
    const bySlug = await allPages('q=US_1_7');
    expect(bySlug.map((p) => p.id)).toContain(us17.package_code);
    for (const p of bySlug) expect(`${p.name} ${p.id} ${p.slug}`.toLowerCase()).toContain('us_1_7');
    expect((await allPages(`q=${us17.package_code.toLowerCase()}`)).map((p) => p.id)).toEqual([us17.package_code]);
    expect(await allPages('q=no-such-plan-anywhere')).toEqual([]);
  });

  it('filters by data type: fixed, daily (2 and 3) and unlimited, alone or with q and location', async () => {
    const db = await basePackagesInDb();
    for (const [value, types] of [['fixed', [1]], ['daily', [2, 3]], ['unlimited', [4]]] as const) {
      const got = await allPages(`data_type=${value}`);
      const expected = db.filter((p) => (types as readonly number[]).includes(p.data_type)).map((p) => p.package_code);
      expect(expected.length, value).toBeGreaterThan(0);
      expect(got.map((p) => p.id), value).toEqual(expected);
    }
    const japanUnlimited = await allPages('q=Japan&data_type=unlimited');
    expect(japanUnlimited.map((p) => p.id)).toEqual(db.filter((p) => p.location_code === 'JP' && p.data_type === 4).map((p) => p.package_code));
    expect(japanUnlimited).toHaveLength(1);
    const usDaily = await allPages('location=US&data_type=daily');
    expect(usDaily.map((p) => p.id)).toEqual(db.filter((p) => p.location_code === 'US' && (p.data_type === 2 || p.data_type === 3)).map((p) => p.package_code));
    // Top-ups take the filters too.
    const topups = await allPages('type=topup&topup_for_package=US_1_7&q=5GB');
    const group = server.ctx.catalog.get('US_1_7')!.topup_group;
    const expectedTopups = await server.ctx.store.db.selectFrom('packages').select('package_code').where('status', '=', 'active').where('type', '=', 'TOPUP').where('topup_group', '=', group).where('name', 'like', '%5GB%').orderBy('sort_order').orderBy('package_code').execute();
    expect(expectedTopups.length).toBeGreaterThan(0);
    expect(topups.map((p) => p.id)).toEqual(expectedTopups.map((p) => p.package_code));
  });

  it('refuses an unknown data type and an over-long q with 400, and documents both in OpenAPI', async () => {
    const bad = await alice.call('GET', '/v1/packages?data_type=weekly');
    expect(bad.status).toBe(400);
    expect(bad.json.code).toBe('invalid_request');
    expect((await alice.call('GET', `/v1/packages?q=${'x'.repeat(101)}`)).status).toBe(400);
    const spec = await (await fetch(`${server.baseUrl}/openapi.json`)).json();
    const params = spec.paths['/v1/packages'].get.parameters as Array<{ name: string; schema: any }>;
    expect(params.find((p) => p.name === 'q')?.schema.maxLength).toBe(100);
    const dataType = params.find((p) => p.name === 'data_type')?.schema;
    expect(JSON.stringify(dataType)).toContain('unlimited');
    expect((dataType.anyOf ?? dataType.oneOf ?? []).map((s: any) => s.const ?? s.enum?.[0])).toEqual(['fixed', 'daily', 'unlimited']);
  });
});

describe('Products page in a browser', () => {
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

  it('finds a plan beyond the first page by name, filters by region and data type, and lists top-ups that fit', async () => {
    const alice = await consoleSignUp(server, { email: 'browse@example.com', password: 'a browsing password' });
    const count = async (query: string) => (await allPackages(alice, query)).length;
    const plural = (n: number) => `${n} plan${n === 1 ? '' : 's'}`;

    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const errors = watchPageErrors(page);
    await page.goto(`${server.baseUrl}/console/login`);
    await page.getByLabel('Email').fill('browse@example.com');
    await page.getByLabel('Password').fill('a browsing password');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
    await page.goto(`${server.baseUrl}/console/products`);
    const summary = page.locator('p[aria-live="polite"]');
    await expect.poll(() => summary.textContent()).toBe('48 plans loaded so far');

    // A Japanese plan that the first page does not hold, found by its name.
    const firstPage = new Set((await alice.call('GET', '/v1/packages?limit=48')).json.data.map((p: any) => p.id));
    const japan = (await alice.call('GET', '/v1/packages?location=JP&limit=100')).json.data.filter((p: any) => !firstPage.has(p.id));
    expect(japan.length).toBeGreaterThan(0);
    const target = japan[japan.length - 1];
    expect(await page.getByRole('heading', { name: target.name, exact: true }).count()).toBe(0);
    await page.getByLabel('Search plans').fill(target.name);
    await page.getByRole('heading', { name: target.name, exact: true }).waitFor();
    await expect.poll(() => summary.textContent()).toBe(plural(await count(`q=${encodeURIComponent(target.name)}`)));
    // "Japan" over the whole catalogue: every Japanese plan, not just those among 48 loaded ones.
    await page.getByLabel('Search plans').fill('Japan');
    const japanTotal = await count('q=Japan');
    expect(japanTotal).toBe(await count('location=JP'));
    await expect.poll(() => page.locator('article.product').count()).toBe(japanTotal);
    await screenshot(page, 'products-search-japan');

    // A region, then only its unlimited plans.
    await page.getByLabel('Search plans').fill('');
    const regions = (await alice.call('GET', '/v1/locations?type=region')).json.data as Array<{ code: string; name: string }>;
    let region: { code: string; name: string } | undefined;
    for (const r of regions) if (!region && (await count(`location=${r.code}&data_type=unlimited`)) > 0) region = r;
    expect(region).toBeDefined();
    await page.getByRole('group', { name: 'Regions' }).getByRole('button', { name: region!.name, exact: true }).click();
    await expect.poll(() => summary.textContent()).toBe(`${plural(await count(`location=${region!.code}`))} for ${region!.name}`);
    await page.getByLabel('Data type').selectOption('unlimited');
    const unlimited = await count(`location=${region!.code}&data_type=unlimited`);
    await expect.poll(() => summary.textContent()).toBe(`${plural(unlimited)} for ${region!.name}`);
    expect(unlimited).toBeLessThan(await count(`location=${region!.code}`));
    await expect.poll(() => page.locator('article.product').count()).toBe(unlimited);
    expect(await page.locator('article.product', { has: page.locator('.badge', { hasText: /^Unlimited$/ }) }).count()).toBe(unlimited);
    await screenshot(page, 'products-region-unlimited');

    // Top-ups that fit the region's first fixed plan.
    await page.getByLabel('Data type').selectOption('fixed');
    const fixed = (await alice.call('GET', `/v1/packages?location=${region!.code}&data_type=fixed&limit=1`)).json.data[0];
    await page.getByRole('button', { name: `Top-ups that fit ${fixed.name}` }).click();
    const dialog = page.getByRole('dialog', { name: `Top-ups for ${fixed.name}` });
    const fits = (await alice.call('GET', `/v1/packages?type=topup&topup_for_package=${fixed.id}&limit=100`)).json.data as Array<{ id: string }>;
    expect(fits.length).toBeGreaterThan(0);
    await expect.poll(() => dialog.locator('tbody tr').count()).toBe(fits.length);
    expect(await dialog.locator('tbody tr .mono').allTextContents()).toEqual(fits.map((t) => t.id));
    await screenshot(page, 'products-topups-that-fit');
    expect(errors).toEqual([]);
    await context.close();
  });
});
