import { randomBytes, randomInt } from 'node:crypto';

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

/** Prefixed, time-sortable id: `ptn_` + 10 chars of time + 12 random base58 chars. */
export function newId(prefix: string, nowMs: number = Date.now()): string {
  let time = '';
  let t = Math.floor(nowMs);
  for (let i = 0; i < 8; i++) {
    time = BASE58[t % 58] + time;
    t = Math.floor(t / 58);
  }
  return `${prefix}_${time}${randomBase58(12)}`;
}

export function randomBase58(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  for (let i = 0; i < length; i++) out += BASE58[bytes[i] % 58];
  return out;
}

/** Random string of upper-case hex, e.g. for AccessCodes. */
export function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

export function randomDigits(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += String(randomInt(10));
  return out;
}
