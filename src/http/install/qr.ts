import { createHash } from 'node:crypto';
import QRCode from 'qrcode';
import { LruCache as Lru } from '../../lib/lru.ts';

export { Lru };

/**
 * QR images of activation codes. The payload is the eSIM's `ac` exactly as stored (`LPA:1$<SM-DP+>$<MatchingID>`,
 * optionally `$$1`): SGP.22 §4.1 wants the `LPA:` prefix in a QR code and never the confirmation code itself.
 */
export const QR_OPTIONS = { type: 'png', errorCorrectionLevel: 'M', margin: 2, width: 360 } as const;

export interface RenderedQr {
  png: Buffer;
  /** Strong validator over the PNG bytes, quoted as the header wants it. */
  etag: string;
}

/** Renders one activation code as a PNG. Deterministic: the same text and options give the same bytes. */
export async function renderQrPng(text: string): Promise<RenderedQr> {
  const png = await QRCode.toBuffer(text, { ...QR_OPTIONS });
  const etag = `"${createHash('sha256').update(png).digest('base64url').slice(0, 32)}"`;
  return { png, etag };
}

/**
 * Rendered PNGs keyed by the activation code. The promise is cached, so concurrent requests for one code
 * render it once; a failed render is dropped so the next request tries again.
 */
export class QrCache {
  private readonly entries: Lru<string, Promise<RenderedQr>>;

  constructor(capacity = 2000, private readonly render: (text: string) => Promise<RenderedQr> = renderQrPng) {
    this.entries = new Lru(capacity);
  }

  get size(): number {
    return this.entries.size;
  }

  get(text: string): Promise<RenderedQr> {
    const cached = this.entries.get(text);
    if (cached) return cached;
    const pending = this.render(text);
    this.entries.set(text, pending);
    pending.catch(() => {
      if (this.entries.get(text) === pending) this.entries.delete(text);
    });
    return pending;
  }
}

/** True when an If-None-Match header value matches the ETag (weak comparison, RFC 9110 §13.1.2). */
export function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  const bare = (tag: string) => tag.trim().replace(/^W\//, '');
  const wanted = bare(etag);
  return ifNoneMatch.split(',').some((tag) => tag.trim() === '*' || bare(tag) === wanted);
}

/** What a branded QR shows besides the code: the partner's logo in the middle and its name underneath. */
export interface QrBrand {
  name: string;
  /** A validated data: URL (see domain/console/branding.ts), or null for no logo. */
  logoDataUrl: string | null;
  accentColor: string;
}

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };
const xml = (value: string) => value.replace(/[&<>"']/g, (c) => XML_ESCAPES[c]);

/** Quiet zone in modules (ISO/IEC 18004 asks for 4). */
const QUIET = 4;
/** The logo covers at most this share of the code's width: about 5 % of its area, well inside level H's 30 %. */
const LOGO_SHARE = 0.22;

/**
 * The activation code as an SVG QR code at error correction H, so the code still reads with the logo over
 * its middle, and the brand name under it. Dark modules under the logo are left out (a clean white box),
 * which the error correction recovers. One path in module units keeps the file small and crisp at any size.
 */
export function renderBrandedQrSvg(text: string, brand: QrBrand | null): string {
  const qr = QRCode.create(text, { errorCorrectionLevel: 'H' });
  const n = qr.modules.size;
  const side = n + 2 * QUIET;
  let logoBox: { from: number; to: number } | null = null;
  if (brand?.logoDataUrl) {
    let size = Math.floor(n * LOGO_SHARE);
    if ((n - size) % 2 !== 0) size -= 1; // centred on whole modules
    const from = (n - size) / 2;
    logoBox = { from, to: from + size };
  }
  const inLogo = (r: number, c: number) => logoBox !== null && r >= logoBox.from && r < logoBox.to && c >= logoBox.from && c < logoBox.to;
  let path = '';
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      if (qr.modules.get(r, c) && !inLogo(r, c)) path += `M${c + QUIET} ${r + QUIET}h1v1h-1z`;
    }
  }
  const name = brand?.name.trim() ?? '';
  const textBand = name ? 6 : 0;
  const height = side + textBand;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${side} ${height}" width="${side * 8}" height="${height * 8}" role="img" aria-label="${xml(name ? `QR code for installing the eSIM, ${name}` : 'QR code for installing the eSIM')}">`,
    `<rect width="${side}" height="${height}" fill="#fff"/>`,
    `<path d="${path}" fill="#000" shape-rendering="crispEdges"/>`,
  ];
  if (brand?.logoDataUrl && logoBox) {
    const size = logoBox.to - logoBox.from;
    const at = logoBox.from + QUIET;
    parts.push(`<rect x="${at}" y="${at}" width="${size}" height="${size}" rx="1" fill="#fff"/>`);
    parts.push(`<image x="${at + 0.5}" y="${at + 0.5}" width="${size - 1}" height="${size - 1}" preserveAspectRatio="xMidYMid meet" href="${xml(brand.logoDataUrl)}"/>`);
  }
  if (name) {
    const fontSize = Math.min(3.2, (side - 4) / Math.max(1, [...name].length * 0.58));
    parts.push(`<rect x="${QUIET}" y="${side - 1}" width="${n}" height="0.6" fill="${xml(brand!.accentColor)}"/>`);
    parts.push(
      `<text x="${side / 2}" y="${side + textBand / 2}" dominant-baseline="middle" text-anchor="middle" font-family="system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif" font-weight="700" font-size="${fontSize.toFixed(2)}" fill="#111">${xml(name)}</text>`,
    );
  }
  parts.push('</svg>');
  return `${parts.join('')}\n`;
}

export interface RenderedSvg {
  svg: string;
  etag: string;
}

export function renderBrandedQr(text: string, brand: QrBrand | null): RenderedSvg {
  const svg = renderBrandedQrSvg(text, brand);
  return { svg, etag: `"${createHash('sha256').update(svg).digest('base64url').slice(0, 32)}"` };
}
