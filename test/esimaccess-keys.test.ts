import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from './helpers/server.ts';

const HOUR_MS = 3600_000;

describe('a rolled key through /api/v1/open', () => {
  let server: TestServer;
  const realNow = Date.now;

  beforeAll(async () => {
    server = await startServer({ KEY_ROLL_GRACE_HOURS: '2' });
  });
  afterAll(async () => {
    server.ctx.now = realNow;
    await server.close();
  });

  /** Moves the server's clock (the one authentication reads) `offsetMs` ahead of real time. */
  const moveClock = (offsetMs: number) => {
    server.ctx.now = () => realNow() + offsetMs;
    // AccessCode lookups are cached for a second of that clock: a jump must not reuse them.
    server.ctx.keys.invalidate();
  };

  it('keeps working for KEY_ROLL_GRACE_HOURS, then answers 000101; the new key keeps working', async () => {
    const partner = await server.createPartner();
    const rolledAt = server.ctx.now();
    const res = await fetch(`${server.baseUrl}/v1/api-keys/${partner.keyId}/roll`, { method: 'POST', headers: { authorization: `Bearer ${partner.accessCode}` } });
    expect(res.status).toBe(201);
    const rolled = await res.json();
    const expiresAtMs = Date.parse(rolled.previous_key_expires_at);
    expect(expiresAtMs - rolledAt).toBeGreaterThanOrEqual(2 * HOUR_MS);
    expect(expiresAtMs - rolledAt).toBeLessThan(2 * HOUR_MS + 60_000);
    const fresh = { ...partner, accessCode: rolled.access_code, secretKey: rolled.secret_key };

    const balance = async (who: typeof partner) => (await server.ea('/balance/query', {}, who)).json;
    expect(await balance(partner)).toMatchObject({ success: true, obj: { balance: 1000 * 10_000 } });

    // Just inside the grace period: both keys work.
    moveClock(expiresAtMs - realNow() - 60_000);
    expect(await balance(partner)).toMatchObject({ success: true, obj: { balance: 1000 * 10_000 } });
    expect(await balance(fresh)).toMatchObject({ success: true, obj: { balance: 1000 * 10_000 } });

    // Past it: the old key is refused like an unknown one, signed or not; the new one works.
    moveClock(expiresAtMs - realNow() + 1_000);
    const refused = 'Req Header:[RT-AccessCode] is invalid';
    expect(await balance(partner)).toEqual({ success: false, errorCode: '000101', errorMsg: refused, errorMessage: refused, obj: null });
    expect((await server.ea('/package/list', { locationCode: 'US' }, partner, { sign: true })).json).toMatchObject({ success: false, errorCode: '000101' });
    expect(await balance(fresh)).toMatchObject({ success: true, obj: { balance: 1000 * 10_000 } });
    // The cache cannot revive it either: a second request after the lookup was cached is refused too.
    expect((await balance(partner)).errorCode).toBe('000101');
    // A key that expired cannot be rolled again.
    const again = await fetch(`${server.baseUrl}/v1/api-keys/${partner.keyId}/roll`, { method: 'POST', headers: { authorization: `Bearer ${fresh.accessCode}` } });
    expect(again.status).toBe(404);
  });
});
