import { sql, type Kysely, type Transaction } from 'kysely';
import type { DB, JobTable } from '../store/schema.ts';
import type { StoreDialect } from '../store/connect.ts';

/**
 * A durable job queue in the database. Jobs are inserted in the same transaction as the change that needs
 * them; workers claim a batch by setting a lease (`locked_until`), so a worker that dies (kill -9) loses
 * nothing: its lease runs out and another claim picks the job up again. Handlers must be idempotent.
 */
export interface EnqueueOptions {
  runAtMs: number;
  /** Deduplicates: a second job with the same key is not added. */
  jobKey?: string;
  maxAttempts?: number;
}

type Db = Kysely<DB> | Transaction<DB>;

export async function enqueue(db: Db, kind: string, payload: unknown, nowMs: number, options: EnqueueOptions): Promise<void> {
  await db
    .insertInto('jobs')
    .values({
      kind,
      job_key: options.jobKey ?? null,
      payload: JSON.stringify(payload),
      status: 'queued',
      run_at: options.runAtMs,
      attempts: 0,
      max_attempts: options.maxAttempts ?? 20,
      locked_by: null,
      locked_until: null,
      last_error: null,
      created_at: nowMs,
      updated_at: nowMs,
    })
    .onConflict((oc) => oc.column('job_key').doNothing())
    .execute();
}

export type ClaimedJob = Omit<JobTable, 'id'> & { id: number };

/** Claims up to `limit` due jobs for `leaseMs`. On PostgreSQL concurrent workers skip each other's rows. */
export async function claimJobs(db: Kysely<DB>, dialect: StoreDialect, workerId: string, kinds: string[], limit: number, leaseMs: number, nowMs: number): Promise<ClaimedJob[]> {
  let due = db
    .selectFrom('jobs')
    .select('id')
    .where('status', '=', 'queued')
    .where('run_at', '<=', nowMs)
    .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<', nowMs)]))
    .where('kind', 'in', kinds)
    .orderBy('run_at')
    .limit(limit);
  if (dialect === 'postgres') due = due.forUpdate().skipLocked();
  const rows = await db
    .updateTable('jobs')
    .set({ locked_by: workerId, locked_until: nowMs + leaseMs, attempts: sql`attempts + 1`, updated_at: nowMs })
    .where('id', 'in', due)
    .returningAll()
    .execute();
  return rows as ClaimedJob[];
}

export async function completeJob(db: Db, job: ClaimedJob, nowMs: number): Promise<void> {
  await db.updateTable('jobs').set({ status: 'done', locked_by: null, locked_until: null, updated_at: nowMs }).where('id', '=', job.id).execute();
}

/** Exponential backoff with jitter, capped: 0.5 s, 1 s, 2 s … up to 5 min. */
export function retryDelayMs(attempt: number): number {
  const base = Math.min(300_000, 500 * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.75 + Math.random() * 0.5));
}

/** Records a failed attempt; returns true when the job has no attempts left (the caller then gives up for good). */
export async function failJob(db: Db, job: ClaimedJob, error: string, nowMs: number): Promise<boolean> {
  const exhausted = job.attempts >= job.max_attempts;
  await db
    .updateTable('jobs')
    .set({
      status: exhausted ? 'failed' : 'queued',
      run_at: exhausted ? job.run_at : nowMs + retryDelayMs(job.attempts),
      locked_by: null,
      locked_until: null,
      last_error: error.slice(0, 2000),
      updated_at: nowMs,
    })
    .where('id', '=', job.id)
    .execute();
  return exhausted;
}

export async function queueDepth(db: Kysely<DB>): Promise<number> {
  const row = await db.selectFrom('jobs').select((eb) => eb.fn.countAll<number>().as('n')).where('status', '=', 'queued').executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * Claims are tagged `host:pid:…` (see JobWorker.id and Dispatcher.id). A claim made on this host by a
 * process that no longer exists is an orphan (the process was killed): it can be taken back at once
 * instead of waiting for its lease. Claims of other hosts, and of live processes, are left to their leases.
 */
export function isOrphanedClaim(lockedBy: string, ownIds: string[], hostname: string): boolean {
  if (ownIds.includes(lockedBy)) return false;
  const [host, pidText] = lockedBy.split(':');
  if (host !== hostname || !/^\d+$/.test(pidText ?? '')) return false;
  const pid = Number(pidText);
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
