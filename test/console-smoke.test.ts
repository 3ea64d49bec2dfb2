import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startServer, type TestServer } from './helpers/server.ts';
import { launchBrowser, screenshot, watchPageErrors } from './helpers/browser.ts';

describe('console smoke', () => {
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

  it('signs up and lands on the dashboard', async () => {
    const page = await browser.newPage();
    const errors = watchPageErrors(page);
    await page.goto(`${server.baseUrl}/console/`);
    await page.getByRole('link', { name: 'Create a sandbox account' }).click();
    await page.getByLabel('Company').fill('Smoke Travel');
    await page.getByLabel('Email').fill('smoke@example.com');
    await page.getByLabel('Password').fill('correct horse battery');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Dashboard');
    // The session cookie is HttpOnly and SameSite=Strict.
    const cookie = (await page.context().cookies()).find((c) => c.name === 'esimhub_session');
    expect(cookie?.httpOnly).toBe(true);
    expect(cookie?.sameSite).toBe('Strict');
    await screenshot(page, 'smoke-dashboard');
    expect(errors).toEqual([]);
  });

  it('serves hashed assets cached for a year and the page itself uncached', async () => {
    const page = await fetch(`${server.baseUrl}/console/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('cache-control')).toBe('no-cache');
    const html = await page.text();
    const asset = html.match(/\/console\/assets\/[^"']+\.js/)?.[0];
    expect(asset).toBeTruthy();
    const res = await fetch(`${server.baseUrl}${asset}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect((await res.text()).length).toBeGreaterThan(1000);
    expect((await fetch(`${server.baseUrl}/console/assets/nope.js`)).status).toBe(404);
  });
});
