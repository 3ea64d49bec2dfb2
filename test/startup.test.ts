import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { killHard, runCli, spawnServer, type ServerProcess } from './helpers/process.ts';
import { onPostgres, openTestStore, schemaFor } from './helpers/store.ts';

const run = promisify(execFile);

describe('first start', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'esimhub-first-'));
  let server: ServerProcess | null = null;
  afterAll(async () => {
    if (server) await killHard(server);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('on an empty DATA_DIR prints working credentials; secrets only encrypted at rest, master.key 0600', async () => {
    // SEED_DEMO and MASTER_KEY as an operator leaves them: unset (the demo partner is on by default).
    server = await spawnServer({ DATA_DIR: dataDir, SEED_DEMO: '', MASTER_KEY: '' });
    const deadline = Date.now() + 10_000;
    while (!/--data '\{"locationCode":"US"\}'\n/.test(server.stdout()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const banner = server.stdout();
    const accessCode = /^ {4}AccessCode: ([0-9a-f]{32})$/m.exec(banner)?.[1];
    const secretKey = /^ {4}SecretKey: {2}([0-9a-f]{32})$/m.exec(banner)?.[1];
    const apiBase = /^ {2}eSIM Access-compatible API: +(http:\/\/\S+\/api\/v1\/open)$/m.exec(banner)?.[1];
    expect(accessCode, banner).toBeDefined();
    expect(secretKey, banner).toBeDefined();
    expect(apiBase, banner).toMatch(/^http:\/\/localhost:\d+\/api\/v1\/open$/);
    expect(banner).toMatch(/Demo sandbox partner ptn_\S+ \(created now, balance \$1,000\.00\):/);

    // The printed base URL and AccessCode work as printed.
    const res = await fetch(`${apiBase}/balance/query`, { method: 'POST', headers: { 'RT-AccessCode': accessCode! }, body: '' });
    const json = await res.json();
    expect(json).toMatchObject({ success: true, errorCode: '0', obj: { balance: 10_000_000 } });
    // So does the ready-to-paste curl line.
    const curl = /^ {4}(curl -s -X POST \S+\/balance\/query -H 'RT-AccessCode: [0-9a-f]{32}' --data '')$/m.exec(banner)?.[1];
    expect(curl, banner).toBeDefined();
    const pasted = await run('sh', ['-c', curl!]);
    expect(JSON.parse(pasted.stdout)).toMatchObject({ success: true, obj: { balance: 10_000_000 } });
    // And a signed request with the printed SecretKey.
    const timestamp = String(Date.now());
    const requestId = crypto.randomUUID().replace(/-/g, '');
    const signature = crypto.createHmac('sha256', secretKey!).update(timestamp + requestId + accessCode! + '{}').digest('hex');
    const signed = await fetch(`${apiBase}/balance/query`, {
      method: 'POST',
      headers: { 'RT-AccessCode': accessCode!, 'RT-Timestamp': timestamp, 'RT-RequestID': requestId, 'RT-Signature': signature, 'content-type': 'application/json' },
      body: '{}',
    });
    expect((await signed.json()).obj.balance).toBe(10_000_000);

    const keyFile = path.join(dataDir, 'master.key');
    expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(keyFile, 'utf8').trim()).toMatch(/^[0-9a-f]{64}$/);

    // No table holds the AccessCode or the SecretKey in plain text; the key row holds the AccessCode's SHA-256.
    const store = await openTestStore(dataDir);
    try {
      const schema = onPostgres ? schemaFor(dataDir) : undefined;
      const tables = (await store.db.introspection.getTables()).filter((t) => !t.isView && (schema === undefined || t.schema === schema));
      expect(tables.map((t) => t.name)).toContain('api_keys');
      let dump = '';
      for (const table of tables) {
        const rows = await sql<Record<string, unknown>>`select * from ${sql.table(schema ? `${schema}.${table.name}` : table.name)}`.execute(store.db);
        dump += JSON.stringify(rows.rows, (_k, v) => (typeof v === 'bigint' ? String(v) : Buffer.isBuffer(v) ? v.toString('latin1') : v));
      }
      expect(dump.length).toBeGreaterThan(100_000);
      expect(dump.toLowerCase()).not.toContain(accessCode!);
      expect(dump.toLowerCase()).not.toContain(secretKey!);
      const hash = crypto.createHash('sha256').update(accessCode!).digest('hex');
      expect(dump).toContain(hash);
    } finally {
      await store.close();
    }
    if (!onPostgres) {
      // The embedded store's files as bytes, write-ahead log included.
      for (const file of fs.readdirSync(dataDir).filter((f) => f.startsWith('esimhub.sqlite'))) {
        const bytes = fs.readFileSync(path.join(dataDir, file)).toString('latin1');
        expect(bytes.includes(accessCode!), file).toBe(false);
        expect(bytes.includes(secretKey!), file).toBe(false);
      }
    }
  });
});

describe('configuration validation', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'esimhub-badcfg-'));
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('serve with several bad values: one line per bad variable, a non-zero exit, nothing created', async () => {
    const bad = {
      PORT: 'eighty',
      LOG_LEVEL: 'loud',
      SEED_DEMO: 'maybe',
      KEY_ROLL_GRACE_HOURS: '-1',
      RATE_LIMIT_PER_SECOND: '0',
      PUBLIC_BASE_URL: 'ftp://example.com',
      MASTER_KEY: 'short',
      DATABASE_URL: 'mysql://db',
      SANDBOX_SMDP_HOST: 'smdp$host',
      SHUTDOWN_TIMEOUT_MS: 'soon',
      WEBHOOK_RETRY_SCHEDULE_MS: '5s,30s',
    };
    const result = await runCli(['serve'], { DATA_DIR: dataDir, ...bad });
    expect(result.code).not.toBe(0);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trim().split('\n');
    expect(lines[0]).toBe('esimhub: invalid configuration:');
    const problems = lines.slice(1);
    expect(problems).toEqual(
      expect.arrayContaining([
        '  - PORT="eighty" is not a whole number (expected 0..65535)',
        '  - LOG_LEVEL="loud" must be one of fatal, error, warn, info, debug, trace, silent',
        '  - SEED_DEMO="maybe" is not a boolean (use true or false)',
        '  - KEY_ROLL_GRACE_HOURS="-1" is not a whole number (expected 0..2160)',
        '  - RATE_LIMIT_PER_SECOND=0 is out of range (expected 1..100000)',
        '  - PUBLIC_BASE_URL="ftp://example.com" is not an http(s) URL',
        '  - MASTER_KEY must be 32 bytes given as 64 hex characters or base64',
        '  - DATABASE_URL must start with postgres:// or sqlite: (got "mysql://db")',
        '  - SANDBOX_SMDP_HOST="smdp$host" is not a host name (e.g. smdp.example.com)',
        '  - SHUTDOWN_TIMEOUT_MS="soon" is not a whole number (expected 1..3600000)',
        '  - WEBHOOK_RETRY_SCHEDULE_MS="5s,30s" must be comma-separated milliseconds, e.g. 5000,30000,120000',
      ]),
    );
    // Exactly one line per bad variable, each naming it.
    expect(problems).toHaveLength(Object.keys(bad).length);
    for (const name of Object.keys(bad)) expect(problems.filter((p) => p.startsWith(`  - ${name}`)), name).toHaveLength(1);
    // Refused before anything was written: no database, no master key.
    expect(fs.readdirSync(dataDir)).toEqual([]);
  });
});
