import type { FastifyInstance, FastifyReply } from 'fastify';
import type { AppContext } from '../../context.ts';
import type { EsimStatus } from '../../store/schema.ts';
import { getBranding } from '../../domain/console/branding.ts';
import { INSTALL_PAGE_CSP, installPageCsp, renderInstallPage, renderMessagePage, type InstallBrand } from './page.ts';
import { QR_TOKEN_CHARS, SHORT_CODE_CHARS } from '../../domain/esims/identifiers.ts';
import { QrCache, etagMatches, renderBrandedQr } from './qr.ts';

/** Shapes made by the allocator (base58 of QR_TOKEN_CHARS and SHORT_CODE_CHARS); anything else is refused unread. */
const QR_TOKEN = new RegExp(`^[1-9A-HJ-NP-Za-km-z]{${QR_TOKEN_CHARS}}$`);
const SHORT_CODE = new RegExp(`^[1-9A-HJ-NP-Za-km-z]{${SHORT_CODE_CHARS}}$`);

/** eSIMs in these states can never be installed any more: their links answer 410 Gone. */
const GONE: ReadonlySet<EsimStatus> = new Set<EsimStatus>(['CANCEL', 'REVOKE']);

const QR_CACHE_ENTRIES = 2000;

/** Headers every answer here carries: the URLs hold a download credential. */
function privacyHeaders(reply: FastifyReply): FastifyReply {
  return reply.header('x-robots-tag', 'noindex, nofollow').header('referrer-policy', 'no-referrer').header('x-content-type-options', 'nosniff');
}

function plain(reply: FastifyReply, status: number, text: string) {
  return privacyHeaders(reply).code(status).header('cache-control', 'no-store').type('text/plain; charset=utf-8').send(`${text}\n`);
}

function html(reply: FastifyReply, status: number, body: string, csp = INSTALL_PAGE_CSP) {
  return privacyHeaders(reply)
    .code(status)
    .header('content-security-policy', csp)
    .header('x-frame-options', 'DENY')
    .header('cache-control', 'private, no-store')
    .type('text/html; charset=utf-8')
    .send(body);
}

/**
 * An SVG opened on its own is a document: allow it nothing but its own inline images (the logo) and styles,
 * and sandbox it, so even a logo that slipped past validation could not run or load anything.
 */
const SVG_CSP = "default-src 'none'; img-src data:; sandbox";

async function brandOf(ctx: AppContext, partnerId: string): Promise<InstallBrand | null> {
  const branding = await getBranding(ctx.store.db, partnerId);
  return branding ? { name: branding.display_name, logoDataUrl: branding.logo_data_url, accentColor: branding.accent_color } : null;
}

/**
 * End-user install links: `GET /qr/<qr_token>.png` (the QR image of the activation code), `GET
 * /qr/<qr_token>.svg` (the same code as an SVG with the partner's logo and name, when it has branding) and
 * `GET /i/<short_code>` (the install page, in the partner's branding). The PNG and page URLs are what
 * esim/query returns as qrCodeUrl and shortUrl.
 */
export async function installPlugin(app: FastifyInstance, opts: { ctx: AppContext }): Promise<void> {
  const { ctx } = opts;
  const qrCache = new QrCache(QR_CACHE_ENTRIES);

  app.get<{ Params: { file: string } }>('/qr/:file', async (request, reply) => {
    const file = request.params.file;
    const svg = file.endsWith('.svg');
    const token = file.endsWith('.png') || svg ? file.slice(0, -4) : '';
    if (!QR_TOKEN.test(token)) return plain(reply, 404, 'Not found');
    const esim = await ctx.store.db.selectFrom('esims').select(['ac', 'esim_status', 'partner_id']).where('qr_token', '=', token).executeTakeFirst();
    if (!esim) return plain(reply, 404, 'Not found');
    if (GONE.has(esim.esim_status)) return plain(reply, 410, 'Gone: this eSIM is no longer available');
    if (svg) {
      // Branding can change, so the SVG is revalidated (cheaply, by ETag) rather than cached for good.
      const { svg: body, etag } = renderBrandedQr(esim.ac, await brandOf(ctx, esim.partner_id));
      privacyHeaders(reply).header('cache-control', 'private, no-cache').header('etag', etag).header('content-security-policy', SVG_CSP);
      if (etagMatches(request.headers['if-none-match'], etag)) return reply.code(304).send();
      return reply.type('image/svg+xml; charset=utf-8').send(body);
    }
    // The status is read on every request (one indexed lookup); only the rendering is cached.
    const { png, etag } = await qrCache.get(esim.ac);
    privacyHeaders(reply).header('cache-control', 'public, max-age=86400, immutable').header('etag', etag);
    if (etagMatches(request.headers['if-none-match'], etag)) return reply.code(304).send();
    return reply.type('image/png').send(png);
  });

  app.get<{ Params: { code: string } }>('/i/:code', async (request, reply) => {
    const code = request.params.code;
    const notFound = () => html(reply, 404, renderMessagePage('eSIM not found', 'This install link is not valid. Check that you copied the whole link, or ask your provider for a new one.'));
    if (!SHORT_CODE.test(code)) return notFound();
    const esim = await ctx.store.db
      .selectFrom('esims')
      .select(['ac', 'smdp_address', 'matching_id', 'confirmation_code', 'iccid', 'package_code', 'esim_status', 'smdp_status', 'environment', 'qr_token', 'partner_id'])
      .where('short_code', '=', code)
      .executeTakeFirst();
    if (!esim) return notFound();
    if (GONE.has(esim.esim_status)) {
      return html(reply, 410, renderMessagePage('eSIM no longer available', 'This eSIM has been cancelled or revoked and can no longer be installed. Ask your provider for a new one.'));
    }
    const pkg = ctx.catalog.get(esim.package_code) ?? ctx.catalog.all().find((p) => p.package_code === esim.package_code);
    const brand = await brandOf(ctx, esim.partner_id);
    const page = renderInstallPage({
      planName: pkg?.name ?? esim.package_code,
      // Relative to /i/<code>, so it also resolves when PUBLIC_BASE_URL carries a path prefix.
      qrSrc: `../qr/${esim.qr_token}.png`,
      brandedQrSrc: brand ? `../qr/${esim.qr_token}.svg` : null,
      brand,
      ac: esim.ac,
      smdpAddress: esim.smdp_address,
      matchingId: esim.matching_id,
      confirmationCode: esim.confirmation_code,
      iccid: esim.iccid,
      sandbox: esim.environment === 'sandbox',
      alreadyDownloaded: esim.smdp_status !== 'RELEASED',
    });
    return html(reply, 200, page, installPageCsp(brand));
  });
}
