/** Money is an integer count of 1/10,000 of the currency unit everywhere. */
export const MINOR_PER_UNIT = 10_000;

export function formatMoney(amountMinor: number, currency: string): string {
  const units = amountMinor / MINOR_PER_UNIT;
  try {
    return new Intl.NumberFormat('en-US', { style: 'currency', currency, minimumFractionDigits: 2, maximumFractionDigits: 4 }).format(units);
  } catch {
    return `${units.toFixed(2)} ${currency}`;
  }
}

/** "12.50" → 125000; null when not a valid non-negative amount with at most 4 decimals. */
export function parseMoney(text: string): number | null {
  const trimmed = text.trim().replace(/,/g, '');
  if (!/^\d+(\.\d{1,4})?$/.test(trimmed)) return null;
  const [whole, fraction = ''] = trimmed.split('.');
  return Number(whole) * MINOR_PER_UNIT + Number(fraction.padEnd(4, '0'));
}

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB'];
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return '—';
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value >= 100 || unit === 0 ? Math.round(value) : value.toFixed(value >= 10 ? 1 : 2)} ${UNITS[unit]}`;
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '—';
  return date.toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
}

/** 🇺🇸 from "US"; regions (EU-42, GL-120) and unknown codes get a globe. */
export function flag(code: string): string {
  if (!/^[A-Za-z]{2}$/.test(code)) return '🌐';
  const base = 0x1f1e6;
  return String.fromCodePoint(...code.toUpperCase().split('').map((c) => base + c.charCodeAt(0) - 65));
}
