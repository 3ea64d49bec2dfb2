import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signEsimAccess, timestampToMs, verifyEsimAccessSignature } from '../src/http/dialects/esimaccess/signature.ts';
import { signHeaders, startServer, type TestPartner, type TestServer } from './helpers/server.ts';

describe('eSIM Access HMAC signature', () => {
  it("reproduces the docs' test vector", () => {
    const signature = signEsimAccess('1111', '1628670421', '4ce9d9cdac9e4e17b3a2c66c358c1ce2', '11111', '{"imsi":"326543826"}');
    expect(signature.toUpperCase()).toBe('7EB765E27DF5373DEA2DBC8C41A7D9557743E46C8054750F3D851B3FD01D0835');
    expect(
      verifyEsimAccessSignature({
        signature: '7EB765E27DF5373DEA2DBC8C41A7D9557743E46C8054750F3D851B3FD01D0835',
        timestamp: '1628670421',
        requestId: '4ce9d9cdac9e4e17b3a2c66c358c1ce2',
        accessCode: '11111',
        secretKey: '1111',
        rawBody: '{"imsi":"326543826"}',
      }),
    ).toBe(true);
  });

  it('accepts a signature keyed with the AccessCode and refuses any change of the body', () => {
    const byAccessCode = signEsimAccess('11111', '1628670421', 'r1', '11111', '{}');
    const base = { timestamp: '1628670421', requestId: 'r1', accessCode: '11111', secretKey: '1111' };
    expect(verifyEsimAccessSignature({ ...base, signature: byAccessCode, rawBody: '{}' })).toBe(true);
    expect(verifyEsimAccessSignature({ ...base, signature: byAccessCode, rawBody: '{ }' })).toBe(false);
    expect(verifyEsimAccessSignature({ ...base, signature: 'zz', rawBody: '{}' })).toBe(false);
  });

  it('reads timestamps in seconds and in milliseconds', () => {
    expect(timestampToMs('1628670421')).toBe(1628670421000);
    expect(timestampToMs('1628670421123')).toBe(1628670421123);
    expect(timestampToMs('abc')).toBeNull();
  });
});

describe('eSIM Access authentication over HTTP', () => {
  let server: TestServer;
  let partner: TestPartner;

  beforeAll(async () => {
    server = await startServer();
    partner = await server.createPartner();
  });
  afterAll(async () => server.close());

  it('authenticates with RT-AccessCode alone, header names case-insensitive', async () => {
    const res = await server.ea('/balance/query', '', null, { headers: { 'rt-accesscode': partner.accessCode } });
    expect(res.status).toBe(200);
    expect(res.json.success).toBe(true);
    expect(res.json.obj.balance).toBe(1000 * 10_000);
  });

  it('answers 000101 for a missing or unknown AccessCode', async () => {
    const missing = await server.ea('/balance/query', {}, null);
    expect(missing.status).toBe(200);
    expect(missing.json).toMatchObject({ success: false, errorCode: '000101', obj: null });
    const unknown = await server.ea('/balance/query', {}, null, { headers: { 'RT-AccessCode': 'nope' } });
    expect(unknown.json).toMatchObject({ success: false, errorCode: '000101' });
    expect(unknown.json.errorMsg).toContain('RT-AccessCode');
  });

  it('accepts a valid signature over the raw body bytes', async () => {
    const raw = '{ "locationCode" : "" }';
    const res = await server.ea('/balance/query', raw, partner, { sign: true });
    expect(res.json.success).toBe(true);
  });

  it('refuses a wrong signature with 101003', async () => {
    const headers = signHeaders(partner, '{"a":1}');
    const res = await server.ea('/balance/query', '{"a":2}', partner, { headers });
    expect(res.json).toMatchObject({ success: false, errorCode: '101003' });
  });

  it('refuses an expired timestamp with 101001', async () => {
    const headers = signHeaders(partner, '{}', Date.now() - 3_600_000);
    const res = await server.ea('/balance/query', '{}', partner, { headers });
    expect(res.json).toMatchObject({ success: false, errorCode: '101001' });
  });

  it('refuses a replayed RT-RequestID within the window', async () => {
    const headers = signHeaders(partner, '{}');
    const first = await server.ea('/balance/query', '{}', partner, { headers });
    expect(first.json.success).toBe(true);
    const replay = await server.ea('/balance/query', '{}', partner, { headers });
    expect(replay.json.success).toBe(false);
    expect(replay.json.errorCode).toBe('101001');
  });

  it('requires a signature when the key says so', async () => {
    const key = await server.ctx.partners.createKey(partner.partnerId, { signatureRequired: true }, Date.now());
    const strict = { ...partner, keyId: key.keyId, accessCode: key.accessCode, secretKey: key.secretKey };
    const unsigned = await server.ea('/balance/query', '{}', strict);
    expect(unsigned.json).toMatchObject({ success: false, errorCode: '101003' });
    const signed = await server.ea('/balance/query', '{}', strict, { sign: true });
    expect(signed.json.success).toBe(true);
  });

  it('blocks listed IPs with 101002', async () => {
    const blocked = await server.createPartner();
    await server.ctx.partners.update(blocked.partnerId, { ipBlocklist: ['127.0.0.0/8'] }, Date.now());
    server.ctx.keys.invalidate();
    const res = await server.ea('/balance/query', '{}', blocked);
    expect(res.json).toMatchObject({ success: false, errorCode: '101002' });
  });

  it('refuses a revoked key, keeps a rolled key working for the grace period', async () => {
    const p = await server.createPartner();
    const { key: rolled } = await server.ctx.partners.rollKey(p.keyId, Date.now());
    server.ctx.keys.invalidate();
    expect((await server.ea('/balance/query', '{}', p)).json.success).toBe(true);
    const newer = { ...p, accessCode: rolled.accessCode, secretKey: rolled.secretKey };
    expect((await server.ea('/balance/query', '{}', newer)).json.success).toBe(true);
    await server.ctx.partners.revokeKey(p.keyId, Date.now());
    server.ctx.keys.invalidate();
    expect((await server.ea('/balance/query', '{}', p)).json.errorCode).toBe('000101');
    expect((await server.ea('/balance/query', '{}', newer)).json.success).toBe(true);
  });

  it('refuses a suspended partner', async () => {
    const p = await server.createPartner();
    await server.ctx.partners.update(p.partnerId, { status: 'suspended' }, Date.now());
    server.ctx.keys.invalidate();
    const res = await server.ea('/balance/query', '{}', p);
    expect(res.json).toMatchObject({ success: false, errorCode: '401001' });
  });

  it('rate-limits per AccessCode in the envelope', async () => {
    const p = await server.createPartner({ rateLimitPerSecond: 8 });
    // 40 at once: even on a busy machine they arrive well within the time 32 more tokens would take (4 s).
    const results = await Promise.all(Array.from({ length: 40 }, () => server.ea('/balance/query', '{}', p)));
    const limited = results.filter((r) => r.json.errorCode === '900001');
    const passed = results.filter((r) => r.json.success === true);
    expect(passed.length).toBeGreaterThanOrEqual(8);
    expect(passed.length).toBeLessThan(40);
    expect(limited.length).toBe(40 - passed.length);
    expect(limited[0].status).toBe(200);
    expect(limited[0].json.errorMsg).toMatch(/Rate limit/);
    expect(limited[0].headers.get('retry-after')).toBeTruthy();
  });

  it('answers 000103 for methods other than POST and keeps a request id on every response', async () => {
    const res = await server.ea('/balance/query', '', partner, { method: 'GET' });
    expect(res.json).toMatchObject({ success: false, errorCode: '000103' });
    expect(res.headers.get('x-request-id')).toBeTruthy();
    const echoed = await server.ea('/balance/query', '', partner, { headers: { 'x-request-id': 'client-chosen-id-1' } });
    expect(echoed.headers.get('x-request-id')).toBe('client-chosen-id-1');
  });
});
