import type { Logger } from 'pino';
import { PostgresAdapter, sql, type Kysely } from 'kysely';
import type { DB } from '../store/schema.ts';
import { runDue } from '../domain/esims/lifecycle.ts';
import { trafficTick } from '../domain/sandbox/traffic.ts';

/** Advisory lock keys (two int4s): the scheduler's name and the schema, so schemas sharing a database do not block each other. */
const LOCK_SQL = sql<{ locked: boolean }>`select pg_try_advisory_lock(hashtext('esimhub.scheduler'), hashtext(current_schema())) as locked`;
const UNLOCK_SQL = sql`select pg_advisory_unlock(hashtext('esimhub.scheduler'), hashtext(current_schema()))`;

/**
 * Fires what time makes due (download deadlines, one-day-left warnings, expiries) on every partner's clock,
 * and drives sandbox traffic mode. Each transition re-checks its state in its own transaction, so two
 * schedulers running at once do no harm. On PostgreSQL each scan also runs under a session advisory lock
 * (pg_try_advisory_lock on a connection held for the scan), so with several worker processes each scan
 * fires once: the others skip that round. A process that dies loses its connection and with it the lock.
 */
export class Scheduler {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly db: Kysely<DB>,
    private readonly log: Logger,
    private readonly now: () => number,
    private readonly onTransitions: () => void,
    private readonly intervalMs = 1000,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (!this.running) this.running = this.tick().then(() => undefined).finally(() => (this.running = null));
    }, this.intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  async tick(): Promise<number> {
    if (!(this.db.getExecutor().adapter instanceof PostgresAdapter)) return this.scan();
    try {
      return await this.db.connection().execute(async (conn) => {
        const { rows } = await LOCK_SQL.execute(conn);
        if (!rows[0]?.locked) return 0;
        try {
          return await this.scan();
        } finally {
          await UNLOCK_SQL.execute(conn);
        }
      });
    } catch (error) {
      this.log.error({ err: error }, 'scheduler tick failed');
      return 0;
    }
  }

  private async scan(): Promise<number> {
    try {
      const transitions = (await runDue(this.db, this.now())) + (await trafficTick(this.db, this.now()));
      if (transitions > 0) this.onTransitions();
      return transitions;
    } catch (error) {
      this.log.error({ err: error }, 'scheduler tick failed');
      return 0;
    }
  }
}
