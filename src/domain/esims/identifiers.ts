import { randomInt } from 'node:crypto';
import { randomDigits } from '../../lib/ids.ts';

/** Luhn check digit over a string of digits (ITU-T E.118 ICCIDs). */
export function luhnCheckDigit(payload: string): number {
  let sum = 0;
  for (let i = 0; i < payload.length; i++) {
    let digit = payload.charCodeAt(payload.length - 1 - i) - 48;
    if (i % 2 === 0) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return (10 - (sum % 10)) % 10;
}

/** 19 or 20 digits (a trailing F pad allowed), starting 89, last significant digit a valid Luhn digit. */
export function iccidLuhnOk(iccid: string): boolean {
  const digits = iccid.replace(/[Ff]$/, '');
  return /^89\d{17,18}$/.test(digits) && luhnCheckDigit(digits.slice(0, -1)) === Number(digits.at(-1));
}

export function isIccidShape(iccid: string): boolean {
  return /^\d{19}[\dF]?$/.test(iccid);
}

/** Lengths of an eSIM's install tokens (base58): the QR image's and the short install link's. */
export const QR_TOKEN_CHARS = 24;
export const SHORT_CODE_CHARS = 10;

/** A Luhn-valid 19-digit ICCID: 89 + issuer prefix + serial + check digit. */
export function makeIccid(issuerPrefix: string, serial: string): string {
  // A short serial is padded; a long one is refused: cutting it to fit would hand one ICCID to many eSIMs
  // (the seeder once made 100 eSIMs per ICCID that way).
  if (!/^\d+$/.test(issuerPrefix + serial) || 2 + issuerPrefix.length + serial.length > 18) {
    throw new Error(`an ICCID is 89 + issuer prefix + serial in at most 18 digits before its check digit (got ${issuerPrefix}/${serial})`);
  }
  const payload = `89${issuerPrefix}${serial}`.padEnd(18, '0');
  return payload + luhnCheckDigit(payload);
}

/** EID: 32 digits whose value mod 97 is 1 (SGP.29 check digits, like IBAN). */
export function makeEid(): string {
  const base = `89049032${randomDigits(22)}00`;
  const check = 98n - ((BigInt(base) * 1n) % 97n);
  return base.slice(0, 30) + String(check).padStart(2, '0');
}

export function eidOk(eid: string): boolean {
  return /^\d{32}$/.test(eid) && BigInt(eid) % 97n === 1n;
}

const MATCHING_ALPHABET = '0123456789ABCDEFGHJKLMNPQRSTUVWXYZ';

/** MatchingID in the SGP.22 character set ([0-9A-Z-]), grouped like real SM-DP+ tokens. */
export function makeMatchingId(): string {
  const group = (n: number) => Array.from({ length: n }, () => MATCHING_ALPHABET[randomInt(MATCHING_ALPHABET.length)]).join('');
  return `${group(5)}-${group(5)}-${group(5)}-${group(5)}`;
}

export function isMatchingId(text: string): boolean {
  return /^[0-9A-Z-]{1,64}$/.test(text);
}

/** `LPA:1$<SM-DP+ address>$<MatchingID>`, with the confirmation-code-required flag when one is set. */
export function activationCode(smdpAddress: string, matchingId: string, confirmationRequired = false): string {
  return `LPA:1$${smdpAddress}$${matchingId}${confirmationRequired ? '$$1' : ''}`;
}

export function parseActivationCode(text: string): { smdpAddress: string; matchingId: string; confirmationRequired: boolean } | null {
  const body = text.startsWith('LPA:') ? text.slice(4) : text;
  const parts = body.split('$');
  if (parts[0] !== '1' || parts.length < 3 || !parts[1] || !/^[A-Za-z0-9.-]+$/.test(parts[1])) return null;
  return { smdpAddress: parts[1], matchingId: parts[2], confirmationRequired: parts[4] === '1' };
}
