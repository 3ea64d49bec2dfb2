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
