import os from 'node:os';
import type { Logger } from 'pino';
import type { Kysely } from 'kysely';
import type { DB } from '../store/schema.ts';
import type { StoreDialect } from '../store/connect.ts';
import { randomBase58 } from '../lib/ids.ts';
import { claimJobs, completeJob, failJob, isOrphanedClaim, type ClaimedJob } from './queue.ts';

export type JobHandler = (job: ClaimedJob, payload: any) => Promise<void>;
/** Called when a job has used all its attempts. */
export type JobGiveUp = (job: ClaimedJob, payload: any, error: string) => Promise<void>;
/**
 * Optional: runs many claimed jobs of one kind together (one transaction for all, which under load saves a
 * commit per job) and marks the ones it finished done in that same transaction. Returns their ids; the
 * others go through `run` one by one.
 */
export type JobBatchHandler = (jobs: Array<{ job: ClaimedJob; payload: any }>) => Promise<Set<number>>;

export interface WorkerOptions {
  db: Kysely<DB>;
  dialect: StoreDialect;
  log: Logger;
  handlers: Record<string, { run: JobHandler; giveUp?: JobGiveUp; runBatch?: JobBatchHandler }>;
  /** Jobs claimed per round. */
  batchSize?: number;
  /** How long a claim is held before another worker may take the job over. */
  leaseMs?: number;
  /** Sleep between empty polls; a wake() cuts it short. */
  idlePollMs?: number;
  /** Gathering time before a claim, see run(). */
  gatherMs?: number;
  now?: () => number;
}

/**
 * Claims due jobs and runs them. Crash-safe by construction: a job is only marked done after its handler's
 * transaction committed, and a claim is a lease that expires if this process dies.
 */
export class JobWorker {
  readonly id = `${os.hostname()}:${process.pid}:${randomBase58(6)}`;
  private running = false;
  private wakeUp: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private inFlight = 0;

  constructor(private readonly options: WorkerOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.releaseOrphanedClaims().then(() => this.run());
  }

  /**
   * On the embedded store one process owns the workers, so claims left by a previous process (killed
   * mid-job) are orphans and can be taken back at once. On PostgreSQL other live workers may hold claims:
   * only claims of dead processes on this host are taken back; others' leases simply run out.
   */
  private async releaseOrphanedClaims(): Promise<void> {
    const { db, dialect } = this.options;
    try {
      let orphans = db.updateTable('jobs').set({ locked_by: null, locked_until: null }).where('status', '=', 'queued').where('locked_by', 'is not', null);
      if (dialect !== 'sqlite') {
        const host = os.hostname();
        const holders = await db.selectFrom('jobs').select('locked_by').distinct().where('status', '=', 'queued').where('locked_by', 'like', `${host}:%`).execute();
        const dead = holders.map((h) => h.locked_by!).filter((by) => isOrphanedClaim(by, [this.id], host));
        if (!dead.length) return;
        orphans = orphans.where('locked_by', 'in', dead);
      }
      await orphans.execute();
    } catch (error) {
      this.options.log.error({ err: error }, 'could not release orphaned job claims');
    }
  }

  /** Hands back this worker's claims on jobs not finished (graceful shutdown): another worker takes them at once. */
  private async releaseOwnClaims(): Promise<void> {
    try {
      await this.options.db.updateTable('jobs').set({ locked_by: null, locked_until: null }).where('locked_by', '=', this.id).where('status', '=', 'queued').execute();
    } catch (error) {
      this.options.log.error({ err: error }, 'could not release job claims');
    }
  }

  wake(): void {
    this.wakeUp?.();
  }

  /** Stops claiming, lets the jobs in hand finish, and hands back any claim still held. */
  async stop(): Promise<void> {
    const wasRunning = this.running;
    this.running = false;
    this.wake();
    await this.loop;
    if (wasRunning) await this.releaseOwnClaims();
  }

  /** Runs until no job is due (tests and CLI). */
  async drain(maxRounds = 1000): Promise<number> {
    let total = 0;
    for (let round = 0; round < maxRounds; round++) {
      const n = await this.tick();
      total += n;
      if (n === 0) break;
    }
    return total;
  }

  private async run(): Promise<void> {
    const idlePollMs = this.options.idlePollMs ?? 100;
    // After a wake-up (or a round that found only a few jobs) wait this long, so jobs arriving together are
    // claimed together and a batch handler can run them in one transaction.
    const gatherMs = this.options.gatherMs ?? 5;
    const batchSize = this.options.batchSize ?? 16;
    while (this.running) {
      let processed = 0;
      try {
        processed = await this.tick();
      } catch (error) {
        this.options.log.error({ err: error }, 'job worker round failed');
      }
      if (!this.running) break;
      if (processed === 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, idlePollMs);
          this.wakeUp = () => {
            clearTimeout(timer);
            setTimeout(resolve, gatherMs);
          };
        });
        this.wakeUp = null;
      } else if (processed < batchSize && gatherMs > 0) {
        await new Promise((resolve) => setTimeout(resolve, gatherMs));
      }
    }
  }

  async tick(): Promise<number> {
    const { db, dialect, handlers } = this.options;
    const now = this.options.now ?? Date.now;
    const jobs = await claimJobs(db, dialect, this.id, Object.keys(handlers), this.options.batchSize ?? 16, this.options.leaseMs ?? 60_000, now());
    if (!jobs.length) return 0;
    this.inFlight += jobs.length;
    let rest = jobs;
    for (const [kind, handler] of Object.entries(handlers)) {
      const ofKind = rest.filter((j) => j.kind === kind);
      if (!handler.runBatch || ofKind.length < 2) continue;
      let done = new Set<number>();
      try {
        done = await handler.runBatch(ofKind.map((job) => ({ job, payload: JSON.parse(job.payload) })));
      } catch (error) {
        this.options.log.warn({ err: error, kind }, 'batch run failed; running the jobs one by one');
      }
      rest = rest.filter((j) => !done.has(j.id));
    }
    await Promise.all(rest.map((job) => this.runOne(job)));
    this.inFlight -= jobs.length;
    return jobs.length;
  }

  private async runOne(job: ClaimedJob): Promise<void> {
    const { db, log, handlers } = this.options;
    const now = this.options.now ?? Date.now;
    const handler = handlers[job.kind];
    const payload = JSON.parse(job.payload);
    try {
      await handler.run(job, payload);
      await completeJob(db, job, now());
    } catch (error) {
      const message = (error as Error).message ?? String(error);
      log.warn({ jobId: job.id, kind: job.kind, attempt: job.attempts, err: error }, 'job failed');
      const exhausted = await failJob(db, job, message, now());
      if (exhausted && handler.giveUp) {
        try {
          await handler.giveUp(job, payload, message);
        } catch (giveUpError) {
          log.error({ jobId: job.id, err: giveUpError }, 'job give-up handler failed');
        }
      }
    }
  }
}
