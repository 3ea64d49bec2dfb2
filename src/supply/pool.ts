import type { Kysely, Transaction } from 'kysely';
import type { DB, PackageTable } from '../store/schema.ts';
import type { StoreDialect } from '../store/connect.ts';
import type { ProfileRequest, ProfileSource, SuppliedProfile } from './types.ts';
import { SupplyError } from './types.ts';

type Conn = Kysely<DB> | Transaction<DB>;

/** The pool key of an operator's profiles: its MCC+MNC (`op:20801`), the PLMN every one of its IMSIs starts with. */
export function operatorPoolKey(plmn: string): string {
  return `op:${plmn}`;
}

/**
 * Pools an order for this package may draw from, most specific first: the package's own, then the pools of
 * the operators its operatorList names (by MCC+MNC, resolved through the operators table), then its
 * location's.
 */
export async function poolKeysFor(db: Conn, pkg: Pick<PackageTable, 'package_code' | 'location_code' | 'networks_json'>): Promise<string[]> {
  return [pkg.package_code, ...(await operatorPlmnsOf(db, pkg)).map(operatorPoolKey), `loc:${pkg.location_code}`];
}

/** MCC+MNC of every operator in the package's locationNetworkList, in list order. */
export async function operatorPlmnsOf(db: Conn, pkg: Pick<PackageTable, 'networks_json'>): Promise<string[]> {
  let networks: Array<{ locationCode?: string; operatorList?: Array<{ operatorName?: string }> }>;
  try {
    networks = JSON.parse(pkg.networks_json);
  } catch {
    return [];
  }
  const wanted = new Map<string, number>();
  for (const n of Array.isArray(networks) ? networks : []) {
    for (const op of n.operatorList ?? []) if (n.locationCode && op.operatorName) wanted.set(`${n.locationCode}|${op.operatorName.toLowerCase()}`, wanted.size);
  }
  if (!wanted.size) return [];
  const countries = [...new Set([...wanted.keys()].map((k) => k.split('|')[0]))];
  const rows = await db.selectFrom('operators').select(['country_code', 'name', 'mcc', 'mnc']).where('country_code', 'in', countries).execute();
  const found = rows
    .map((r) => ({ at: wanted.get(`${r.country_code}|${r.name.toLowerCase()}`), plmn: r.mcc + r.mnc }))
    .filter((r): r is { at: number; plmn: string } => r.at !== undefined)
    .sort((a, b) => a.at - b.at);
  return [...new Set(found.map((r) => r.plmn))];
}

/**
 * Imported profile batches (live supply). A profile is claimed with one guarded UPDATE, so it is handed out
 * once, never twice, also when allocations run concurrently (SKIP LOCKED on PostgreSQL; SQLite writers are
 * serialised).
 */
export class ProfilePool implements ProfileSource {
  readonly name = 'pool';

  constructor(private readonly dialect: StoreDialect) {}

  async available(db: Conn, pkg: PackageTable): Promise<number> {
    const row = await db
      .selectFrom('pool_profiles')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('pool', 'in', await poolKeysFor(db, pkg))
      .where('status', '=', 'available')
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async take(trx: Transaction<DB>, request: ProfileRequest): Promise<SuppliedProfile> {
    const keys = await poolKeysFor(trx, request.pkg);
    // Only the keys that hold stock are tried (a global package may name hundreds of operators).
    const stocked = new Set((await trx.selectFrom('pool_profiles').select('pool').distinct().where('pool', 'in', keys).where('status', '=', 'available').execute()).map((r) => r.pool));
    for (const pool of keys.filter((k) => stocked.has(k))) {
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
