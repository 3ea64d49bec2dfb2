import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import jsQRModule from 'jsqr';
import { PNG } from 'pngjs';
import { installPageCsp, INSTALL_PAGE_CSP, renderInstallPage, type InstallPageData } from '../src/http/install/page.ts';
import { renderBrandedQrSvg } from '../src/http/install/qr.ts';
import { validateLogo } from '../src/domain/console/branding.ts';

const jsQR = ((jsQRModule as unknown as { default?: unknown }).default ?? jsQRModule) as unknown as (data: Uint8ClampedArray, width: number, height: number) => { data: string } | null;

const base: InstallPageData = {
  planName: 'United States 1GB 7Days',
  qrSrc: '../qr/TOKEN.png',
  ac: 'LPA:1$smdp.example.com$ABC-123',
  smdpAddress: 'smdp.example.com',
  matchingId: 'ABC-123',
  confirmationCode: null,
  iccid: '8900000000000000001',
  sandbox: false,
  alreadyDownloaded: false,
};
const svgLogo = `data:image/svg+xml;base64,${Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><rect width="4" height="4"/></svg>').toString('base64')}`;

/** Draws the SVG's 1x1 module path onto a bitmap, leaving the logo box white, and reads it. */
function decode(svg: string): string | null {
  const side = Number(/viewBox="0 0 (\d+) /.exec(svg)![1]);
  const scale = 5;
  const png = new PNG({ width: side * scale, height: side * scale });
  png.data.fill(255);
  for (const m of (/<path d="([^"]*)"/.exec(svg)![1]).matchAll(/M(\d+) (\d+)h1v1h-1z/g)) {
    for (let y = Number(m[2]) * scale; y < (Number(m[2]) + 1) * scale; y++) {
      for (let x = Number(m[1]) * scale; x < (Number(m[1]) + 1) * scale; x++) png.data.fill(0, (y * png.width + x) * 4, (y * png.width + x) * 4 + 3);
    }
  }
  return jsQR(new Uint8ClampedArray(png.data), png.width, png.height)?.data ?? null;
}

describe('branded install page', () => {
  it('is unchanged without branding', () => {
    expect(installPageCsp(null)).toBe(INSTALL_PAGE_CSP);
    expect(INSTALL_PAGE_CSP).toContain("img-src 'self';");
    const html = renderInstallPage(base);
    expect(html).not.toContain('class="brand"');
    expect(html.match(/<style>/g)).toHaveLength(1);
  });

  it('escapes the brand name and allows exactly its stylesheets and, with a logo, data: images', () => {
    const brand = { name: '<script>alert(1)</script>"&', logoDataUrl: svgLogo, accentColor: '#123abc' };
    const html = renderInstallPage({ ...base, brand, brandedQrSrc: '../qr/TOKEN.svg' });
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;&quot;&amp;');
    const csp = installPageCsp(brand);
    expect(csp).toContain("img-src 'self' data:");
    for (const [, css] of html.matchAll(/<style>([\s\S]*?)<\/style>/g)) expect(csp).toContain(`'sha256-${createHash('sha256').update(css).digest('base64')}'`);
    expect(installPageCsp({ ...brand, logoDataUrl: null })).toContain("img-src 'self';");
  });

  it('never lets an accent that is not #rrggbb into the page', () => {
    const html = renderInstallPage({ ...base, brand: { name: 'X', logoDataUrl: null, accentColor: 'red;}body{display:none' } });
    expect(html).not.toContain('display:none');
    expect(html.match(/<style>/g)).toHaveLength(1);
  });
});

describe('branded QR (SVG)', () => {
  it('reads as the activation code with the logo over its middle, for short and long codes', () => {
    for (const ac of ['LPA:1$a.example$X', 'LPA:1$smdp.sandbox.esimhub.dev$5K2Y2-CVBXR-6X8FR-LQWFG', `LPA:1$${'rsp.'.repeat(10)}example.com$${'A1B2C3D4'.repeat(8)}$$1`]) {
      const svg = renderBrandedQrSvg(ac, { name: 'Brand', logoDataUrl: svgLogo, accentColor: '#aa0000' });
      expect(svg).toContain('<image');
      expect(decode(svg), ac).toBe(ac);
    }
  });

  it('escapes the name and works without branding', () => {
    const svg = renderBrandedQrSvg('LPA:1$a.example$X', { name: '</text><script>x</script>', logoDataUrl: null, accentColor: '#000000' });
    expect(svg).not.toContain('<script>');
    expect(svg).toContain('&lt;/text&gt;&lt;script&gt;');
    const plain = renderBrandedQrSvg('LPA:1$a.example$X', null);
    expect(plain).not.toContain('<text');
    expect(decode(plain)).toBe('LPA:1$a.example$X');
  });
});

describe('logo validation', () => {
  it('accepts plain images and normalizes the data URL', () => {
    expect(validateLogo(svgLogo)).toBe(svgLogo);
    const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10]);
    expect(validateLogo(`data:image/jpeg;base64,${jpeg.toString('base64')}`)).toBe(`data:image/jpeg;base64,${jpeg.toString('base64')}`);
  });

  it('refuses same-document-looking tricks', () => {
    const svg = (body: string) => `data:image/svg+xml;base64,${Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg">${body}</svg>`).toString('base64')}`;
    expect(() => validateLogo(svg('<use href=" https://evil.example/x.svg#a"/>'))).toThrow(/outside the file/);
    expect(() => validateLogo(svg('<image href="data:image/svg+xml;base64,AAAA"/>'))).toThrow(/outside the file/);
    expect(() => validateLogo(svg('<rect style="fill:url( https://e.example/a)"/>'))).toThrow(/url\(\)/);
    expect(() => validateLogo(svg('<set attributeName="href" to="javascript:alert(1)"/>'))).toThrow();
    expect(validateLogo(svg('<use href="#a"/><rect fill="url(#g)"/>'))).toContain('data:image/svg+xml;base64,');
  });
});
