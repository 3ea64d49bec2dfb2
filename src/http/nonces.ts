import type { Kysely } from 'kysely';
import type { DB } from '../store/schema.ts';

/** Remembers signed requests' RT-RequestIDs for the signature window, so a captured request cannot be replayed. */
export interface NonceStore {
  /** True when this (key, requestId) is new; false when it was seen within the window. */
  claim(keyId: string, requestId: string, nowMs: number): Promise<boolean>;
}

/**
 * In memory: right for the embedded store, where one process serves the API. Entries live for the
 * signature window (a request older than that is refused by its timestamp anyway).
 */
export class MemoryNonceStore implements NonceStore {
  private current = new Set<string>();
  private previous = new Set<string>();
  private rotatedAtMs = 0;

  constructor(private readonly windowMs: number) {}

  async claim(keyId: string, requestId: string, nowMs: number): Promise<boolean> {
    // Two generations, each one window long: everything seen in the last window is in one of them.
    if (nowMs - this.rotatedAtMs >= this.windowMs) {
      this.previous = this.current;
      this.current = new Set();
      this.rotatedAtMs = nowMs;
    }
    const key = `${keyId}\u0000${requestId}`;
    if (this.current.has(key) || this.previous.has(key)) return false;
    this.current.add(key);
    return true;
  }
}

/** In the database: shared by every API process on PostgreSQL. Old rows are swept now and then. */
export class DbNonceStore implements NonceStore {
  private lastSweepMs = 0;

  constructor(
    private readonly db: Kysely<DB>,
    private readonly windowMs: number,
  ) {}

  async claim(keyId: string, requestId: string, nowMs: number): Promise<boolean> {
    const inserted = await this.db
      .insertInto('request_nonces')
      .values({ key_id: keyId, request_id: requestId, seen_at: nowMs })
      .onConflict((oc) => oc.columns(['key_id', 'request_id']).doNothing())
      .executeTakeFirst();
    if (nowMs - this.lastSweepMs > 60_000) {
      this.lastSweepMs = nowMs;
      await this.db.deleteFrom('request_nonces').where('seen_at', '<', nowMs - 2 * this.windowMs).execute();
    }
    return Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 1;
  }
}
