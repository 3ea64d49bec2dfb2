import { createHash } from 'node:crypto';

/**
 * The end-user install page (`/i/<short code>`): pure HTML templates with inline CSS, no script and no
 * external asset. Every value is HTML-escaped; the page is allowed nothing but its own stylesheet (by hash)
 * and images from its own origin.
 */

export interface InstallPageData {
  planName: string;
  /** The QR image URL; a same-origin path such as `/qr/<token>.png`. */
  qrSrc: string;
  /** The activation code exactly as in the QR code: `LPA:1$<SM-DP+>$<MatchingID>` (maybe `$$1`). */
  ac: string;
  smdpAddress: string;
  matchingId: string;
  confirmationCode: string | null;
  iccid: string;
  /** A sandbox eSIM: its SM-DP+ is simulated, so no phone can install it. */
  sandbox: boolean;
  /** The profile has left the RELEASED state: it was downloaded (or deleted) already. */
  alreadyDownloaded: boolean;
  /** The partner's branding, shown instead of a neutral page; null or absent for none. */
  brand?: InstallBrand | null;
  /** The branded QR (SVG with logo and name), shown instead of the PNG when there is branding. */
  brandedQrSrc?: string | null;
}

export interface InstallBrand {
  name: string;
  /** A validated PNG/JPEG/SVG data: URL (domain/console/branding.ts), or null. */
  logoDataUrl: string | null;
  /** #rrggbb (validated). */
  accentColor: string;
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

/** iOS 17.4+ universal link that opens the eSIM setup sheet. */
export function iosInstallUrl(ac: string): string {
  return `https://esimsetup.apple.com/esim_qrcode_provisioning?carddata=${encodeURIComponent(ac)}`;
}

/** The link some Android builds honour (no official Google documentation): best effort only. */
export function androidInstallUrl(ac: string): string {
  return `https://esimsetup.android.com/esim_qrcode_provisioning?carddata=${encodeURIComponent(ac)}`;
}

const CSS = `
:root{color-scheme:light dark;--fg:#111;--bg:#f5f6f8;--card:#fff;--muted:#555;--line:#dde1e6;--accent:#0a58ca;--warn-bg:#fff4d6;--warn-fg:#5c4300}
@media (prefers-color-scheme:dark){:root{--fg:#eee;--bg:#121416;--card:#1d2024;--muted:#aab;--line:#33383e;--accent:#6ea8fe;--warn-bg:#3d3210;--warn-fg:#ffe08a}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:16px/1.5 -apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;-webkit-text-size-adjust:100%}
main{max-width:34rem;margin:0 auto;padding:1rem}
h1{font-size:1.4rem;margin:.5rem 0 1rem}
h2{font-size:1.1rem;margin:0 0 .5rem}
section{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:1rem;margin:0 0 1rem}
.qr{text-align:center}
.qr img{width:100%;max-width:300px;height:auto;background:#fff;padding:8px;border-radius:8px;image-rendering:pixelated}
.muted{color:var(--muted);font-size:.9rem}
.note{background:var(--warn-bg);color:var(--warn-fg);border-radius:8px;padding:.75rem;margin:0 0 1rem}
.btn{display:block;text-align:center;text-decoration:none;font-weight:600;padding:.85rem 1rem;border-radius:10px;margin:.5rem 0;background:var(--accent);color:#fff}
.btn.alt{background:transparent;color:var(--accent);border:2px solid var(--accent)}
dl{margin:0}
dt{font-weight:600;margin-top:.75rem}
dd{margin:.25rem 0 0}
code{display:block;font:15px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:var(--bg);border:1px solid var(--line);border-radius:6px;padding:.5rem;overflow-wrap:anywhere;-webkit-user-select:all;user-select:all}
ol{padding-left:1.25rem;margin:.25rem 0 .75rem}
li{margin:.25rem 0}
.brand{display:flex;align-items:center;gap:.75rem;margin:.25rem 0 .5rem;padding-bottom:.75rem;border-bottom:3px solid var(--accent)}
.brand img{height:44px;width:auto;max-width:160px;object-fit:contain}
.brand span{font-weight:700;font-size:1.15rem}
.qr img.branded{image-rendering:auto;height:auto}
.qr .alt-link{display:inline-block;margin-top:.5rem;color:var(--accent)}
`;

const ACCENT = /^#[0-9a-f]{6}$/i;

/** The accent as its own stylesheet (allowed by its hash): the page CSS stays one constant. */
function accentCss(brand: InstallBrand | null | undefined): string | null {
  return brand && ACCENT.test(brand.accentColor) ? `:root{--accent:${brand.accentColor.toLowerCase()}}` : null;
}

const styleHash = (css: string) => `'sha256-${createHash('sha256').update(css).digest('base64')}'`;

/** Content-Security-Policy for every page built here: no script, no form, no frame, only this stylesheet. */
export const INSTALL_PAGE_CSP = installPageCsp(null);

/**
 * The CSP of an install page: a branded one also allows the accent stylesheet (by hash) and, only when
 * there is a logo, data: images (the logo is inlined so the page still needs nothing from elsewhere).
 */
export function installPageCsp(brand: InstallBrand | null | undefined): string {
  const accent = accentCss(brand);
  return [
    "default-src 'none'",
    brand?.logoDataUrl ? "img-src 'self' data:" : "img-src 'self'",
    `style-src ${[styleHash(CSS), ...(accent ? [styleHash(accent)] : [])].join(' ')}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

function layout(title: string, body: string, extraCss: string | null = null): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta name="referrer" content="no-referrer">
<meta name="format-detection" content="telephone=no">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>${extraCss ? `\n<style>${extraCss}</style>` : ''}
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

/** The install page of one eSIM. */
export function renderInstallPage(d: InstallPageData): string {
  const e = escapeHtml;
  const notes: string[] = [];
  if (d.sandbox) notes.push('<p class="note"><strong>Test eSIM.</strong> This eSIM was made in a sandbox account; no phone can install it.</p>');
  if (d.alreadyDownloaded) {
    notes.push('<p class="note"><strong>Already downloaded.</strong> This eSIM has been downloaded to a device. An eSIM can usually be installed only once; ask your provider if you need it again.</p>');
  }
  const confirmation = d.confirmationCode
    ? `<dt>Confirmation code</dt>
<dd><code>${e(d.confirmationCode)}</code><span class="muted">Your phone asks for this code during installation.</span></dd>`
    : '';
  const brand = d.brand ?? null;
  const header = brand
    ? `<header class="brand">${brand.logoDataUrl ? `<img src="${e(brand.logoDataUrl)}" alt="" height="44">` : ''}<span>${e(brand.name)}</span></header>\n`
    : '';
  const qr =
    brand && d.brandedQrSrc
      ? `<a href="${e(d.brandedQrSrc)}"><img class="branded" src="${e(d.brandedQrSrc)}" width="300" alt="QR code for installing the eSIM"></a>
<br><a class="alt-link" href="${e(d.qrSrc)}">QR code as a PNG image</a>`
      : `<a href="${e(d.qrSrc)}"><img src="${e(d.qrSrc)}" width="300" height="300" alt="QR code for installing the eSIM"></a>`;
  const body = `${header}<h1>Install your eSIM</h1>
<p><strong>${e(d.planName)}</strong></p>
${notes.join('\n')}
<section class="qr">
${qr}
<p class="muted">Scan this code with the phone that should get the eSIM. On iPhone (iOS 17.4 or later) you can also touch and hold the code.</p>
</section>
<section>
<h2>One-tap install</h2>
<a class="btn" href="${e(iosInstallUrl(d.ac))}" rel="noreferrer">Install on iPhone</a>
<p class="muted">Needs iOS 17.4 or later.</p>
<a class="btn alt" href="${e(androidInstallUrl(d.ac))}" rel="noreferrer">Install on Android</a>
<p class="muted">Works on some Android phones only. If nothing happens, scan the QR code or enter the details by hand.</p>
</section>
<section>
<h2>Enter the details by hand</h2>
<dl>
<dt>SM-DP+ address</dt>
<dd><code>${e(d.smdpAddress)}</code></dd>
<dt>Activation code</dt>
<dd><code>${e(d.matchingId)}</code></dd>
${confirmation}
<dt>Full activation code <span class="muted">(for phones that ask for one code)</span></dt>
<dd><code>${e(d.ac)}</code></dd>
</dl>
</section>
<section>
<h2>iPhone</h2>
<ol>
<li>Connect to Wi-Fi.</li>
<li>Tap <em>Install on iPhone</em> above, or open <em>Settings &rsaquo; Cellular (Mobile Service) &rsaquo; Add eSIM &rsaquo; Use QR Code</em> and scan the code shown on another screen.</li>
<li>To type it instead, choose <em>Enter Details Manually</em> and enter the SM-DP+ address and the activation code${d.confirmationCode ? ', then the confirmation code when asked' : ''}.</li>
<li>Follow the prompts, then turn on this line for Cellular Data and turn on Data Roaming when you travel.</li>
</ol>
<h2>Android</h2>
<ol>
<li>Connect to Wi-Fi.</li>
<li>Tap <em>Install on Android</em> above, or open <em>Settings &rsaquo; Network &amp; internet &rsaquo; SIMs &rsaquo; Add eSIM</em> (Samsung: <em>Settings &rsaquo; Connections &rsaquo; SIM manager &rsaquo; Add eSIM</em>) and scan the QR code.</li>
<li>To type it instead, choose <em>Enter code manually</em> (or <em>Need help?</em>) and enter the full activation code${d.confirmationCode ? '; enter the confirmation code when asked' : ''}.</li>
<li>Turn on the eSIM for mobile data and turn on roaming when you travel.</li>
</ol>
</section>
<p class="muted">ICCID <span>${e(d.iccid)}</span>. Keep this page private: anyone with this link can install the eSIM. Do not delete the eSIM from your phone after installing it.</p>`;
  return layout(brand ? `${brand.name}: install your eSIM` : `Install eSIM: ${d.planName}`, body, accentCss(brand));
}

/** A short page for errors (404 unknown link, 410 eSIM no longer available). */
export function renderMessagePage(title: string, message: string): string {
  return layout(title, `<h1>${escapeHtml(title)}</h1>\n<section><p>${escapeHtml(message)}</p></section>`);
}
