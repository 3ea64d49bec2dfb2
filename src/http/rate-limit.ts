import { sql, type Kysely } from 'kysely';
import type { DB } from '../store/schema.ts';

/**
 * Per-key request limits: `perSecond` requests a second, bursts up to `perSecond`.
 *
 * - `acquire()` is the limit: use it (awaited) in request handlers. With several API processes it holds
 *   across all of them (PostgreSQL or Redis), on the embedded store it is in memory (one API process).
 * - `take()` is a synchronous, process-local check kept for callers that cannot wait; it does not hold
 *   across processes.
 * Both return 0 when the request may go on, else the milliseconds to wait before one may.
 */
export interface RateLimiter {
  take(key: string, perSecond: number, nowMs: number): number;
  acquire(key: string, perSecond: number, nowMs: number): Promise<number>;
  /**
   * A fixed one-second window: counts this request against `limit` (only when it is allowed) and tells how
   * many remain and when the window ends. Shared by every API process like `acquire`.
   */
  window(key: string, limit: number, nowMs: number): Promise<WindowTake>;
  close?(): Promise<void>;
}

export interface WindowTake {
  allowed: boolean;
  remaining: number;
  resetMs: number;
}

const windowStartOf = (nowMs: number) => Math.floor(nowMs / 1000) * 1000;

/** Token bucket in memory: right for one API process (the embedded store). */
export class MemoryRateLimiter implements RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; updatedMs: number }>();

  take(key: string, perSecond: number, nowMs: number): number {
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = { tokens: perSecond, updatedMs: nowMs };
      this.buckets.set(key, bucket);
      if (this.buckets.size > 100_000) this.sweep(nowMs);
    }
    const elapsedMs = Math.max(0, nowMs - bucket.updatedMs);
    bucket.tokens = Math.min(perSecond, bucket.tokens + (elapsedMs * perSecond) / 1000);
    bucket.updatedMs = nowMs;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - bucket.tokens) * 1000) / perSecond);
  }

  async acquire(key: string, perSecond: number, nowMs: number): Promise<number> {
    return this.take(key, perSecond, nowMs);
  }

  private readonly windows = new Map<string, { start: number; used: number }>();

  async window(key: string, limit: number, nowMs: number): Promise<WindowTake> {
    const start = windowStartOf(nowMs);
    let w = this.windows.get(key);
    if (!w || w.start !== start) {
      w = { start, used: 0 };
      this.windows.set(key, w);
      if (this.windows.size > 50_000) for (const [k, v] of this.windows) if (v.start < start) this.windows.delete(k);
    }
    const allowed = w.used < limit;
    if (allowed) w.used++;
    return { allowed, remaining: Math.max(0, limit - w.used), resetMs: start + 1000 };
  }

  private sweep(nowMs: number): void {
    for (const [key, bucket] of this.buckets) if (nowMs - bucket.updatedMs > 60_000) this.buckets.delete(key);
  }
}

/**
 * GCRA (the token bucket as one number per key: the theoretical arrival time `tat`). A request at `now`
 * with emission interval T = 1000/perSecond and burst tolerance tau = 1000 - T is allowed when
 * max(tat, now) - now <= tau, and then moves tat to max(tat, now) + T. Equivalent to a bucket of perSecond
 * tokens refilled continuously.
 */
function gcra(perSecond: number): { intervalMs: number; toleranceMs: number } {
  const intervalMs = 1000 / perSecond;
  return { intervalMs, toleranceMs: 1000 - intervalMs };
}

/**
 * How long a lease of tokens lasts. A key allowed `perSecond` requests takes perSecond × LEASE_MS / 1000
 * tokens per check (at least 1: keys limited to fewer than 1000 / LEASE_MS a second are checked per
 * request, exactly as before leases).
 */
const LEASE_MS = 25;

interface Lease {
  tokens: number;
  perSecond: number;
  expiresMs: number;
}

/**
 * Shared by every API process through the PostgreSQL store. A busy key does not cost one upsert per
 * request: a check takes a lease of the tokens LEASE_MS of its rate refills (when the bucket holds that
 * many; else one), and the process spends them without asking again until they run out or the lease
 * ends. Every token is taken from the shared bucket before it is spent, so processes together never
 * exceed the limit; tokens a lease did not spend are given back with the next check, so a quiet process
 * does not keep another's requests out for longer than LEASE_MS.
 */
export class DbRateLimiter implements RateLimiter {
  private readonly local = new MemoryRateLimiter();
  private readonly leases = new Map<string, Lease>();
  private lastSweepMs = Date.now();

  constructor(private readonly db: Kysely<DB>) {}

  take(key: string, perSecond: number, nowMs: number): number {
    return this.local.take(key, perSecond, nowMs);
  }

  async acquire(key: string, perSecond: number, nowMs: number): Promise<number> {
    const held = this.leases.get(key);
    if (held && held.perSecond === perSecond && held.expiresMs > nowMs && held.tokens > 0) {
      held.tokens--;
      return 0;
    }
    const { intervalMs, toleranceMs } = gcra(perSecond);
    const want = Math.max(1, Math.floor((perSecond * LEASE_MS) / 1000));
    // An ended lease's unspent tokens go back (not beyond a full bucket: tat never goes below now).
    const unspent = held && held.perSecond === perSecond ? held.tokens : 0;
    const returnMs = unspent * intervalMs;
    if (held) this.leases.delete(key);
    // Allowed: the row moves on by the tokens granted (`want` when the bucket holds them, else 1) and is
    // returned. Refused: the WHERE keeps it as it is (and the unspent tokens with this process, to return
    // next time) and nothing is returned; a second read says how long to wait.
    const start = sql<number>`greatest(rate_limits.tat - ${returnMs}::double precision, ${nowMs}::double precision)`;
    const grant = sql<number>`case when ${start} + ${(want - 1) * intervalMs}::double precision - ${nowMs}::double precision <= ${toleranceMs}::double precision then ${want}::integer else 1 end`;
    const allowed = await sql<{ granted: number }>`
      insert into rate_limits (key, tat, granted) values (${key}, ${nowMs + want * intervalMs}, ${want})
      on conflict (key) do update set tat = ${start} + ${grant} * ${intervalMs}::double precision, granted = ${grant}
      where ${start} - ${nowMs}::double precision <= ${toleranceMs}::double precision
      returning granted`.execute(this.db);
    if (nowMs - this.lastSweepMs > 60_000) {
      this.lastSweepMs = nowMs;
      // Keys idle for a minute are back to a full burst anyway.
      void this.db.deleteFrom('rate_limits').where('tat', '<', nowMs - 60_000).execute().catch(() => undefined);
      for (const [k, lease] of this.leases) if (lease.expiresMs <= nowMs) this.leases.delete(k);
    }
    const granted = allowed.rows[0]?.granted;
    if (granted !== undefined) {
      // Concurrent checks of one key in this process each took a lease: keep the tokens of both.
      const current = this.leases.get(key);
      const spare = Number(granted) - 1 + (current && current.perSecond === perSecond ? current.tokens : 0);
      if (spare > 0) this.leases.set(key, { tokens: spare, perSecond, expiresMs: nowMs + LEASE_MS });
      return 0;
    }
    if (unspent > 0) this.leases.set(key, { tokens: unspent, perSecond, expiresMs: nowMs });
    const row = await this.db.selectFrom('rate_limits').select('tat').where('key', '=', key).executeTakeFirst();
    return row ? Math.max(1, Math.ceil(Number(row.tat) - nowMs - toleranceMs)) : 1;
  }

  async window(key: string, limit: number, nowMs: number): Promise<WindowTake> {
    const start = windowStartOf(nowMs);
    // Counts only while under the limit: a refused request leaves the row (and the count) as it is.
    const counted = await sql<{ used: number }>`
      insert into rate_windows (key, window_start, used) values (${key}, ${start}, 1)
      on conflict (key) do update set
        used = case when rate_windows.window_start = excluded.window_start then rate_windows.used + 1 else 1 end,
        window_start = excluded.window_start
      where rate_windows.window_start <> excluded.window_start or rate_windows.used < ${limit}
      returning used`.execute(this.db);
    const used = counted.rows[0]?.used;
    return used === undefined ? { allowed: false, remaining: 0, resetMs: start + 1000 } : { allowed: true, remaining: Math.max(0, limit - Number(used)), resetMs: start + 1000 };
  }
}

/** GCRA in one Lua call: returns 0 (allowed) or the milliseconds to wait. */
const REDIS_GCRA = `
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local tolerance = tonumber(ARGV[3])
if tat < now then tat = now end
if tat - now > tolerance then
  return math.ceil(tat - now - tolerance)
end
redis.call('SET', KEYS[1], tostring(tat + interval), 'PX', math.ceil(tat + interval - now) + 1000)
return 0`;

/** Shared by every API process through Redis (REDIS_URL). */
export class RedisRateLimiter implements RateLimiter {
  private readonly local = new MemoryRateLimiter();

  constructor(
    private readonly redis: import('ioredis').Redis,
    private readonly prefix: string,
  ) {
    redis.defineCommand('esimhubGcra', { numberOfKeys: 1, lua: REDIS_GCRA });
  }

  static async connect(url: string, prefix: string): Promise<RedisRateLimiter> {
    const { Redis } = await import('ioredis');
    const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2, enableOfflineQueue: true });
    await redis.connect();
    return new RedisRateLimiter(redis, prefix);
  }

  take(key: string, perSecond: number, nowMs: number): number {
    return this.local.take(key, perSecond, nowMs);
  }

  async acquire(key: string, perSecond: number, nowMs: number): Promise<number> {
    const { intervalMs, toleranceMs } = gcra(perSecond);
    const wait = await (this.redis as any).esimhubGcra(`${this.prefix}${key}`, nowMs, intervalMs, toleranceMs);
    return Number(wait);
  }

  async window(key: string, limit: number, nowMs: number): Promise<WindowTake> {
    const start = windowStartOf(nowMs);
    const redisKey = `${this.prefix}w:${key}:${start}`;
    const [[, used]] = (await this.redis.multi().incr(redisKey).pexpire(redisKey, 2000).exec()) as [[unknown, number], unknown];
    // Redis counts refused requests too; the answer is the same (nothing remains until the window ends).
    return { allowed: used <= limit, remaining: Math.max(0, limit - used), resetMs: start + 1000 };
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => undefined);
  }
}

/** Redis when REDIS_URL is set; else PostgreSQL on the PostgreSQL store; else memory (one process). */
export async function makeRateLimiter(options: { redisUrl: string; databaseSchema: string; db: Kysely<DB>; dialect: 'sqlite' | 'postgres' }): Promise<RateLimiter> {
  if (options.redisUrl) return RedisRateLimiter.connect(options.redisUrl, `esimhub:rl:${options.databaseSchema || 'public'}:`);
  if (options.dialect === 'postgres') return new DbRateLimiter(options.db);
  return new MemoryRateLimiter();
}
