import type { Kysely } from 'kysely';
import type { DB } from '../../store/schema.ts';
import { newId } from '../../lib/ids.ts';

const KEY = 'catalog_generation';

/**
 * Marks the catalogue or its prices as changed (packages, tiers, exchange rates, price lists). Every process
 * keeps them in memory; their watchers see the new generation within a second and reload.
 */
export async function bumpCatalogGeneration(db: Kysely<DB>): Promise<void> {
  const value = newId('gen');
  await db.insertInto('meta').values({ key: KEY, value }).onConflict((oc) => oc.column('key').doUpdateSet({ value })).execute();
}

async function readGeneration(db: Kysely<DB>): Promise<string | null> {
  const row = await db.selectFrom('meta').select('value').where('key', '=', KEY).executeTakeFirst();
  return row?.value ?? null;
}

/**
 * Polls the generation (one indexed read a second) and runs `onChange` when another process (or the CLI)
 * changed the catalogue. Its own changes trigger one redundant reload, which is harmless.
 */
export class CatalogWatcher {
  private timer: NodeJS.Timeout | null = null;
  private seen: string | null | undefined;
  private running = false;

  constructor(
    private readonly db: Kysely<DB>,
    private readonly onChange: () => Promise<void>,
    private readonly everyMs = 1000,
    private readonly onError: (error: unknown) => void = () => undefined,
  ) {}

  async start(): Promise<void> {
    this.seen = await readGeneration(this.db);
    this.timer = setInterval(() => void this.check(), this.everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One look: reloads when the generation moved. */
  async check(): Promise<boolean> {
    if (this.running) return false;
    this.running = true;
    try {
      const now = await readGeneration(this.db);
      if (now === this.seen) return false;
      this.seen = now;
      await this.onChange();
      return true;
    } catch (error) {
      this.onError(error);
      return false;
    } finally {
      this.running = false;
    }
  }
}
