import type { Kysely } from 'kysely';
import type { DB } from '../../store/schema.ts';
import type { PartnerBrandingTable } from '../../store/tables/console.ts';
import { DomainError } from '../errors.ts';

export type Branding = PartnerBrandingTable;

/** Decoded logo bytes allowed: install pages inline the logo, so it must stay small. */
export const MAX_LOGO_BYTES = 100 * 1024;
export const MAX_DISPLAY_NAME = 60;
export const DEFAULT_ACCENT = '#0a58ca';

const ACCENT = /^#[0-9a-f]{6}$/;
const LOGO_TYPES = ['image/png', 'image/jpeg', 'image/svg+xml'] as const;
type LogoType = (typeof LOGO_TYPES)[number];

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const JPEG_MAGIC = Buffer.from([0xff, 0xd8, 0xff]);

function invalid(field: string, message: string): DomainError {
  return new DomainError('invalid_argument', message, { field });
}

/**
 * What an SVG logo may not contain. Install pages show it in <img> (where scripts never run), but the same
 * bytes also end up in downloaded QR SVGs and could be opened on their own; refusing is simpler and safer
 * than sanitizing: script, event handlers, anything that loads or links outside the file, and entity tricks.
 */
const SVG_FORBIDDEN: Array<[RegExp, string]> = [
  [/<\s*script/i, 'a <script> element'],
  [/\son[a-z]+\s*=/i, 'an event handler attribute (on…=)'],
  [/<\s*foreignObject/i, 'a <foreignObject> element'],
  [/<\s*(iframe|embed|object|audio|video|animate|set|handler|listener)\b/i, 'an active or embedding element'],
  [/<!\s*(DOCTYPE|ENTITY)/i, 'a DOCTYPE or ENTITY declaration'],
  [/javascript\s*:/i, 'a javascript: URL'],
  [/@import/i, 'a CSS @import'],
  // Only same-document references (#id) may be linked; href="data:…" and http(s) refs load other content.
  [/\bhref\s*=(?!\s*["']#)/i, 'a link to something outside the file'],
  [/url\((?!\s*["']?#)/i, 'a CSS url() outside the file'],
];

function sniff(bytes: Buffer): LogoType | null {
  if (bytes.subarray(0, 8).equals(PNG_MAGIC)) return 'image/png';
  if (bytes.subarray(0, 3).equals(JPEG_MAGIC)) return 'image/jpeg';
  const text = bytes.toString('utf8').replace(/^\uFEFF/, '').trimStart();
  if (/^(<\?xml[^>]*>\s*)?(<!--[\s\S]*?-->\s*)*<svg[\s>]/i.test(text)) return 'image/svg+xml';
  return null;
}

/**
 * Checks a logo given as a base64 data: URL: a PNG, JPEG or SVG by its content (not just by its declared
 * type, which must agree), at most MAX_LOGO_BYTES, an SVG free of anything active or external.
 * Answers the data URL in a normalized form.
 */
export function validateLogo(dataUrl: string): string {
  const match = /^data:([a-z+/.-]+)(?:;charset=[a-z0-9-]+)?;base64,([A-Za-z0-9+/\s]*={0,2})$/i.exec(dataUrl.trim());
  if (!match) throw invalid('logo_data_url', 'logo must be a base64 data: URL (data:image/png;base64,…)');
  const declared = match[1].toLowerCase();
  if (!(LOGO_TYPES as readonly string[]).includes(declared)) throw invalid('logo_data_url', `logo must be a PNG, JPEG or SVG image, not ${declared}`);
  const bytes = Buffer.from(match[2].replace(/\s+/g, ''), 'base64');
  if (bytes.length === 0) throw invalid('logo_data_url', 'logo is empty');
  if (bytes.length > MAX_LOGO_BYTES) throw invalid('logo_data_url', `logo is ${Math.ceil(bytes.length / 1024)} kB; at most ${MAX_LOGO_BYTES / 1024} kB is allowed`);
  const actual = sniff(bytes);
  if (!actual) throw invalid('logo_data_url', 'logo is not a PNG, JPEG or SVG image (its content does not match)');
  if (actual !== declared) throw invalid('logo_data_url', `logo says it is ${declared} but its content is ${actual}`);
  if (actual === 'image/svg+xml') {
    const text = bytes.toString('utf8');
    if (text.includes('\uFFFD')) throw invalid('logo_data_url', 'the SVG logo is not valid UTF-8 text');
    for (const [pattern, what] of SVG_FORBIDDEN) {
      if (pattern.test(text)) throw invalid('logo_data_url', `the SVG logo is refused: it contains ${what}; export a plain SVG (shapes and text only) or a PNG`);
    }
  }
  return `data:${actual};base64,${bytes.toString('base64')}`;
}

export function validateAccent(value: string): string {
  const accent = value.trim().toLowerCase();
  if (!ACCENT.test(accent)) throw invalid('accent_color', 'accent_color must be a colour like #0a58ca');
  return accent;
}

export function validateDisplayName(value: string): string {
  const name = value.trim().replace(/\s+/g, ' ');
  // Control and bidi-override characters could disguise the name on the install page.
  if (/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/.test(name)) throw invalid('display_name', 'display_name may not contain control characters');
  if (!name || [...name].length > MAX_DISPLAY_NAME) throw invalid('display_name', `display_name must be 1..${MAX_DISPLAY_NAME} characters`);
  return name;
}

export async function getBranding(db: Kysely<DB>, partnerId: string): Promise<Branding | null> {
  return (await db.selectFrom('partner_branding').selectAll().where('partner_id', '=', partnerId).executeTakeFirst()) ?? null;
}

/** What a branded QR code shows (the shape of http/install/qr.ts's QrBrand), or null without branding. */
export function qrBrandOf(branding: Branding | null): { name: string; logoDataUrl: string | null; accentColor: string } | null {
  return branding ? { name: branding.display_name, logoDataUrl: branding.logo_data_url, accentColor: branding.accent_color } : null;
}

/** Validates everything first, then writes once (an upsert): bad input changes nothing. */
export async function saveBranding(
  db: Kysely<DB>,
  partnerId: string,
  input: { displayName: string; logoDataUrl: string | null; accentColor: string },
  nowMs: number,
): Promise<Branding> {
  const row: Branding = {
    partner_id: partnerId,
    display_name: validateDisplayName(input.displayName),
    logo_data_url: input.logoDataUrl === null || input.logoDataUrl === '' ? null : validateLogo(input.logoDataUrl),
    accent_color: validateAccent(input.accentColor),
    updated_at: nowMs,
  };
  const { partner_id: _, ...changes } = row;
  await db
    .insertInto('partner_branding')
    .values(row)
    .onConflict((oc) => oc.column('partner_id').doUpdateSet(changes))
    .execute();
  return row;
}

export async function deleteBranding(db: Kysely<DB>, partnerId: string): Promise<void> {
  await db.deleteFrom('partner_branding').where('partner_id', '=', partnerId).execute();
}
