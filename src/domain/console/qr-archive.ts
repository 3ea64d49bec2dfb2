import { strToU8, zipSync } from 'fflate';
import { csvField } from '../catalog/csv.ts';
import type { EsimStatus } from '../../store/schema.ts';

export interface ArchivedEsim {
  id: string;
  iccid: string;
  status: EsimStatus;
  activationCode: string;
  installUrl: string;
}

/** eSIMs that can never be installed again get no QR image (their install links answer 410 as well). */
const UNINSTALLABLE: ReadonlySet<EsimStatus> = new Set<EsimStatus>(['CANCEL', 'REVOKE']);

export const QR_ARCHIVE_CSV = 'esims.csv';
export const QR_ARCHIVE_CSV_HEADER = ['iccid', 'esim_id', 'status', 'activation_code', 'install_url'] as const;

/**
 * An order's QR codes as one ZIP: `<ICCID>.png` per installable eSIM and `esims.csv` listing every eSIM.
 * The PNG renderer is passed in so the caller's QR cache (and its exact rendering options) is reused.
 * PNGs are already deflated: they are stored, not compressed again.
 */
export async function buildQrArchive(esims: ArchivedEsim[], renderPng: (activationCode: string) => Promise<Uint8Array>): Promise<Uint8Array> {
  const files: Record<string, Uint8Array> = {};
  for (const esim of esims) {
    if (UNINSTALLABLE.has(esim.status)) continue;
    files[`${esim.iccid}.png`] = await renderPng(esim.activationCode);
  }
  const rows = [QR_ARCHIVE_CSV_HEADER.join(',')];
  for (const e of esims) rows.push([e.iccid, e.id, e.status, e.activationCode, e.installUrl].map(csvField).join(','));
  files[QR_ARCHIVE_CSV] = strToU8(`${rows.join('\r\n')}\r\n`);
  return zipSync(files, { level: 0 });
}
