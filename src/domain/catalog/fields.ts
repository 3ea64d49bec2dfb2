/**
 * Import field definitions: names are the eSIM Access package/list keys, so an operator can re-import an
 * export (or a spreadsheet built from one). Each converter returns the value or a reason it is invalid.
 */

export type Convert = (raw: unknown) => { value: unknown } | { error: string };

/** A field's raw value: CSV gives strings; JSON may give numbers, booleans, null. */
function shown(raw: unknown): string {
  return typeof raw === 'string' ? JSON.stringify(raw) : String(raw);
}

function integerIn(min: number, max = Number.MAX_SAFE_INTEGER, what = 'an integer'): Convert {
  return (raw) => {
    let n: number;
    if (typeof raw === 'number') n = raw;
    else if (typeof raw === 'string' && /^[+-]?\d+$/.test(raw.trim())) n = Number(raw.trim());
    else return { error: `must be ${what}, got ${shown(raw)}` };
    if (!Number.isSafeInteger(n)) return { error: `must be ${what}, got ${shown(raw)}` };
    if (n < min || n > max) return { error: `must be ${min === max ? min : `between ${min} and ${max}`}, got ${n}` };
    return { value: n };
  };
}

function oneOf(values: readonly number[]): Convert {
  const toInt = integerIn(Math.min(...values), Math.max(...values));
  return (raw) => {
    const r = toInt(typeof raw === 'boolean' ? Number(raw) : raw);
    if ('error' in r) return { error: `must be one of ${values.join(', ')}, got ${shown(raw)}` };
    if (!values.includes(r.value as number)) return { error: `must be one of ${values.join(', ')}, got ${r.value}` };
    return r;
  };
}

/** 0/1, also written true/false (JSON booleans, or as spreadsheets export them). */
const flag: Convert = (raw) => {
  if (raw === true || raw === 'true' || raw === 'TRUE') return { value: 1 };
  if (raw === false || raw === 'false' || raw === 'FALSE') return { value: 0 };
  return oneOf([0, 1])(raw);
};

function text(maxLength: number, pattern?: RegExp, patternHint?: string): Convert {
  return (raw) => {
    if (typeof raw !== 'string' && typeof raw !== 'number') return { error: `must be text, got ${shown(raw)}` };
    const value = String(raw).trim();
    if (value.length > maxLength) return { error: `must be at most ${maxLength} characters, got ${value.length}` };
    if (pattern && !pattern.test(value)) return { error: `${patternHint}, got ${shown(value)}` };
    return { value };
  };
}

function upperEnum(values: readonly string[]): Convert {
  return (raw) => {
    const value = typeof raw === 'string' ? raw.trim().toUpperCase() : raw;
    if (typeof value !== 'string' || !values.includes(value)) return { error: `must be ${values.join(' or ')}, got ${shown(raw)}` };
    return { value };
  };
}

export interface FieldSpec {
  /** eSIM Access key (JSON key / CSV header, matched case-insensitively). */
  key: string;
  required: boolean;
  convert: Convert;
}

const MONEY = 'an integer amount in 1/10,000 USD (10000 = $1.00)';

export const FIELDS: readonly FieldSpec[] = [
  { key: 'packageCode', required: true, convert: text(60, /^[A-Za-z0-9_-]+$/, 'must be letters, digits, "_" or "-"') },
  { key: 'slug', required: true, convert: text(100, /^[A-Za-z0-9_.-]+$/, 'must be letters, digits, "_", "." or "-"') },
  { key: 'name', required: true, convert: text(200, /\S/, 'must not be empty') },
  { key: 'type', required: false, convert: upperEnum(['BASE', 'TOPUP']) },
  { key: 'price', required: true, convert: integerIn(1, Number.MAX_SAFE_INTEGER, MONEY) },
  { key: 'currencyCode', required: false, convert: upperEnum(['USD']) },
  { key: 'volume', required: true, convert: integerIn(1, Number.MAX_SAFE_INTEGER, 'an integer number of bytes') },
  { key: 'smsStatus', required: false, convert: oneOf([0, 1, 2]) },
  { key: 'dataType', required: false, convert: oneOf([1, 2, 3, 4]) },
  { key: 'unusedValidTime', required: false, convert: integerIn(1, 3650, 'an integer number of days') },
  { key: 'duration', required: true, convert: integerIn(1, 3650, 'an integer number of days') },
  { key: 'durationUnit', required: false, convert: upperEnum(['DAY']) },
  { key: 'location', required: false, convert: text(2000, /^[A-Za-z]{2}(\s*,\s*[A-Za-z]{2})*$/, 'must be comma-separated 2-letter country codes') },
  { key: 'locationCode', required: true, convert: text(20, /^[A-Za-z0-9-]+$/, 'must be a country or region code') },
  { key: 'description', required: false, convert: text(2000) },
  { key: 'activeType', required: false, convert: oneOf([1, 2]) },
  { key: 'retailPrice', required: false, convert: integerIn(0, Number.MAX_SAFE_INTEGER, MONEY) },
  { key: 'speed', required: false, convert: text(40) },
  { key: 'ipExport', required: false, convert: text(10, /^[A-Za-z]{2,10}$/, 'must be a country code such as HK or UK') },
  { key: 'supportTopUpType', required: false, convert: (raw) => (raw === true ? { value: 2 } : raw === false ? { value: 1 } : oneOf([1, 2])(raw)) },
  { key: 'fupPolicy', required: false, convert: text(2000) },
  { key: 'topupGroup', required: false, convert: text(60, /^[A-Za-z0-9_.-]+$/, 'must be letters, digits, "_", "." or "-"') },
  { key: 'isDaypass', required: false, convert: flag },
  { key: 'favorite', required: false, convert: flag },
  { key: 'status', required: false, convert: (raw) => {
    const value = typeof raw === 'string' ? raw.trim().toLowerCase() : raw;
    return value === 'active' || value === 'retired' ? { value } : { error: `must be active or retired, got ${shown(raw)}` };
  } },
  { key: 'sortOrder', required: false, convert: integerIn(0, 2_147_483_647) },
  { key: 'supply', required: false, convert: text(40, /^[a-z0-9_:-]+$/i, 'must be a supply name such as pool') },
];

/**
 * Keys of package/list answers that are derived here (networks come from the operators table), accepted
 * and ignored so an eSIM Access export imports as is.
 */
export const IGNORED_KEYS = new Set(['locationnetworklist', 'operatorlist']);

const BY_LOWER = new Map(FIELDS.map((f) => [f.key.toLowerCase(), f]));

export function fieldByName(name: string): FieldSpec | undefined {
  return BY_LOWER.get(name.trim().toLowerCase());
}
