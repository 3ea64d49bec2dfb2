/**
 * Token bucket per key: `perSecond` tokens refill continuously, bursts up to `perSecond`.
 * In-process; a later store-backed limiter shares buckets across API processes.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; updatedMs: number }>();

  /** Returns 0 when allowed, else the milliseconds to wait before a token is free. */
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

  private sweep(nowMs: number): void {
    for (const [key, bucket] of this.buckets) if (nowMs - bucket.updatedMs > 60_000) this.buckets.delete(key);
  }
}
