import { formatBytes } from '../../format.ts';
import type { Esim, Package } from '../../v1-types.ts';

export const DATA_TYPES: Record<number, string> = { 1: 'Fixed data', 2: 'Daily (then slowed)', 3: 'Daily (then cut off)', 4: 'Unlimited' };

/** The values of GET /v1/packages data_type: the server groups data types 2 and 3 (both reset every day). */
export const DATA_TYPE_FILTERS = [
  { value: '', label: 'Any data type' },
  { value: 'fixed', label: 'Fixed data' },
  { value: 'daily', label: 'Daily allowance' },
  { value: 'unlimited', label: 'Unlimited' },
] as const;

export function volumeLabel(p: Pick<Package, 'data_type' | 'volume_bytes'>): string {
  if (p.data_type === 4) return 'Unlimited';
  if (p.data_type === 2 || p.data_type === 3) return `${formatBytes(p.volume_bytes)}/day`;
  return formatBytes(p.volume_bytes);
}

export function validityLabel(p: Pick<Package, 'duration' | 'duration_unit' | 'day_pass'>): string {
  if (p.day_pass) return 'Per day (you choose the days)';
  const unit = p.duration_unit.toLowerCase();
  return `${p.duration} ${p.duration === 1 ? unit.replace(/s$/, '') : unit.endsWith('s') ? unit : `${unit}s`}`;
}

/**
 * The QR image from this origin: the console's CSP allows images from 'self' only, and PUBLIC_BASE_URL
 * (what qr_code_url is built on) may name another host.
 */
export function qrSrc(esim: Pick<Esim, 'qr_code_url'>): string {
  const file = esim.qr_code_url.split('/qr/').pop() ?? '';
  return `/qr/${file}`;
}

/** Used and total bytes over the eSIM's bundles; total 0 when a daily or unlimited plan has no fixed total. */
export function usageOf(esim: Pick<Esim, 'bundles' | 'data_type' | 'used_bytes' | 'total_volume_bytes'>): { used: number; total: number } {
  if (!esim.bundles.length) return { used: esim.used_bytes, total: esim.data_type === 1 ? esim.total_volume_bytes : 0 };
  const used = esim.bundles.reduce((sum, b) => sum + b.used_bytes, 0);
  const total = esim.data_type === 1 ? esim.bundles.reduce((sum, b) => sum + b.volume_bytes, 0) : 0;
  return { used, total };
}

export function usageText(esim: Pick<Esim, 'bundles' | 'data_type' | 'used_bytes' | 'total_volume_bytes'>): string {
  const { used, total } = usageOf(esim);
  if (total > 0) return `${formatBytes(used)} of ${formatBytes(total)}`;
  return `${formatBytes(used)} used (${esim.data_type === 4 ? 'unlimited' : 'daily allowance'})`;
}

const FINAL = ['CANCEL', 'REVOKE', 'USED_EXPIRED', 'UNUSED_EXPIRED'];

/** What the server will allow in this state (src/domain/esims/*.ts); the buttons mirror it. */
export function allowedActions(esim: Pick<Esim, 'status' | 'smdp_status' | 'sms_supported'>) {
  const installed = ['INSTALLATION', 'ENABLED', 'DISABLED'].includes(esim.smdp_status);
  const live = !FINAL.includes(esim.status);
  return {
    cancel: esim.status === 'GOT_RESOURCE' && esim.smdp_status === 'RELEASED',
    suspend: ['GOT_RESOURCE', 'IN_USE', 'USED_UP'].includes(esim.status),
    resume: esim.status === 'SUSPENDED',
    revoke: live,
    topup: ['GOT_RESOURCE', 'IN_USE', 'USED_UP'].includes(esim.status),
    sms: esim.sms_supported && installed && live && esim.status !== 'SUSPENDED',
    // The simulated device.
    install: live && esim.status !== 'SUSPENDED' && (esim.smdp_status === 'RELEASED' || esim.smdp_status === 'DOWNLOAD'),
    enable: live && (esim.smdp_status === 'INSTALLATION' || esim.smdp_status === 'DISABLED'),
    disable: esim.smdp_status === 'ENABLED',
    useData: live && esim.status !== 'SUSPENDED' && esim.smdp_status === 'ENABLED',
  };
}
