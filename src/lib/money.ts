/** Money is an integer count of 1/10,000 of the currency unit (10000 = $1.00). */
export const MINOR_PER_UNIT = 10_000;

/** Parses "100", "100.5", "1000.00" (units) into minor units; null when it is not a plain decimal. */
export function parseUnitsToMinor(text: string): number | null {
  const m = /^(\d{1,12})(?:\.(\d{1,4}))?$/.exec(text.trim());
  if (!m) return null;
  const whole = Number(m[1]);
  const frac = Number(((m[2] ?? '') + '0000').slice(0, 4));
  const value = whole * MINOR_PER_UNIT + frac;
  return Number.isSafeInteger(value) ? value : null;
}

export function formatMinor(amountMinor: number, currency = 'USD'): string {
  const sign = amountMinor < 0 ? '-' : '';
  const abs = Math.abs(amountMinor);
  const units = Math.floor(abs / MINOR_PER_UNIT);
  const frac = String(abs % MINOR_PER_UNIT).padStart(4, '0').replace(/0{1,2}$/, '');
  return `${sign}${units}.${frac.length < 2 ? frac.padEnd(2, '0') : frac} ${currency}`;
}
