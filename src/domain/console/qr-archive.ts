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
 * An order's QR codes as one ZIP: `<ICCID>.png` per installable eSIM (the plain code, which any scanner and
 * printer takes), `<ICCID>.svg` beside it when the partner has branding (the branded code of /qr/<token>.svg:
 * logo in the middle, name underneath) and `esims.csv` listing every eSIM. The renderers are passed in so the
 * caller's QR cache and exact rendering options are reused. PNGs are already deflated: they are stored, not
 * compressed again; the SVG text is deflated.
 */
export async function buildQrArchive(
  esims: ArchivedEsim[],
  renderPng: (activationCode: string) => Promise<Uint8Array>,
  renderBrandedSvg: ((activationCode: string) => string) | null = null,
): Promise<Uint8Array> {
  const files: Record<string, Uint8Array | [Uint8Array, { level: 6 }]> = {};
  for (const esim of esims) {
    if (UNINSTALLABLE.has(esim.status)) continue;
    files[`${esim.iccid}.png`] = await renderPng(esim.activationCode);
    if (renderBrandedSvg) files[`${esim.iccid}.svg`] = [strToU8(renderBrandedSvg(esim.activationCode)), { level: 6 }];
  }
  const rows = [QR_ARCHIVE_CSV_HEADER.join(',')];
  for (const e of esims) rows.push([e.iccid, e.id, e.status, e.activationCode, e.installUrl].map(csvField).join(','));
  files[QR_ARCHIVE_CSV] = strToU8(`${rows.join('\r\n')}\r\n`);
  return zipSync(files, { level: 0 });
}
