import type { Kysely, Transaction } from 'kysely';
import type { DB, PackageTable } from '../store/schema.ts';
import type { StoreDialect } from '../store/connect.ts';
import type { ProfileRequest, ProfileSource, SuppliedProfile } from './types.ts';
import { SupplyError } from './types.ts';

/** Pools an order for this package may draw from: the package's own, then its location's. */
export function poolKeysFor(pkg: Pick<PackageTable, 'package_code' | 'location_code'>): string[] {
  return [pkg.package_code, `loc:${pkg.location_code}`];
}

/**
 * Imported profile batches (live supply). A profile is claimed with one guarded UPDATE, so it is handed out
 * once, never twice, also when allocations run concurrently (SKIP LOCKED on PostgreSQL; SQLite writers are
 * serialised).
 */
export class ProfilePool implements ProfileSource {
  readonly name = 'pool';

  constructor(private readonly dialect: StoreDialect) {}

  async available(db: Kysely<DB> | Transaction<DB>, pkg: PackageTable): Promise<number> {
    const row = await db
      .selectFrom('pool_profiles')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('pool', 'in', poolKeysFor(pkg))
      .where('status', '=', 'available')
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async take(trx: Transaction<DB>, request: ProfileRequest): Promise<SuppliedProfile> {
    for (const pool of poolKeysFor(request.pkg)) {
      let candidate = trx.selectFrom('pool_profiles').select('id').where('pool', '=', pool).where('status', '=', 'available').orderBy('id').limit(1);
      if (this.dialect === 'postgres') candidate = candidate.forUpdate().skipLocked();
      const claimed = await trx
        .updateTable('pool_profiles')
        .set({ status: 'assigned', assigned_esim_id: request.esimId, assigned_at: request.nowMs })
        .where('id', '=', candidate)
        .where('status', '=', 'available')
        .returningAll()
        .executeTakeFirst();
      if (claimed) {
        return {
          iccid: claimed.iccid,
          imsi: claimed.imsi,
          msisdn: claimed.msisdn,
          smdpAddress: claimed.smdp_address,
          matchingId: claimed.matching_id,
          confirmationCode: claimed.confirmation_code,
          pin: claimed.pin,
          puk: claimed.puk,
          apn: claimed.apn,
          supply: this.name,
          poolProfileId: claimed.id,
        };
      }
    }
    throw new SupplyError(`no profiles left in the pool for package ${request.pkg.package_code}`, true);
  }
}
