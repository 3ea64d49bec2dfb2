import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * eSIM Access request signature: hex(HMAC-SHA256(key, Timestamp + RequestID + AccessCode + RawBody)).
 * The docs key it with the SecretKey, the vendor's reference scripts with the AccessCode: both are accepted.
 */
export function signEsimAccess(key: string, timestamp: string, requestId: string, accessCode: string, rawBody: string): string {
  return createHmac('sha256', key).update(timestamp + requestId + accessCode + rawBody, 'utf8').digest('hex');
}

function sameHex(expectedHex: string, givenHex: string): boolean {
  if (!/^[0-9a-fA-F]{64}$/.test(givenHex)) return false;
  // Case-insensitive, constant-time comparison of equal-length buffers.
  return timingSafeEqual(Buffer.from(expectedHex.toLowerCase(), 'utf8'), Buffer.from(givenHex.toLowerCase(), 'utf8'));
}

export function verifyEsimAccessSignature(params: {
  signature: string;
  timestamp: string;
  requestId: string;
  accessCode: string;
  secretKey: string;
  rawBody: string;
}): boolean {
  const { signature, timestamp, requestId, accessCode, secretKey, rawBody } = params;
  if (sameHex(signEsimAccess(secretKey, timestamp, requestId, accessCode, rawBody), signature)) return true;
  return sameHex(signEsimAccess(accessCode, timestamp, requestId, accessCode, rawBody), signature);
}

/** RT-Timestamp is milliseconds per the header description, seconds in the docs' own test vector. */
export function timestampToMs(text: string): number | null {
  if (!/^\d{9,14}$/.test(text.trim())) return null;
  const value = Number(text.trim());
  return value >= 1e12 ? value : value * 1000;
}
