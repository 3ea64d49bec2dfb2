import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { onPostgres, openTestStore, PG_URL, schemaFor } from './helpers/store.ts';
import { connectStore, pendingMigrations, type Store } from '../src/store/connect.ts';

/**
 * Kysely's migrator reads the catalog of every schema in the database. Test files (and tenants) drop their
 * schemas whenever they finish, so a migration starting at that moment must not fail on a schema or relation
 * that vanished between two catalog lookups (seen in CI as `relation "t_….monthly_spend" does not exist`).
 */
describe.skipIf(!onPostgres)('migrations on a shared PostgreSQL database', () => {
  it('migrates fresh schemas while other schemas are being dropped', async () => {
    const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'esimhub-migrate-'));
    const victims = await Promise.all(Array.from({ length: 16 }, async () => {
      const dir = tempDir();
      return { store: await openTestStore(dir), schema: schemaFor(dir) };
    }));
    let dropping = true;
    const drops = (async () => {
      for (const { store, schema } of victims) {
        await store.db.schema.dropSchema(schema).ifExists().cascade().execute();
        await store.close();
      }
      dropping = false;
    })();
    const fresh: Store[] = [];
    while (dropping) fresh.push(...(await Promise.all(Array.from({ length: 3 }, () => openTestStore(tempDir())))));
    await drops;
    expect(fresh.length).toBeGreaterThan(0);
    for (const store of fresh) {
      expect(await pendingMigrations(store)).toEqual([]);
      await store.close();
    }
  }, 120_000);
});

describe.skipIf(!onPostgres)('prepared statements on PostgreSQL', () => {
  it('prepares each parameterised query once per connection, and recovers when another process changes a table', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'esimhub-prepared-'));
    const store = await connectStore({ databaseUrl: PG_URL, dataDir: dir, schema: schemaFor(dir), poolSize: 1 });
    try {
      const byId = (id: string) => store.db.selectFrom('partners').selectAll().where('id', '=', id).execute();
      await byId('p1');
      await byId('p2');
      const prepared = await sql<{ n: number }>`select count(*)::int as n from pg_prepared_statements where name like 'esimhub_%' and statement like '%from "partners"%'`.execute(store.db);
      expect(prepared.rows[0]!.n).toBe(1);
      // A column added by someone else: the named statement's plan no longer fits `select *`.
      await sql`alter table partners add column extra_note text`.execute(store.db);
      const attempts = await Promise.allSettled([byId('p3')]);
      if (attempts[0]!.status === 'rejected') expect(String(attempts[0]!.reason)).toMatch(/cached plan/);
      expect(await byId('p4')).toEqual([]);
      expect(await byId('p5')).toEqual([]);
    } finally {
      await store.close();
    }
  });
});
