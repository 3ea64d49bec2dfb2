import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { onPostgres, openTestStore, schemaFor } from './helpers/store.ts';
import { pendingMigrations, type Store } from '../src/store/connect.ts';

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
