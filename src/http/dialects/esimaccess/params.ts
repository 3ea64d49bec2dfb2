import { EsimAccessError, MESSAGES } from './envelope.ts';

/**
 * Reads eSIM Access request parameters with the live API's tolerance: `null` and `""` mean "not given",
 * numbers may arrive as numeric strings, unknown fields are ignored. Failures carry the seed's codes.
 */
export type Body = Record<string, unknown>;

export function parseBody(raw: string | undefined): Body {
  if (raw === undefined || raw.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new EsimAccessError('000104', MESSAGES.invalidJson);
  }
  if (value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new EsimAccessError('000104', `${MESSAGES.invalidJson}: the body must be a JSON object`);
  return value as Body;
}

interface StringOptions {
  max?: number;
  pattern?: RegExp;
  patternHint?: string;
}

function given(value: unknown): boolean {
  return value !== undefined && value !== null && value !== '';
}

export function optionalString(body: Body, name: string, options: StringOptions = {}): string | undefined {
  const value = body[name];
  if (!given(value)) return undefined;
  let text: string;
  if (typeof value === 'string') text = value.trim();
  else if (typeof value === 'number' && Number.isFinite(value)) text = String(value);
  else throw new EsimAccessError('000107', `Request parameter [${name}] must be a string`);
  if (text === '') return undefined;
  if (options.max !== undefined && text.length > options.max) {
    throw new EsimAccessError('000107', `Request parameter [${name}] is longer than ${options.max} characters`);
  }
  if (options.pattern && !options.pattern.test(text)) {
    throw new EsimAccessError('000107', `Request parameter [${name}] ${options.patternHint ?? 'has an invalid format'}`);
  }
  return text;
}

export function requiredString(body: Body, name: string, options: StringOptions = {}): string {
  if (!(name in body)) throw new EsimAccessError('000105', MESSAGES.missingParam(name));
  const value = optionalString(body, name, options);
  if (value === undefined) throw new EsimAccessError('000106', MESSAGES.nullParam(name));
  return value;
}

export function optionalInt(body: Body, name: string, min: number, max: number): number | undefined {
  const value = body[name];
  if (!given(value)) return undefined;
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!Number.isSafeInteger(n)) throw new EsimAccessError('000107', `Request parameter [${name}] must be a whole number`);
  if (n < min || n > max) throw new EsimAccessError('000107', `Request parameter [${name}] must be between ${min} and ${max}`);
  return n;
}

export function requiredInt(body: Body, name: string, min: number, max: number): number {
  if (!(name in body)) throw new EsimAccessError('000105', MESSAGES.missingParam(name));
  const value = optionalInt(body, name, min, max);
  if (value === undefined) throw new EsimAccessError('000106', MESSAGES.nullParam(name));
  return value;
}

export function optionalEnum<T extends string>(body: Body, name: string, values: readonly T[]): T | undefined {
  const text = optionalString(body, name, { max: 40 });
  if (text === undefined) return undefined;
  const upper = text.toUpperCase() as T;
  if (!values.includes(upper)) throw new EsimAccessError('000107', `Request parameter [${name}] must be one of ${values.join(', ')}`);
  return upper;
}

export function optionalObject(body: Body, name: string): Body | undefined {
  const value = body[name];
  if (!given(value)) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw new EsimAccessError('000107', `Request parameter [${name}] must be an object`);
  return value as Body;
}

export function optionalArray(body: Body, name: string): unknown[] | undefined {
  const value = body[name];
  if (!given(value)) return undefined;
  if (!Array.isArray(value)) throw new EsimAccessError('000107', `Request parameter [${name}] must be a list`);
  return value;
}
