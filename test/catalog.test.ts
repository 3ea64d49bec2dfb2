import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectStore, type Store } from '../src/store/connect.ts';
import { openTestStore } from './helpers/store.ts';
import type { PackageTable } from '../src/store/schema.ts';
import { generateSandboxCatalog, type SandboxCatalog } from '../src/domain/catalog/generate.ts';
import { ensureSandboxCatalog } from '../src/domain/catalog/seed.ts';
import { importCatalog, parseCatalogFile } from '../src/domain/catalog/import.ts';
import { CatalogCache, listPackages, type PackageFilter } from '../src/domain/catalog/query.ts';
import { csvField, parseCsv } from '../src/domain/catalog/csv.ts';
import { generationsFromBands, networkTypeFromGenerations } from '../src/domain/catalog/operators.ts';

const PG_URL = process.env.ESIMHUB_TEST_PG_URL || 'postgres://root@127.0.0.1:5432/test';
const SKIP_PG = process.env.ESIMHUB_SKIP_PG === '1';
const GB = 1_073_741_824;
const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);

const tempDirs: string[] = [];
const stores: Store[] = [];

async function newStore(): Promise<Store> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'esimhub-catalog-'));
  tempDirs.push(dir);
  // The suite's store: SQLite, or a fresh PostgreSQL schema under ESIMHUB_TEST_STORE=postgres.
  const store = await openTestStore(dir);
  stores.push(store);
  return store;
}

async function seededStore(): Promise<Store> {
  const store = await newStore();
  await ensureSandboxCatalog(store, NOW);
  return store;
}

async function allPackages(store: Store): Promise<PackageTable[]> {
  return store.db.selectFrom('packages').selectAll().orderBy('package_code').execute();
}

afterAll(async () => {
  for (const store of stores) await store.close();
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

function withoutTimes(catalog: SandboxCatalog) {
  return { ...catalog, packages: catalog.packages.map(({ created_at, updated_at, ...rest }) => rest) };
}

describe('sandbox catalogue generator', () => {
  const catalog = generateSandboxCatalog(NOW);
  const countries = catalog.locations.filter((l) => l.type === 1);
  const regions = catalog.locations.filter((l) => l.type === 2);
  const bySlug = new Map(catalog.packages.map((p) => [p.slug, p]));

  it('is deterministic apart from timestamps', () => {
    const again = generateSandboxCatalog(NOW + 123_456);
    expect(JSON.stringify(withoutTimes(again))).toBe(JSON.stringify(withoutTimes(catalog)));
    expect(again.packages[0].created_at).toBe(NOW + 123_456);
  });

  it('has at least 2,000 packages with unique, well-formed codes and slugs', () => {
    expect(catalog.packages.length).toBeGreaterThanOrEqual(2000);
    expect(new Set(catalog.packages.map((p) => p.package_code)).size).toBe(catalog.packages.length);
    expect(new Set(catalog.packages.map((p) => p.slug)).size).toBe(catalog.packages.length);
    for (const p of catalog.packages) expect(p.package_code).toMatch(/^[A-Z]{3}\d{3}$/);
    const orders = catalog.packages.map((p) => p.sort_order);
    expect(orders).toEqual([...orders].sort((a, b) => a - b));
    expect(new Set(orders).size).toBe(orders.length);
  });

  it('lists every ISO country with a human name and the eSIM Access style regions', () => {
    expect(countries.length).toBeGreaterThanOrEqual(249);
    const names = new Map(countries.map((c) => [c.code, c.name]));
    expect(names.get('US')).toBe('United States');
    expect(names.get('GB')).toBe('United Kingdom');
    expect(names.get('KR')).toBe('South Korea');
    expect(names.get('DE')).toBe('Germany');
    expect([...names.values()].filter((n) => n.includes(','))).toEqual([]);
    for (const code of ['EU-42', 'AS-20', 'NA-3', 'SA-18', 'ME-12', 'AF-29', 'OC-3', 'CB-25', 'GL-120']) {
      expect(regions.map((r) => r.code)).toContain(code);
    }
    for (const region of regions) {
      const members = catalog.members.filter((m) => m.region_code === region.code);
      expect(region.code).toBe(`${region.code.split('-')[0]}-${members.length}`);
      expect(region.region_group).toBeTruthy();
      for (const m of members) expect(names.has(m.country_code)).toBe(true);
    }
    expect(catalog.members.filter((m) => m.region_code === 'NA-3').map((m) => m.country_code).sort()).toEqual(['CA', 'MX', 'US']);
    expect(regions.find((r) => r.code === 'GL-120')?.region_group).toBe('Global');
  });

  it('gives every country an operator and base plans, and every region base plans', () => {
    const withOperator = new Set(catalog.operators.map((o) => o.country_code));
    const withBase = new Set(catalog.packages.filter((p) => p.type === 'BASE').map((p) => p.location_code));
    for (const c of countries) {
      expect(withOperator.has(c.code), `operator for ${c.code}`).toBe(true);
      expect(withBase.has(c.code), `base plan for ${c.code}`).toBe(true);
    }
    for (const r of regions) expect(withBase.has(r.code), `base plan for ${r.code}`).toBe(true);
    expect(new Set(catalog.operators.map((o) => o.id)).size).toBe(catalog.operators.length);
    const us = catalog.operators.filter((o) => o.country_code === 'US').map((o) => o.name);
    expect(us).toEqual(expect.arrayContaining(['AT&T', 'T-Mobile', 'Verizon']));
  });

  it('derives network types from bands', () => {
    expect(networkTypeFromGenerations(generationsFromBands('GSM 900 / UMTS 2100 / LTE 800 / 5G 3500'))).toBe('4G/5G');
    expect(networkTypeFromGenerations(generationsFromBands('GSM 900 / GSM 1800 / UMTS 2100 / LTE 1800'))).toBe('3G/4G');
    expect(networkTypeFromGenerations(generationsFromBands('GSM 900 / UMTS 2100'))).toBe('2G/3G');
    expect(networkTypeFromGenerations(generationsFromBands('CDMA2000 850'))).toBe('3G');
    expect(networkTypeFromGenerations(generationsFromBands('MVNO'))).toBe('3G/4G');
  });

  it('has a cheap US plan and the documented slug and name formats', () => {
    const us = bySlug.get('US_1_7')!;
    expect(us).toMatchObject({ name: 'United States 1GB 7Days', type: 'BASE', price: 6000, volume: GB, duration: 7, location: 'US', location_code: 'US', topup_group: 'US', currency_code: 'USD', duration_unit: 'DAY', supply: 'simulated', status: 'active', favorite: 0 });
    expect(us.price).toBeLessThan(10_000);
    expect(bySlug.get('EU-42_3_30')?.name).toBe('Europe (42 countries) 3GB 30Days');
    expect(bySlug.get('TOPUP_US_1_7')?.type).toBe('TOPUP');
    expect(bySlug.get('JP_1_Daily')).toMatchObject({ is_daypass: 1, duration: 1, data_type: 2 });
  });

  it('has day passes, unlimited plans with a fair-use policy, and sensible attributes', () => {
    const passes = catalog.packages.filter((p) => p.is_daypass === 1);
    expect(passes.length).toBeGreaterThan(100);
    for (const p of passes) {
      expect(p.duration).toBe(1);
      expect([2, 3, 4]).toContain(p.data_type);
    }
    const unlimited = catalog.packages.filter((p) => p.data_type === 4);
    expect(unlimited.length).toBeGreaterThan(10);
    for (const p of unlimited) expect(p.fup_policy.length).toBeGreaterThan(10);
    const volumes = new Set(catalog.packages.map((p) => p.volume));
    for (const gb of [0.1, 0.5]) expect(volumes.has(Math.round(gb * 1000) * 1_048_576)).toBe(true);
    for (const gb of [1, 3, 5, 10, 20, 50]) expect(volumes.has(gb * GB)).toBe(true);
    expect(new Set(catalog.packages.map((p) => p.duration))).toEqual(new Set([1, 3, 7, 15, 30, 90, 180]));
    expect(new Set(catalog.packages.map((p) => p.sms_status))).toEqual(new Set([0, 1, 2]));
    expect(catalog.packages.filter((p) => p.sms_status === 0).length / catalog.packages.length).toBeGreaterThan(0.7);
    expect(new Set(catalog.packages.map((p) => p.active_type))).toEqual(new Set([1, 2]));
    expect(new Set(catalog.packages.map((p) => p.unused_valid_time))).toEqual(new Set([30, 180]));
    for (const p of catalog.packages) {
      expect(Number.isInteger(p.price) && p.price > 0).toBe(true);
      expect(p.retail_price).toBeGreaterThanOrEqual(Math.floor(p.price * 1.4));
      expect(p.retail_price).toBeLessThanOrEqual(p.price * 2 + 100);
      expect(['3G/4G', '4G/5G']).toContain(p.speed);
    }
  });

  it('keeps top-up groups consistent', () => {
    const baseGroups = new Set(catalog.packages.filter((p) => p.type === 'BASE').map((p) => p.topup_group));
    const topupGroups = new Set(catalog.packages.filter((p) => p.type === 'TOPUP').map((p) => p.topup_group));
    expect(topupGroups.size).toBeGreaterThan(150);
    for (const g of topupGroups) expect(baseGroups.has(g), `BASE for group ${g}`).toBe(true);
    for (const p of catalog.packages.filter((x) => x.type === 'BASE')) {
      expect(p.support_topup_type).toBe(topupGroups.has(p.topup_group) ? 2 : 1);
    }
    // Most locations can be topped up, not all.
    const locations = new Set(catalog.packages.map((p) => p.location_code));
    const toppable = [...locations].filter((l) => topupGroups.has(l));
    expect(toppable.length / locations.size).toBeGreaterThan(0.6);
    expect(toppable.length).toBeLessThan(locations.size);
  });

  it('lists networks per covered country', () => {
    const eu = bySlug.get('EU-42_3_30')!;
    const networks = JSON.parse(eu.networks_json);
    expect(networks).toHaveLength(42);
    expect(eu.location.split(',')).toHaveLength(42);
    expect(networks.map((n: any) => n.locationCode)).toEqual(eu.location.split(','));
    const de = networks.find((n: any) => n.locationCode === 'DE');
    expect(de).toMatchObject({ locationName: 'Germany', locationLogo: '/img/flags/de.png' });
    expect(de.operatorList.map((o: any) => o.operatorName)).toEqual(expect.arrayContaining(['Telekom', 'Vodafone']));
    const us = JSON.parse(bySlug.get('US_1_7')!.networks_json);
    expect(us).toHaveLength(1);
    expect(us[0].operatorList.length).toBeGreaterThan(0);
  });
});

describe('seeding', () => {
  it('inserts every generated row once, quickly', async () => {
    const store = await newStore();
    const started = performance.now();
    const counts = await ensureSandboxCatalog(store, NOW);
    const elapsed = performance.now() - started;
    const expected = generateSandboxCatalog(NOW);
    expect(counts).toEqual({ seeded: true, locations: expected.locations.length, members: expected.members.length, operators: expected.operators.length, packages: expected.packages.length });
    expect(elapsed).toBeLessThan(3000);

    const stored = await allPackages(store);
    const generated = [...expected.packages].sort((a, b) => a.package_code.localeCompare(b.package_code));
    expect(stored).toEqual(generated);
    const locations = await store.db.selectFrom('locations').selectAll().execute();
    expect(locations.length).toBe(expected.locations.length);
    const operators = await store.db.selectFrom('operators').selectAll().execute();
    expect(operators.length).toBe(expected.operators.length);

    const second = await ensureSandboxCatalog(store, NOW + 1);
    expect(second.seeded).toBe(false);
    expect((await allPackages(store)).length).toBe(expected.packages.length);
  });
});

describe('package queries', () => {
  let store: Store;
  let cache: CatalogCache;
  let catalog: SandboxCatalog;
  const code = (slug: string) => catalog.packages.find((p) => p.slug === slug)!.package_code;

  beforeAll(async () => {
    store = await seededStore();
    cache = new CatalogCache(store.db);
    catalog = generateSandboxCatalog(NOW);
  });

  it('returns all active BASE packages in catalogue order by default', async () => {
    const rows = await listPackages(store.db, {});
    const expected = catalog.packages.filter((p) => p.type === 'BASE');
    expect(rows.map((r) => r.package_code)).toEqual(expected.map((p) => p.package_code));
    expect((await listPackages(store.db, { type: 'TOPUP' })).every((p) => p.type === 'TOPUP')).toBe(true);
  });

  it('treats empty strings and null as no filter', async () => {
    const all = await listPackages(store.db, {});
    const blank = await listPackages(store.db, { locationCode: '', type: '', packageCode: null, slug: '', iccidPackageCode: null });
    expect(blank.length).toBe(all.length);
  });

  it('filters regional (!RG) and global (!GL) packages', async () => {
    const regional = await listPackages(store.db, { locationCode: '!RG' });
    const codes = new Set(regional.map((p) => p.location_code));
    expect(codes.has('EU-42')).toBe(true);
    expect(codes.has('NA-3')).toBe(true);
    expect(codes.has('GL-120')).toBe(false);
    expect([...codes].every((c) => c.includes('-'))).toBe(true);
    expect(regional.every((p) => p.type === 'BASE')).toBe(true);

    const global = await listPackages(store.db, { locationCode: '!GL' });
    expect(global.length).toBeGreaterThan(0);
    expect(new Set(global.map((p) => p.location_code))).toEqual(new Set(['GL-120']));
  });

  it('filters by country and by region code', async () => {
    const us = await listPackages(store.db, { locationCode: 'US' });
    expect(us.length).toBeGreaterThan(5);
    expect(us.every((p) => p.location_code === 'US' && p.type === 'BASE')).toBe(true);
    const orders = us.map((p) => p.sort_order);
    expect(orders).toEqual([...orders].sort((a, b) => a - b));
    const eu = await listPackages(store.db, { locationCode: 'eu-42' });
    expect(eu.length).toBeGreaterThan(0);
    expect(eu.every((p) => p.location_code === 'EU-42')).toBe(true);
  });

  it('finds the top-ups that fit a package by slug, code, slug-as-code or the ICCID package', async () => {
    const bySlug = await listPackages(store.db, { type: 'TOPUP', slug: 'US_1_7' });
    expect(bySlug.length).toBeGreaterThan(0);
    expect(bySlug.every((p) => p.type === 'TOPUP' && p.topup_group === 'US')).toBe(true);
    expect(bySlug.map((p) => p.slug)).toContain('TOPUP_US_1_7');
    for (const filter of [
      { type: 'TOPUP', packageCode: code('US_1_7') },
      { type: 'TOPUP', packageCode: 'US_1_7' },
      { type: 'TOPUP', iccidPackageCode: code('US_1_7') },
      { type: 'TOPUP', slug: 'US_3_30' },
    ]) {
      expect((await listPackages(store.db, filter)).map((p) => p.package_code)).toEqual(bySlug.map((p) => p.package_code));
    }
    const eu = await listPackages(store.db, { type: 'TOPUP', slug: 'EU-42_3_30' });
    expect(eu.length).toBeGreaterThan(0);
    expect(eu.every((p) => p.topup_group === 'EU-42')).toBe(true);
    // Day passes are extended with periodNum, not top-ups.
    expect(await listPackages(store.db, { type: 'TOPUP', slug: 'JP_1_Daily' })).toEqual([]);
    expect(await listPackages(store.db, { type: 'TOPUP', slug: 'NO_SUCH_SLUG' })).toEqual([]);
  });

  it('returns one package for a BASE lookup by code or slug', async () => {
    const byCode = await listPackages(store.db, { packageCode: code('JP_1_7') });
    expect(byCode.map((p) => p.slug)).toEqual(['JP_1_7']);
    expect((await listPackages(store.db, { slug: 'JP_1_7' })).map((p) => p.slug)).toEqual(['JP_1_7']);
    expect(await listPackages(store.db, { packageCode: 'NOPE' })).toEqual([]);
    // A top-up is not a BASE package.
    expect(await listPackages(store.db, { slug: 'TOPUP_US_1_7' })).toEqual([]);
  });

  it('answers every filter from the cache exactly as from the database', async () => {
    const filters: PackageFilter[] = [
      {},
      { type: 'TOPUP' },
      { locationCode: '!RG' },
      { locationCode: '!GL' },
      { locationCode: '!GL', type: 'TOPUP' },
      { locationCode: 'US' },
      { locationCode: 'jp' },
      { locationCode: 'EU-42' },
      { locationCode: 'XX' },
      { type: 'TOPUP', slug: 'US_1_7' },
      { type: 'TOPUP', packageCode: code('EU-42_3_30') },
      { type: 'TOPUP', packageCode: code('EU-42_3_30'), locationCode: '!RG' },
      { type: 'TOPUP', packageCode: code('EU-42_3_30'), locationCode: 'US' },
      { type: 'TOPUP', iccidPackageCode: code('GL-120_1_7') },
      { type: 'TOPUP', slug: 'JP_1_Daily' },
      { packageCode: 'US_1_7' },
      { slug: 'TOPUP_US_1_7', type: 'TOPUP' },
      { slug: 'missing' },
    ];
    for (const filter of filters) {
      const fromDb = await listPackages(store.db, filter);
      const fromCache = await cache.list(filter);
      expect(fromCache, JSON.stringify(filter)).toEqual(fromDb);
    }
  });

  it('returns the whole catalogue from memory in well under 50 ms', async () => {
    await cache.load();
    const started = performance.now();
    const rows = await cache.list({});
    const elapsed = performance.now() - started;
    expect(rows.length).toBe(catalog.packages.filter((p) => p.type === 'BASE').length);
    expect(elapsed).toBeLessThan(50);
    // Callers get their own array: changing it does not change the cache.
    rows.length = 0;
    expect((await cache.list({})).length).toBeGreaterThan(2000);
  });

  it('serves new packages after invalidate()', async () => {
    const own = await seededStore();
    const ownCache = new CatalogCache(own.db);
    await ownCache.load();
    const before = ownCache.version;
    const csv = 'packageCode,slug,name,price,volume,duration,locationCode\nNEW001,US_2_7,United States 2GB 7Days,9000,2147483648,7,US\n';
    const result = await importCatalog(own, parseCatalogFile(csv, 'csv'), NOW);
    expect(result.ok).toBe(true);
    expect((await ownCache.list({ locationCode: 'US' })).some((p) => p.slug === 'US_2_7')).toBe(false);
    ownCache.invalidate();
    expect(ownCache.version).not.toBe(before);
    expect((await ownCache.list({ locationCode: 'US' })).some((p) => p.slug === 'US_2_7')).toBe(true);
    expect(ownCache.listLoaded({ slug: 'US_2_7' })).toHaveLength(1);
  });
});

describe('catalogue import', () => {
  const header = 'packageCode,slug,name,type,price,currencyCode,volume,smsStatus,dataType,unusedValidTime,duration,durationUnit,location,locationCode,description,activeType,retailPrice,speed,ipExport,supportTopUpType,fupPolicy,topupGroup,isDaypass';

  it('inserts new and updates existing packages from CSV', async () => {
    const store = await seededStore();
    const existing = (await listPackages(store.db, { slug: 'US_1_7' }))[0];
    const csv = [
      header,
      `${existing.package_code},US_1_7,United States 1GB 7Days,BASE,5500,USD,${GB},0,1,180,7,DAY,US,US,"Cheaper, now",2,9000,4G/5G,US,2,,US,0`,
      `IMP001,US_2_15,United States 2GB 15Days,BASE,12000,USD,${2 * GB},0,1,180,15,DAY,,US,"Plan with ""quotes"", commas
and a line break",1,18000,,,,,,0`,
    ].join('\n');
    const result = await importCatalog(store, parseCatalogFile(csv, 'csv'), NOW + 1000);
    expect(result).toEqual({ ok: true, inserted: 1, updated: 1, errors: [] });

    const updated = await store.db.selectFrom('packages').selectAll().where('package_code', '=', existing.package_code).executeTakeFirstOrThrow();
    expect(updated).toMatchObject({ price: 5500, retail_price: 9000, description: 'Cheaper, now', created_at: existing.created_at, updated_at: NOW + 1000, sort_order: existing.sort_order, supply: 'simulated' });

    const added = await store.db.selectFrom('packages').selectAll().where('package_code', '=', 'IMP001').executeTakeFirstOrThrow();
    expect(added.description).toBe('Plan with "quotes", commas\nand a line break');
    expect(added).toMatchObject({ location: 'US', location_code: 'US', topup_group: 'US', support_topup_type: 2, ip_export: 'US', status: 'active', supply: 'pool', created_at: NOW + 1000 });
    const networks = JSON.parse(added.networks_json);
    expect(networks).toHaveLength(1);
    expect(networks[0]).toMatchObject({ locationCode: 'US', locationName: 'United States', locationLogo: '/img/flags/us.png' });
    expect(networks[0].operatorList[0]).toEqual({ operatorName: expect.any(String), networkType: expect.stringMatching(/G/) });
    const maxBefore = Math.max(...(await allPackages(store)).filter((p) => p.package_code !== 'IMP001').map((p) => p.sort_order));
    expect(added.sort_order).toBe(maxBefore + 1);
  });

  it('imports JSON (including a package/list answer) with derived locations and networks', async () => {
    const store = await seededStore();
    const items = [
      { packageCode: 'EUX001', slug: 'EU-42_7_30', name: 'Europe 7GB 30Days', price: 70000, volume: 7 * GB, duration: 30, locationCode: 'EU-42', favorite: false, locationNetworkList: [] },
      { packageCode: 'EUX002', slug: 'TOPUP_EU-42_2_7', name: 'Europe 2GB 7Days Top-up', type: 'TOPUP', price: '25000', volume: 2 * GB, duration: 7, locationCode: 'EU-42', topupGroup: 'EU-42' },
      { packageCode: 'DPX001', slug: 'TH_2_Daily', name: 'Thailand 2GB/Day', price: 9000, volume: 2 * GB, duration: 1, isDaypass: true, dataType: 2, locationCode: 'TH', topupGroup: 'TH_DAILY' },
    ];
    const result = await importCatalog(store, parseCatalogFile(JSON.stringify({ packageList: items }), 'json'), NOW);
    expect(result).toEqual({ ok: true, inserted: 3, updated: 0, errors: [] });
    const eu = await store.db.selectFrom('packages').selectAll().where('package_code', '=', 'EUX001').executeTakeFirstOrThrow();
    const members = await store.db.selectFrom('location_members').select('country_code').where('region_code', '=', 'EU-42').orderBy('country_code').execute();
    expect(eu.location).toBe(members.map((m) => m.country_code).join(','));
    expect(JSON.parse(eu.networks_json)).toHaveLength(42);
    expect(eu.support_topup_type).toBe(2);
    expect(eu.ip_export).toBe('UK');
    const topup = await store.db.selectFrom('packages').selectAll().where('package_code', '=', 'EUX002').executeTakeFirstOrThrow();
    expect(topup).toMatchObject({ type: 'TOPUP', price: 25000 });
    const pass = await store.db.selectFrom('packages').selectAll().where('package_code', '=', 'DPX001').executeTakeFirstOrThrow();
    expect(pass).toMatchObject({ is_daypass: 1, data_type: 2, support_topup_type: 1 });

    const plain = await importCatalog(store, parseCatalogFile(JSON.stringify([{ ...items[0], price: 65000 }]), 'json'), NOW);
    expect(plain).toEqual({ ok: true, inserted: 0, updated: 1, errors: [] });
  });

  it('reports every bad CSV row with its line and reason, and changes nothing', async () => {
    const store = await seededStore();
    const before = JSON.stringify(await allPackages(store));
    const csv = [
      'packageCode,slug,name,type,price,volume,duration,locationCode,dataType,description', // line 1
      `GOOD01,US_4_7,United States 4GB 7Days,BASE,15000,${4 * GB},7,US,1,fine`, // 2: good, must not be applied
      `BAD001,US_5_7,United States 5GB 7Days,BASE,,${5 * GB},7,US,1,missing price`, // 3
      `BAD002,US_6_7,United States 6GB 7Days,BASE,1.5,${6 * GB},7,US,1,fractional price`, // 4
      `BAD003,XX_1_7,Nowhere 1GB 7Days,BASE,6000,${GB},7,XX,1,unknown location`, // 5
      `GOOD01,US_7_7,Dup code,BASE,6000,${GB},7,US,1,duplicate code`, // 6
      `BAD004,US_4_7,Dup slug,BASE,6000,${GB},7,US,1,duplicate slug`, // 7
      `BAD005,US_8_7,Addon,ADDON,6000,${GB},7,US,1,bad type`, // 8
      `BAD006,US_9_7,Bad data type,BASE,6000,${GB},7,US,7,"bad, data type"`, // 9
      `BAD007,US_1_7,Taken slug,BASE,6000,${GB},7,US,1,slug of an existing package`, // 10
      `GOOD02,US_10_7,Multi,BASE,6000,${GB},7,US,1,"multi`, // 11: a good row whose quoted description
      `line`, // 12 spans lines 11-13
      `"`, // 13
      `BAD009,US_11_7,Short row,BASE`, // 14
    ].join('\r\n');
    const parsed = parseCatalogFile(csv, 'csv');
    const result = await importCatalog(store, parsed, NOW);
    expect(result.ok).toBe(false);
    const byLine = new Map<number, string[]>();
    for (const e of result.errors) byLine.set(e.line, [...(byLine.get(e.line) ?? []), e.reason]);
    expect(byLine.has(2)).toBe(false);
    expect(byLine.get(3)?.join()).toMatch(/missing required field price/);
    expect(byLine.get(4)?.join()).toMatch(/price must be an integer/);
    expect(byLine.get(5)?.join()).toMatch(/unknown location code XX/);
    expect(byLine.get(6)?.join()).toMatch(/duplicate packageCode GOOD01 \(first on line 2\)/);
    expect(byLine.get(7)?.join()).toMatch(/duplicate slug US_4_7 \(first on line 2\)/);
    expect(byLine.get(8)?.join()).toMatch(/type must be BASE or TOPUP/);
    expect(byLine.get(9)?.join()).toMatch(/dataType must be one of 1, 2, 3, 4/);
    expect(byLine.get(10)?.join()).toMatch(/slug US_1_7 already belongs to package/);
    expect(byLine.has(11)).toBe(false);
    expect(byLine.get(14)?.join()).toMatch(/expected 10 fields as in the header, found 4/);
    expect([...byLine.keys()]).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 14]);
    expect(JSON.stringify(await allPackages(store))).toBe(before);
  });

  it('reports bad JSON entries by array position, and file-level problems as line 0', async () => {
    const store = await seededStore();
    const before = JSON.stringify(await allPackages(store));
    const items = [
      { packageCode: 'J1', slug: 'US_12_7', name: 'ok', price: 6000, volume: GB, duration: 7, locationCode: 'US' },
      'not an object',
      { packageCode: 'J3', slug: 'US_13_7', name: 'float', price: 60.5, volume: GB, duration: 7, locationCode: 'US' },
      { packageCode: 'J4', slug: 'US_14_7', name: 'unknown key', price: 6000, volume: GB, duration: 7, locationCode: 'US', colour: 'red' },
      { packageCode: 'J5', slug: 'TOPUP_ZZ', name: 'orphan top-up', type: 'TOPUP', price: 6000, volume: GB, duration: 7, locationCode: 'US', topupGroup: 'NO_BASE' },
      { packageCode: 'J6', slug: 'US_15_7', name: 'day pass for a week', price: 6000, volume: GB, duration: 7, isDaypass: 1, locationCode: 'US' },
      { packageCode: 'J7', slug: 'FR_16_7', name: 'wrong location', price: 6000, volume: GB, duration: 7, location: 'DE,ZZ', locationCode: 'FR' },
    ];
    const result = await importCatalog(store, parseCatalogFile(JSON.stringify(items), 'json'), NOW);
    expect(result.ok).toBe(false);
    const lines = (n: number) => result.errors.filter((e) => e.line === n).map((e) => e.reason).join(' | ');
    expect(lines(1)).toBe('');
    expect(lines(2)).toMatch(/not an object/);
    expect(lines(3)).toMatch(/price must be an integer/);
    expect(lines(4)).toMatch(/unknown field "colour"/);
    expect(lines(5)).toMatch(/topupGroup NO_BASE has no active BASE package/);
    expect(lines(6)).toMatch(/duration must be 1/);
    expect(lines(7)).toMatch(/unknown country code in location: ZZ/);
    expect(lines(7)).toMatch(/does not include the package's country FR/);
    expect(JSON.stringify(await allPackages(store))).toBe(before);

    const broken = await importCatalog(store, parseCatalogFile('[{"packageCode": ', 'json'), NOW);
    expect(broken.ok).toBe(false);
    expect(broken.errors[0]).toMatchObject({ line: 0, reason: expect.stringMatching(/not valid JSON/) });
    const wrongShape = parseCatalogFile('{"a": 1}', 'json');
    expect(wrongShape.errors[0]).toMatchObject({ line: 0 });
  });

  it('rejects unknown CSV columns and files without a header', async () => {
    const store = await seededStore();
    const before = JSON.stringify(await allPackages(store));
    const csv = `packageCode,slug,name,pirce,volume,duration,locationCode\nZ1,US_20_7,x,6000,${GB},7,US\n`;
    const result = await importCatalog(store, parseCatalogFile(csv, 'csv'), NOW);
    expect(result.ok).toBe(false);
    expect(result.errors).toEqual(
      expect.arrayContaining([
        { line: 1, reason: 'unknown column "pirce" (column 4)' },
        { line: 2, field: 'price', reason: 'missing required field price' },
      ]),
    );
    expect(parseCatalogFile('', 'csv').errors[0]).toMatchObject({ line: 0, reason: 'the file has no header row' });
    expect(JSON.stringify(await allPackages(store))).toBe(before);
  });
});

describe('CSV reader', () => {
  it('handles quotes, commas, escaped quotes and line breaks inside fields', () => {
    const text = '\ufeffa,b,c\r\n"x, y","say ""hi""","two\r\nlines"\n1,,3\n\n"",last,"end"';
    const { records, errors } = parseCsv(text);
    expect(errors).toEqual([]);
    expect(records).toEqual([
      { line: 1, fields: ['a', 'b', 'c'] },
      { line: 2, fields: ['x, y', 'say "hi"', 'two\r\nlines'] },
      { line: 4, fields: ['1', '', '3'] },
      { line: 6, fields: ['', 'last', 'end'] },
    ]);
  });

  it('reports an unterminated quote and text after a closing quote', () => {
    expect(parseCsv('a,b\n1,"open\n2,3\n').errors).toEqual([{ line: 2, reason: expect.stringMatching(/unterminated quoted field/) }]);
    const { records, errors } = parseCsv('a,b\n"x"y,2\n3,4\n');
    expect(errors).toEqual([{ line: 2, reason: expect.stringMatching(/after a closing quote/) }]);
    expect(records.map((r) => r.line)).toEqual([1, 3]);
  });

  it('reads back whatever it is given, quoted as csvField quotes it', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.string({ unit: fc.constantFrom('a', 'b', ',', '"', '\n', '\r', ' ', 'é') }), { minLength: 2, maxLength: 5 }), { minLength: 1, maxLength: 8 }),
        fc.constantFrom('\n', '\r\n'),
        (rows, eol) => {
          const text = rows.map((r) => r.map(csvField).join(',')).join(eol);
          const { records, errors } = parseCsv(text);
          expect(errors).toEqual([]);
          expect(records.map((r) => r.fields)).toEqual(rows);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe.skipIf(SKIP_PG)('on PostgreSQL', () => {
  let store: Store | undefined;
  // A database of its own rather than a schema: Kysely's migrator finds its lock table in any schema of
  // the database, so a schema next to another test's would skip creating it.
  const database = `catalog_test_${crypto.randomBytes(6).toString('hex')}`;
  const adminQuery = async (text: string) => {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    try {
      await client.query(text);
    } finally {
      await client.end();
    }
  };

  beforeAll(async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'esimhub-catalog-pg-'));
    tempDirs.push(dir);
    try {
      await adminQuery(`CREATE DATABASE "${database}"`);
    } catch (error) {
      throw new Error(`PostgreSQL at ${PG_URL.replace(/\/\/[^@/]*@/, '//***@')} is unreachable (${(error as Error).message}); start it or set ESIMHUB_SKIP_PG=1`);
    }
    const url = new URL(PG_URL);
    url.pathname = `/${database}`;
    store = await connectStore({ databaseUrl: url.toString(), dataDir: dir });
  });

  afterAll(async () => {
    await store?.close();
    await adminQuery(`DROP DATABASE IF EXISTS "${database}"`);
  });

  it('seeds, queries and imports exactly as on SQLite', async () => {
    if (!store) throw new Error('PostgreSQL store not opened');
    const counts = await ensureSandboxCatalog(store, NOW);
    const expected = generateSandboxCatalog(NOW);
    expect(counts.packages).toBe(expected.packages.length);
    expect((await ensureSandboxCatalog(store, NOW)).seeded).toBe(false);
    const stored = await allPackages(store);
    expect(stored).toEqual([...expected.packages].sort((a, b) => (a.package_code < b.package_code ? -1 : 1)));

    const cache = new CatalogCache(store.db);
    const usCode = expected.packages.find((p) => p.slug === 'US_1_7')!.package_code;
    for (const filter of [{}, { locationCode: '!RG' }, { locationCode: '!GL' }, { locationCode: 'US' }, { type: 'TOPUP', packageCode: usCode }, { slug: 'US_1_7' }]) {
      const fromDb = await listPackages(store.db, filter);
      expect(fromDb.length, JSON.stringify(filter)).toBeGreaterThan(0);
      expect(await cache.list(filter)).toEqual(fromDb);
    }

    const before = JSON.stringify(await allPackages(store));
    const bad = await importCatalog(store, parseCatalogFile(`packageCode,slug,name,price,volume,duration,locationCode\nP1,US_30_7,x,6000,${GB},7,US\nP2,US_31_7,y,abc,${GB},7,US\n`, 'csv'), NOW);
    expect(bad.errors).toEqual([{ line: 3, field: 'price', reason: expect.stringMatching(/price must be an integer/) }]);
    expect(JSON.stringify(await allPackages(store))).toBe(before);

    const good = await importCatalog(store, parseCatalogFile(`packageCode,slug,name,price,volume,duration,locationCode\n${usCode},US_1_7,United States 1GB 7Days,5900,${GB},7,US\nP1,US_30_7,x,6000,${GB},7,US\n`, 'csv'), NOW + 5);
    expect(good).toEqual({ ok: true, inserted: 1, updated: 1, errors: [] });
    const updated = await store.db.selectFrom('packages').selectAll().where('package_code', '=', usCode).executeTakeFirstOrThrow();
    expect(updated).toMatchObject({ price: 5900, updated_at: NOW + 5, created_at: NOW });
  });
});
