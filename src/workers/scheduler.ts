import type { Logger } from 'pino';
import type { Kysely } from 'kysely';
import type { DB } from '../store/schema.ts';
import { runDue } from '../domain/esims/lifecycle.ts';
import { trafficTick } from '../domain/sandbox/traffic.ts';

/**
 * Fires what time makes due (download deadlines, one-day-left warnings, expiries) on every partner's clock,
 * and drives sandbox traffic mode. Each transition re-checks its state in its own transaction, so two
 * schedulers running at once do no harm (PostgreSQL deployments also take an advisory lock, see issue 5).
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
