import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectStore, type Store } from '../src/store/connect.ts';
import { openTestStore, storeEnv } from './helpers/store.ts';
import type { DB, PackageTable } from '../src/store/schema.ts';
import { ensureSandboxCatalog } from '../src/domain/catalog/seed.ts';
import { DomainError } from '../src/domain/errors.ts';
import { luhnCheckDigit, makeIccid } from '../src/domain/esims/identifiers.ts';
import { importProfiles, parseProfileCsv, type ImportProfilesOptions } from '../src/domain/pools/import.ts';
import { checkLowStock, lowStockMetaKey, poolStock } from '../src/domain/pools/stock.ts';
import { ProfilePool } from '../src/supply/pool.ts';
import { SupplyError, type SuppliedProfile } from '../src/supply/types.ts';

const PG_URL = process.env.ESIMHUB_TEST_PG_URL || 'postgres://root@127.0.0.1:5432/test';
const SKIP_PG = process.env.ESIMHUB_SKIP_PG === '1';
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// ---------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------

interface TestStore {
  store: Store;
  db: Kysely<DB>;
  dispose(): Promise<void>;
}

async function openSqlite(): Promise<TestStore> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'esimhub-pools-'));
  const store = await connectStore({ databaseUrl: `sqlite:${dir}/p.sqlite`, dataDir: dir });
  await ensureSandboxCatalog(store, Date.now());
  return {
    store,
    db: store.db,
    async dispose() {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function openPostgres(): Promise<TestStore> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'esimhub-pools-pg-'));
  const schema = `pools_test_${crypto.randomBytes(6).toString('hex')}`;
  let store: Store;
  try {
    store = await connectStore({ databaseUrl: PG_URL, dataDir: dir, schema });
  } catch (error) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(
      `PostgreSQL at ${PG_URL.replace(/\/\/[^@/]*@/, '//***@')} is unreachable (${(error as Error).message}); ` +
        'start it or set ESIMHUB_SKIP_PG=1 to skip the PostgreSQL pool tests',
    );
  }
  await ensureSandboxCatalog(store, Date.now());
  return {
    store,
    db: store.db,
    async dispose() {
      try {
        await sql.raw(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).execute(store.db);
      } finally {
        await store.close();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** The first BASE package of the seeded catalogue whose location pool is given. */
async function basePackage(db: Kysely<DB>, skip = 0): Promise<PackageTable> {
  return db.selectFrom('packages').selectAll().where('type', '=', 'BASE').orderBy('package_code').offset(skip).limit(1).executeTakeFirstOrThrow();
}

/** A Luhn-valid 19-digit ICCID (Austrian-style 8943… prefix); `series` keeps tests apart. */
function iccid(series: number, n: number): string {
  return makeIccid('4310', `${String(series).padStart(3, '0')}${String(n).padStart(9, '0')}`);
}

/** The same ICCID with a wrong check digit (never "fixed" by the importer). */
function badLuhn(good: string): string {
  const payload = good.slice(0, -1);
  return payload + ((luhnCheckDigit(payload) + 1) % 10);
}

function goodRow(id: string, n = 1): string {
  const mid = `K2-${String(n).padStart(5, '0')}-ABCDE`;
  return `${id},LPA:1$rsp.example.com$${mid},,23203${String(n).padStart(10, '0')},43678${String(n).padStart(8, '0')},1234,12345678,internet`;
}

const HEADER = 'iccid,ac,confirmation_code,imsi,msisdn,pin,puk,apn';

async function count(db: Kysely<DB>, table: 'pool_profiles' | 'profile_batches' | 'events'): Promise<number> {
  const row = await db.selectFrom(table).select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

function options(packageCode: string, rowsText: string, extra: Partial<ImportProfilesOptions> = {}): ImportProfilesOptions {
  return { rowsText, pool: { packageCode }, batchName: 'test batch', lowStockThreshold: 0, nowMs: Date.now(), catalogHas: () => true, ...extra };
}

// ---------------------------------------------------------------------------------------------------------
// Import: validation and writing
// ---------------------------------------------------------------------------------------------------------

describe('profiles import (SQLite)', () => {
  let ts: TestStore;
  let pkg: PackageTable;
  let catalogHas: (code: string) => boolean;

  beforeAll(async () => {
    ts = await openSqlite();
    pkg = await basePackage(ts.db);
    const codes = new Set((await ts.db.selectFrom('packages').select('package_code').execute()).map((p) => p.package_code));
    catalogHas = (code) => codes.has(code);
  });

  afterAll(async () => {
    await ts?.dispose();
  });

  it('imports a good file in one batch, fields stored as given', async () => {
    const ids = [iccid(1, 1), iccid(1, 2), `${iccid(1, 3)}F`];
    const text = [HEADER, goodRow(ids[0], 1), goodRow(ids[1], 2), `${ids[2]},"LPA:1$rsp.example.com$K2-CC-1$$1",9876,,+4367812345,,,`].join('\r\n') + '\r\n';
    const result = await importProfiles(ts.db, options(pkg.package_code, text, { catalogHas, batchName: 'first', lowStockThreshold: 2 }));
    expect(result).toMatchObject({ ok: true, inserted: 3, pool: pkg.package_code, warnings: [], errors: [] });
    if (!result.ok) throw new Error('unreachable');

    const batch = await ts.db.selectFrom('profile_batches').selectAll().where('id', '=', result.batchId).executeTakeFirstOrThrow();
    expect(batch).toMatchObject({ name: 'first', pool: pkg.package_code, profile_count: 3, low_stock_threshold: 2 });
    const rows = await ts.db.selectFrom('pool_profiles').selectAll().where('batch_id', '=', result.batchId).orderBy('iccid').execute();
    expect(rows.map((r) => r.iccid)).toEqual([...ids].sort());
    for (const r of rows) {
      expect(r).toMatchObject({ pool: pkg.package_code, status: 'available', luhn_ok: 1, smdp_address: 'rsp.example.com', assigned_esim_id: null });
      expect(r.id).toMatch(/^ppf_/);
    }
    const first = rows.find((r) => r.iccid === ids[0])!;
    expect(first).toMatchObject({ matching_id: 'K2-00001-ABCDE', imsi: '232030000000001', msisdn: '4367800000001', pin: '1234', puk: '12345678', apn: 'internet', confirmation_code: null });
    const padded = rows.find((r) => r.iccid === ids[2])!;
    expect(padded).toMatchObject({ matching_id: 'K2-CC-1', confirmation_code: '9876', imsi: null, msisdn: '4367812345', pin: null, puk: null, apn: null });
  });

  it('accepts smdp_address + matching_id instead of an AC, header in any case and order', async () => {
    const text = ['Matching_ID,IMSI,ICCID,SMDP_Address,Notes', `ABC-123,001010000000001,${iccid(2, 1)},smdp.example.org,first`].join('\n');
    const result = await importProfiles(ts.db, options(pkg.package_code, text, { catalogHas }));
    expect(result).toMatchObject({ ok: true, inserted: 1 });
    // The unknown column is reported, not fatal.
    expect(result.warnings).toEqual([{ line: 1, reason: expect.stringMatching(/Notes.*ignored/) }]);
    const row = await ts.db.selectFrom('pool_profiles').selectAll().where('iccid', '=', iccid(2, 1)).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ smdp_address: 'smdp.example.org', matching_id: 'ABC-123', imsi: '001010000000001' });
  });

  it('reports every bad row with its line and writes nothing', async () => {
    const profilesBefore = await count(ts.db, 'pool_profiles');
    const batchesBefore = await count(ts.db, 'profile_batches');
    const dupInFile = iccid(3, 1);
    const lines = [
      HEADER, // 1
      goodRow(dupInFile, 1), // 2: good
      goodRow('12345', 2), // 3: ICCID shape
      `${iccid(3, 3)},LPA:2$rsp.example.com$ABC,,,,,,`, // 4: unparsable AC
      `${iccid(3, 4)},LPA:1$rsp.example.com$abc-def,,,,,,`, // 5: matching id lower case
      `${iccid(3, 5)},LPA:1$rsp.example.com$ABC,,12345,,,,`, // 6: IMSI too short
      `${iccid(3, 6)},LPA:1$rsp.example.com$ABC,,1234567890123456,,,,`, // 7: IMSI too long
      `${iccid(3, 7)},LPA:1$rsp.example.com$ABC,,,,123,,`, // 8: PIN
      `${iccid(3, 8)},LPA:1$rsp.example.com$ABC,,,,,1234567,`, // 9: PUK
      goodRow(dupInFile, 10), // 10: duplicate within the file
      goodRow(iccid(1, 1), 11), // 11: already in the database
      goodRow(badLuhn(iccid(3, 12)), 12), // 12: Luhn failure: a warning only
      `${iccid(3, 13)},LPA:1$rsp.example.com$ABC,,,,,,"bad`, // 13–14: a quoted APN with a line break
      `apn"`,
      `${iccid(3, 15)},LPA:1$rsp.example.com$ABC`, // 15: too few fields
      `${iccid(3, 16)},,,,,,,`, // 16: neither AC nor SM-DP+ address + matching id
      `${iccid(3, 17)}F,LPA:1$rsp.example.com$ABC$$1,,,,,,`, // 17: CC required but none given
      `${iccid(1, 3)},LPA:1$rsp.example.com$ABC,,,,,,`, // 18: in the database with the F pad, here without
    ];
    const result = await importProfiles(ts.db, options(pkg.package_code, lines.join('\n'), { catalogHas }));
    expect(result.ok).toBe(false);
    expect(result.inserted).toBe(0);
    const byLine = new Map<number, string[]>();
    for (const e of result.errors) byLine.set(e.line, [...(byLine.get(e.line) ?? []), e.reason]);
    expect([...byLine.keys()]).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 16, 17, 18]);
    const expectReason = (line: number, pattern: RegExp) => expect(byLine.get(line)!.join(' | ')).toMatch(pattern);
    expectReason(3, /ICCID "12345" is not 19 or 20 digits/);
    expectReason(4, /activation code .* cannot be parsed/);
    expectReason(5, /matching id "abc-def" is not .*0-9, A-Z/);
    expectReason(6, /IMSI "12345" is not 6–15 digits/);
    expectReason(7, /IMSI "1234567890123456" is not 6–15 digits/);
    expectReason(8, /PIN "123" is not 4–8 digits/);
    expectReason(9, /PUK "1234567" is not 8 digits/);
    expectReason(10, /duplicate ICCID .* already on line 2/);
    expectReason(11, /already in the database/);
    expectReason(13, /APN "bad\\napn" is not a valid/); // JSON-quoted: the line break shows as \n
    expectReason(15, /expected 8 fields .* found 2/);
    expectReason(16, /no activation code and no smdp_address \+ matching_id/);
    expectReason(17, /requires a confirmation code/);
    expectReason(18, /already in the database/);
    expect(result.warnings).toEqual([{ line: 12, reason: expect.stringMatching(/Luhn/) }]);

    expect(await count(ts.db, 'pool_profiles')).toBe(profilesBefore);
    expect(await count(ts.db, 'profile_batches')).toBe(batchesBefore);
  });

  it('accepts a Luhn failure with luhn_ok=0 and a warning, ICCID stored unchanged', async () => {
    const bad = badLuhn(iccid(4, 1));
    const text = [HEADER, goodRow(iccid(4, 2), 2), goodRow(bad, 3)].join('\n');
    const result = await importProfiles(ts.db, options(pkg.package_code, text, { catalogHas }));
    expect(result).toMatchObject({ ok: true, inserted: 2, errors: [] });
    expect(result.warnings).toEqual([{ line: 3, reason: expect.stringMatching(new RegExp(`ICCID ${bad} fails the Luhn check`)) }]);
    const row = await ts.db.selectFrom('pool_profiles').select(['iccid', 'luhn_ok']).where('iccid', '=', bad).executeTakeFirstOrThrow();
    expect(row).toEqual({ iccid: bad, luhn_ok: 0 });
    const good = await ts.db.selectFrom('pool_profiles').select('luhn_ok').where('iccid', '=', iccid(4, 2)).executeTakeFirstOrThrow();
    expect(good.luhn_ok).toBe(1);
  });

  it('refuses a file whose ICCIDs are already in the database (also with the F pad)', async () => {
    const before = await count(ts.db, 'pool_profiles');
    const text = [HEADER, goodRow(iccid(4, 2), 1), goodRow(`${iccid(1, 2)}F`, 2), goodRow(iccid(4, 9), 3)].join('\n');
    const result = await importProfiles(ts.db, options(pkg.package_code, text, { catalogHas }));
    expect(result.ok).toBe(false);
    expect(result.errors).toEqual([
      { line: 2, reason: expect.stringMatching(/already in the database/) },
      { line: 3, reason: expect.stringMatching(/already in the database/) },
    ]);
    expect(await count(ts.db, 'pool_profiles')).toBe(before);
  });

  it('needs exactly one of package and location; unknown package or location is an error', async () => {
    const text = [HEADER, goodRow(iccid(5, 1), 1)].join('\n');
    const base = options(pkg.package_code, text, { catalogHas });
    await expect(importProfiles(ts.db, { ...base, pool: {} })).rejects.toThrow(/exactly one/);
    await expect(importProfiles(ts.db, { ...base, pool: { packageCode: pkg.package_code, locationCode: 'FR' } })).rejects.toThrow(/exactly one/);
    const unknown = await importProfiles(ts.db, { ...base, pool: { packageCode: 'NOPE999' } }).catch((e) => e);
    expect(unknown).toBeInstanceOf(DomainError);
    expect(unknown).toMatchObject({ code: 'package_not_found', message: expect.stringMatching(/NOPE999/) });
    await expect(importProfiles(ts.db, { ...base, pool: { locationCode: 'QQ' } })).rejects.toThrow(/location QQ does not exist/);
    expect(await ts.db.selectFrom('pool_profiles').select('id').where('iccid', '=', iccid(5, 1)).executeTakeFirst()).toBeUndefined();

    const loc = await importProfiles(ts.db, { ...base, pool: { locationCode: pkg.location_code.toLowerCase() } });
    expect(loc).toMatchObject({ ok: true, inserted: 1, pool: `loc:${pkg.location_code}` });
  });

  it('reports header problems and empty files', () => {
    expect(parseProfileCsv('').errors).toEqual([{ line: 1, reason: 'the file has no header row' }]);
    expect(parseProfileCsv('ac,imsi\nLPA:1$a.b$C,001010000000001').errors.map((e) => e.reason)).toEqual(['the header has no iccid column']);
    expect(parseProfileCsv('imsi,pin\n001010000000001,1234').errors.map((e) => e.reason)).toEqual(['the header has no iccid column', expect.stringMatching(/needs an ac/)]);
    expect(parseProfileCsv('iccid,smdp_address\n8943100000000000000,a.b').errors.map((e) => e.reason)).toEqual([expect.stringMatching(/needs an ac .*or smdp_address and matching_id/)]);
    expect(parseProfileCsv('iccid,ac,activation_code\n').errors).toEqual([{ line: 1, reason: 'column ac appears twice (column 3)' }]);
    expect(parseProfileCsv(`${HEADER}\n`).errors).toEqual([{ line: 1, reason: 'the file has a header but no profile rows' }]);
    expect(parseProfileCsv(`${HEADER}\n"${iccid(6, 1)}`).errors).toEqual([{ line: 2, reason: expect.stringMatching(/unterminated quoted field/) }]);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Hand-out under concurrency, stock and low-stock alerts (SQLite and PostgreSQL)
// ---------------------------------------------------------------------------------------------------------

const backends: Array<{ name: 'sqlite' | 'postgres'; open: () => Promise<TestStore>; skip: boolean }> = [
  { name: 'sqlite', open: openSqlite, skip: false },
  { name: 'postgres', open: openPostgres, skip: SKIP_PG },
];

for (const backend of backends) {
  describe.skipIf(backend.skip)(`profile pool on ${backend.name}`, () => {
    let ts: TestStore;
    let pkg: PackageTable;
    const imported: string[] = [];

    beforeAll(async () => {
      ts = await backend.open();
      pkg = await basePackage(ts.db, 3);
    });

    afterAll(async () => {
      await ts?.dispose();
    });

    /** Each take in its own transaction; like the allocator, the stock check runs once the take has committed. */
    const takeConcurrently = (n: number, tag: string) =>
      Promise.allSettled(
        Array.from({ length: n }, async (_, i) => {
          const nowMs = Date.now();
          const profile = await ts.db
            .transaction()
            .execute((trx): Promise<SuppliedProfile> => new ProfilePool(backend.name).take(trx, { partnerId: 'ptn_test', environment: 'live', pkg, esimId: `esm_${tag}_${i}`, nowMs }));
          await checkLowStock(ts.db, pkg.package_code, nowMs);
          return profile;
        }),
      );

    const lowStockEvents = () => ts.db.selectFrom('events').selectAll().where('type', '=', 'pool.low_stock').orderBy('seq').execute();

    it('30 concurrent takes from a pool of 10: exactly 10 distinct profiles, 20 SupplyErrors, one low-stock alert', async () => {
      for (let n = 1; n <= 10; n++) imported.push(iccid(7, n));
      const text = [HEADER, ...imported.map((id, i) => goodRow(id, i + 1))].join('\n');
      const result = await importProfiles(ts.db, options(pkg.package_code, text, { lowStockThreshold: 3 }));
      expect(result).toMatchObject({ ok: true, inserted: 10 });
      expect(await poolStock(ts.db)).toEqual([{ pool: pkg.package_code, available: 10, assigned: 0, total: 10, low_stock_threshold: 3, low: false }]);

      const results = await takeConcurrently(30, 'a');
      const taken = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
      expect(taken).toHaveLength(10);
      expect(failed).toHaveLength(20);
      for (const error of failed) expect(error).toBeInstanceOf(SupplyError);
      expect(new Set(taken.map((p) => p.iccid))).toEqual(new Set(imported));
      expect(new Set(taken.map((p) => p.poolProfileId)).size).toBe(10);

      const rows = await ts.db.selectFrom('pool_profiles').select(['status', 'assigned_esim_id']).where('pool', '=', pkg.package_code).execute();
      expect(rows.every((r) => r.status === 'assigned')).toBe(true);
      expect(new Set(rows.map((r) => r.assigned_esim_id)).size).toBe(10);

      expect(await poolStock(ts.db)).toEqual([{ pool: pkg.package_code, available: 0, assigned: 10, total: 10, low_stock_threshold: 3, low: true }]);

      const events = await lowStockEvents();
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ partner_id: 'operator', type: 'pool.low_stock', subject: pkg.package_code });
      const payload = JSON.parse(events[0].payload);
      expect(payload).toMatchObject({ pool: pkg.package_code, threshold: 3 });
      expect(payload.available).toBeLessThanOrEqual(3);
      expect(await ts.db.selectFrom('meta').select('key').where('key', '=', lowStockMetaKey(pkg.package_code)).executeTakeFirst()).toBeDefined();
    });

    it('does not alert again while low; alerts again after a restock and a new crossing', async () => {
      expect((await checkLowStock(ts.db, pkg.package_code, Date.now())).alerted).toBe(false);
      expect(await lowStockEvents()).toHaveLength(1);

      // Restock 5 (threshold now max(3, 1) = 3): above the threshold, so the alert state is cleared.
      const more = Array.from({ length: 5 }, (_, i) => iccid(8, i + 1));
      const result = await importProfiles(ts.db, options(pkg.package_code, [HEADER, ...more.map((id, i) => goodRow(id, i + 1))].join('\n'), { lowStockThreshold: 1 }));
      expect(result).toMatchObject({ ok: true, inserted: 5 });
      expect(await ts.db.selectFrom('meta').select('key').where('key', '=', lowStockMetaKey(pkg.package_code)).executeTakeFirst()).toBeUndefined();
      expect(await poolStock(ts.db)).toEqual([{ pool: pkg.package_code, available: 5, assigned: 10, total: 15, low_stock_threshold: 3, low: false }]);

      // 5 → 4: still above; 4 → 3: crossing, one new alert; 3 → 2: no further alert.
      const results = await takeConcurrently(3, 'b');
      expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
      const events = await lowStockEvents();
      expect(events).toHaveLength(2);
      expect(JSON.parse(events[1].payload)).toMatchObject({ pool: pkg.package_code, threshold: 3 });
      const check = await checkLowStock(ts.db, pkg.package_code, Date.now());
      expect(check).toMatchObject({ available: 2, threshold: 3, low: true, alerted: false });
      // A pool without batches is not watched.
      expect(await checkLowStock(ts.db, 'loc:ZZ', Date.now())).toMatchObject({ threshold: null, low: false, alerted: false });
    });
  });
}

// ---------------------------------------------------------------------------------------------------------
// CLI: esimhub profiles import|stock as a child process
// ---------------------------------------------------------------------------------------------------------

// Runs once `registerProfileCommands(program)` is wired into src/cli/main.ts.
const cliWired = fs.readFileSync(path.join(ROOT, 'src/cli/main.ts'), 'utf8').includes('registerProfileCommands');

describe.skipIf(!cliWired)('esimhub profiles CLI', () => {
  let dir: string;
  let packageCode: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'esimhub-pools-cli-'));
    // The same store the CLI opens for DATA_DIR (esimhub.sqlite), created here to learn a package code.
    const store = await openTestStore(dir);
    await ensureSandboxCatalog(store, Date.now());
    packageCode = (await basePackage(store.db)).package_code;
    await store.close();
  });

  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const cli = (...args: string[]) => {
    const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dir, DATABASE_URL: '', LOG_LEVEL: 'warn', ...storeEnv(dir) };
    delete env.MASTER_KEY;
    return spawnSync(process.execPath, [path.join(ROOT, 'bin/esimhub.js'), ...args], { cwd: ROOT, env, encoding: 'utf8', timeout: 60_000 });
  };

  it('imports a good file, refuses a bad one with line numbers, shows stock', () => {
    const good = path.join(dir, 'good.csv');
    const luhnBad = badLuhn(iccid(9, 3));
    fs.writeFileSync(good, [HEADER, goodRow(iccid(9, 1), 1), goodRow(iccid(9, 2), 2), goodRow(luhnBad, 3)].join('\n') + '\n');
    const ok = cli('profiles', 'import', good, '--package', packageCode, '--low-stock', '1');
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(new RegExp(`imported 3 profile\\(s\\) into pool ${packageCode}`));
    expect(ok.stdout).toMatch(new RegExp(`warning: line 4: ICCID ${luhnBad} fails the Luhn check`));

    const bad = path.join(dir, 'bad.csv');
    fs.writeFileSync(bad, [HEADER, goodRow(iccid(9, 10), 1), goodRow(iccid(9, 1), 2), goodRow('8943', 3), `${iccid(9, 11)},LPA:1$rsp.example.com$ABC,,,,12,,`].join('\n'));
    const refused = cli('profiles', 'import', bad, '--package', packageCode);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/error: line 3: ICCID \d+ is already in the database/);
    expect(refused.stderr).toMatch(/error: line 4: ICCID "8943" is not 19 or 20 digits/);
    expect(refused.stderr).toMatch(/error: line 5: PIN "12" is not 4–8 digits/);
    expect(refused.stderr).toMatch(/esimhub: error: 3 problem\(s\) on 3 line\(s\); nothing was imported/);
    expect(refused.stderr).not.toMatch(/line 2:/);

    const missing = cli('profiles', 'import', good);
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toMatch(/exactly one of --package CODE, --operator MCCMNC or --location CC/);

    // An operator pool, by MCC+MNC (Orange France); an MCC+MNC the catalogue does not know is refused.
    const byOperator = path.join(dir, 'operator.csv');
    fs.writeFileSync(byOperator, [HEADER, goodRow(iccid(9, 20), 1)].join('\n'));
    const opOk = cli('profiles', 'import', byOperator, '--operator', '20801');
    expect(opOk.stderr).toBe('');
    expect(opOk.stdout).toMatch(/^imported 1 profile\(s\) into pool op:20801 \(batch pbt_/);
    const opUnknown = cli('profiles', 'import', byOperator, '--operator', '99999');
    expect(opUnknown.status).not.toBe(0);
    expect(opUnknown.stderr).toMatch(/operator 99999 is not in the operators table/);

    const stock = cli('profiles', 'stock', '--json');
    expect(stock.status).toBe(0);
    expect(JSON.parse(stock.stdout)).toEqual([
      { pool: packageCode, available: 3, assigned: 0, total: 3, low_stock_threshold: 1, low: false },
      { pool: 'op:20801', available: 1, assigned: 0, total: 1, low_stock_threshold: 0, low: false },
    ]);
    const stockTable = cli('profiles', 'stock');
    expect(stockTable.stdout).toMatch(new RegExp(`^pool\\s+available\\s+assigned\\s+total\\s+threshold\\s+low\\n${packageCode}\\s+3\\s+0\\s+3\\s+1`));
  });
});
