import type { Transaction } from 'kysely';
import type { DB, PackageTable } from '../store/schema.ts';

/** One profile handed out by a supplier for one eSIM. */
export interface SuppliedProfile {
  iccid: string;
  imsi: string | null;
  msisdn: string | null;
  smdpAddress: string;
  matchingId: string;
  confirmationCode: string | null;
  pin: string | null;
  puk: string | null;
  apn: string | null;
  /** Which source supplied it: simulated, pool, upstream-…. */
  supply: string;
  poolProfileId: string | null;
}

export interface ProfileRequest {
  partnerId: string;
  environment: 'sandbox' | 'live';
  pkg: PackageTable;
  esimId: string;
  nowMs: number;
}

/** Raised by a source; `permanent` means retrying cannot help (the order is then failed and refunded). */
export class SupplyError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
  ) {
    super(message);
  }
}

/**
 * Where profiles come from: the simulated SM-DP+ (sandbox), imported pools (live), upstream providers.
 * `take` runs inside the allocation transaction so a profile is never handed out without its eSIM row.
 */
export interface ProfileSource {
  readonly name: string;
  /** Profiles available right now for this package; null when the source has no fixed stock. */
  available(db: Transaction<DB> | import('kysely').Kysely<DB>, pkg: PackageTable): Promise<number | null>;
  take(trx: Transaction<DB>, request: ProfileRequest): Promise<SuppliedProfile>;
}
