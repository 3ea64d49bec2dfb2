import type { Bundle, Esim, PackageTable } from '../../../store/schema.ts';
import type { EsimGoOrderTable } from '../../../store/tables/esimgo.ts';
import type { StoredLine } from '../../../domain/inventory/inventory.ts';
import { type BundleNames, groupOf, megabytes, money, speeds } from './names.ts';

/** Wire shapes of the eSIM Go dialect: a version number (2, 2.2 … 2.5) changes what is included. */
export type Version = number;

export function iso(ms: number | null | undefined): string | undefined {
  return ms === null || ms === undefined ? undefined : new Date(Number(ms)).toISOString();
}

export function catalogueBundle(names: BundleNames, pkg: PackageTable, priceMinor: number, version: Version) {
  const countries = pkg.location.split(',').filter(Boolean).map((code) => ({ name: names.countryName(code), region: names.regionOf(code), iso: code }));
  const unlimited = pkg.data_type !== 1;
  const out: Record<string, unknown> = {
    name: names.nameOf(pkg),
    description: pkg.description || pkg.name,
    groups: [groupOf(pkg)],
    countries,
    dataAmount: megabytes(Number(pkg.volume)),
    duration: pkg.is_daypass === 1 ? Math.max(1, pkg.duration) : pkg.duration,
    speed: speeds(pkg),
    autostart: pkg.active_type !== 2,
    unlimited,
    roamingEnabled: countries.length > 1 ? countries : [],
    price: money(priceMinor),
    billingType: 'FixedCost',
  };
  if (version >= 2.5) {
    out.profileName = 'Profile 1';
    out.allowances = [{ type: 'DATA', service: 'STANDARD', description: 'Data', amount: megabytes(Number(pkg.volume)), unit: 'MB', unlimited }];
  }
  return out;
}

/** Released → Downloaded → Installed; Deactivated once cancelled or revoked. */
export function profileStatus(esim: Esim): string {
  if (esim.esim_status === 'CANCEL' || esim.esim_status === 'REVOKE') return 'Deactivated';
  switch (esim.smdp_status) {
    case 'RELEASED':
      return 'Released';
    case 'DOWNLOAD':
      return 'Downloaded';
    case 'DELETED':
      return 'Unavailable';
    default:
      return 'Installed';
  }
}

export function esimState(esim: Esim, deleted: boolean): 'active' | 'suspended' | 'deactivated' {
  if (deleted || esim.esim_status === 'CANCEL' || esim.esim_status === 'REVOKE') return 'deactivated';
  if (esim.esim_status === 'SUSPENDED') return 'suspended';
  return 'active';
}

export function installUrls(esim: Esim) {
  const lpa = `LPA:1$${esim.smdp_address}$${esim.matching_id}`;
  return {
    appleInstallUrl: `https://esimsetup.apple.com/esim_qrcode_provisioning?carddata=${lpa}`,
    androidInstallUrl: `https://esimsetup.android.com/esim_qrcode_provisioning?carddata=${lpa}`,
  };
}

/** An eSIM's first installation time: activation, or the update that left RELEASED. */
export function firstInstalledMs(esim: Esim): number | null {
  if (esim.activate_time !== null) return Number(esim.activate_time);
  return esim.smdp_status === 'RELEASED' ? null : Number(esim.updated_at);
}

export function assignment(bundle: Bundle, reference: string, version: Version) {
  const unlimited = bundle.data_type !== 1;
  const initial = Number(bundle.volume);
  const remaining = Math.max(0, initial - Number(bundle.used_bytes));
  const out: Record<string, unknown> = {
    id: bundle.id,
    callTypeGroup: 'data',
    initialQuantity: initial,
    remainingQuantity: remaining,
  };
  if (version >= 2.3) {
    out.assignmentDateTime = iso(bundle.created_at);
    out.assignmentReference = reference;
    out.bundleState = bundle.state;
  }
  out.unlimited = unlimited;
  if (version >= 2.5) {
    if (bundle.activated_at !== null) out.startTime = iso(bundle.activated_at);
    if (bundle.expires_at !== null) out.endTime = iso(bundle.expires_at);
    out.allowances = [{ type: 'DATA', service: 'STANDARD', description: 'Data', initialAmount: initial, remainingAmount: remaining, unit: 'BYTES', unlimited }];
  }
  return out;
}

export interface OrderEsim {
  iccid: string;
  matchingId: string;
  smdpAddress: string;
  packageCode: string;
}

/** OrderResponseTransaction for a stored eSIM Go order (or a core order seen through this dialect). */
export function orderTransaction(input: {
  reference: string;
  lines: StoredLine[];
  totalMinor: number;
  currency: string;
  createdAt: number;
  assigned: boolean;
  status: string;
  statusMessage: string;
  esims: OrderEsim[] | null;
  sourceIp?: string | null;
  runningBalanceMinor?: number | null;
  version: Version;
}) {
  const pool = input.esims ? [...input.esims] : null;
  const order = input.lines.map((line) => {
    const item: Record<string, unknown> = { type: line.type, item: line.item, quantity: line.quantity, subTotal: money(line.subTotalMinor), pricePerUnit: money(line.pricePerUnitMinor), AllowReassign: line.allowReassign };
    if (pool && input.assigned) {
      let mine: OrderEsim[];
      if (line.iccids) mine = line.iccids.map((iccid) => pool.find((e) => e.iccid === iccid) ?? { iccid, matchingId: '', smdpAddress: '', packageCode: line.packageCode });
      else {
        mine = [];
        for (let i = 0; i < line.quantity; i++) {
          const at = pool.findIndex((e) => e.packageCode === line.packageCode && !input.lines.some((l) => l.iccids?.includes(e.iccid)));
          if (at < 0) break;
          mine.push(pool.splice(at, 1)[0]);
        }
      }
      item.esims = mine.map((e) => ({ iccid: e.iccid, matchingId: e.matchingId, smdpAddress: e.smdpAddress }));
      item.iccids = mine.map((e) => e.iccid);
    }
    return item;
  });
  const out: Record<string, unknown> = {
    order,
    total: money(input.totalMinor),
    currency: input.currency,
    status: input.status,
    statusMessage: input.statusMessage,
    orderReference: input.reference,
    createdDate: iso(input.createdAt),
    assigned: input.assigned,
  };
  if (input.sourceIp) out.sourceIP = input.sourceIp;
  if (input.version >= 2.5 && input.runningBalanceMinor !== null && input.runningBalanceMinor !== undefined) out.runningBalance = String(money(input.runningBalanceMinor));
  return out;
}

export function storedLines(row: EsimGoOrderTable): StoredLine[] {
  return JSON.parse(row.lines_json) as StoredLine[];
}

export function csvCell(value: string): string {
  return `"${value.replace(/"/g, '""')}"`;
}
