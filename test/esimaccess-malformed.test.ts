import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestPartner, type TestServer } from './helpers/server.ts';
import { walletBalance, walletBalanceFromTransfers } from '../src/domain/ledger/ledger.ts';

const ENDPOINTS = [
  '/balance/query',
  '/package/list',
  '/location/list',
  '/esim/order',
  '/esim/query',
  '/esim/cancel',
  '/esim/suspend',
  '/esim/unsuspend',
  '/esim/revoke',
  '/esim/topup',
];

const CORPUS: string[] = [
  '',
  ' ',
  '{',
  '}',
  'null',
  'true',
  '42',
  '"text"',
  '[]',
  '[{}]',
  '{"a":',
  '{"transactionId":}',
  '\u0000\u0001',
  '{"transactionId": {"$gt": ""}}',
  '{"transactionId": ["a"], "packageInfoList": "x"}',
  '{"packageInfoList": [null, 1, "a", []]}',
  '{"packageInfoList": [{"packageCode": {}, "count": "many"}]}',
  '{"packageInfoList": [{"packageCode": "US_1_7", "count": -1}], "transactionId": "t"}',
  '{"packageInfoList": [{"packageCode": "US_1_7", "count": 1e308}], "transactionId": "t2"}',
  '{"packageInfoList": [{"packageCode": "US_1_7", "count": 1, "periodNum": 1.5}], "transactionId": "t3"}',
  '{"locationCode": ["US"], "type": 7}',
  '{"type": "SOMETHING"}',
  '{"iccid": "not-digits"}',
  '{"iccid": 8.9e19}',
  '{"esimTranNo": {"x": 1}}',
  '{"pager": "all"}',
  '{"pager": {"pageNum": "x", "pageSize": null}}',
  '{"pager": {"pageNum": -5, "pageSize": 100000}}',
  '{"startTime": "yesterday", "endTime": 5}',
  '{"startTime": "2026-02-30T00:00+00:00"}',
  '{"orderNo": "B' + '9'.repeat(200) + '"}',
  '{"amount": "NaN"}',
  '{"amount": -100, "transactionId": "neg", "packageInfoList": [{"packageCode": "US_1_7", "count": 1}]}',
  '{"__proto__": {"polluted": true}, "constructor": {"prototype": {"x": 1}}}',
  JSON.stringify({ transactionId: 'é'.repeat(60) }),
  JSON.stringify({ packageCode: 'x'.repeat(10_000) }),
  '{"a":' + '['.repeat(5000) + ']'.repeat(5000) + '}',
];

describe('malformed requests never break the eSIM Access API', () => {
  let server: TestServer;
  let partner: TestPartner;

  beforeAll(async () => {
    server = await startServer();
    partner = await server.createPartner();
  });
  afterAll(async () => server.close());

  it('answers every corpus body on every endpoint in the envelope, without a 500, and changes no money', async () => {
    const before = await walletBalance(server.ctx.store.db, partner.partnerId);
    for (const endpoint of ENDPOINTS) {
      for (const body of CORPUS) {
        const res = await server.ea(endpoint, body, partner);
        expect(res.status, `${endpoint} ${body.slice(0, 60)}`).toBe(200);
        expect(typeof res.json?.success, `${endpoint} ${body.slice(0, 60)} → ${res.text.slice(0, 200)}`).toBe('boolean');
        expect(res.text).not.toMatch(/at .*\.ts:\d+|stack/i);
        if (!res.json.success) {
          expect(res.json.errorCode).toMatch(/^\d{6}$/);
          expect(res.json.errorCode).not.toBe('000001');
          expect(res.json.obj).toBeNull();
        }
      }
    }
    const invalidJson = await server.ea('/esim/order', '{"transactionId":', partner);
    expect(invalidJson.json.errorCode).toBe('000104');
    const after = await walletBalance(server.ctx.store.db, partner.partnerId);
    // Only the corpus entries that are valid orders could have charged; none is: money is untouched.
    expect(after.balanceMinor).toBe(before.balanceMinor);
    expect(await walletBalanceFromTransfers(server.ctx.store.db, partner.partnerId)).toBe(after.balanceMinor);
    expect(({} as any).polluted).toBeUndefined();
    // 370 requests, several answering the whole 3 MB catalogue: generous for shared CI machines.
  }, 240_000);

  it('survives random JSON values on every endpoint (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ENDPOINTS), fc.jsonValue({ maxDepth: 3 }), async (endpoint, value) => {
        const res = await server.ea(endpoint, JSON.stringify(value), partner);
        expect(res.status).toBe(200);
        expect(typeof res.json.success).toBe('boolean');
        if (!res.json.success) expect(res.json.errorCode).not.toBe('000001');
      }),
      { numRuns: 300 },
    );
  });

  it('survives random objects with the real parameter names (property)', async () => {
    const anyValue = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 3 }), fc.object({ maxDepth: 1 }));
    const keys = ['transactionId', 'packageInfoList', 'amount', 'locationCode', 'type', 'packageCode', 'slug', 'iccid', 'esimTranNo', 'orderNo', 'pager', 'startTime', 'endTime', 'periodNum', 'count'];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ENDPOINTS), fc.dictionary(fc.constantFrom(...keys), anyValue), async (endpoint, body) => {
        const res = await server.ea(endpoint, JSON.stringify(body), partner);
        expect(res.status).toBe(200);
        expect(typeof res.json.success).toBe('boolean');
        if (!res.json.success) expect(res.json.errorCode).not.toBe('000001');
      }),
      { numRuns: 400 },
    );
  });

  it('reads a body sent without a Content-Type, or with a wrong one, as JSON', async () => {
    const res = await fetch(`${server.baseUrl}/api/v1/open/package/list`, { method: 'POST', headers: { 'RT-AccessCode': partner.accessCode }, body: '{"locationCode":"JP"}' });
    const json = await res.json();
    expect(json.success).toBe(true);
    expect(json.obj.packageList.length).toBeGreaterThan(0);
    expect(json.obj.packageList.every((p: any) => p.locationCode === 'JP')).toBe(true);
    const form = await fetch(`${server.baseUrl}/api/v1/open/package/list`, { method: 'POST', headers: { 'RT-AccessCode': partner.accessCode, 'content-type': 'application/x-www-form-urlencoded' }, body: '{"locationCode":"FR"}' });
    expect((await form.json()).obj.packageList.every((p: any) => p.locationCode === 'FR')).toBe(true);
  });

  it('answers unknown endpoints in the envelope', async () => {
    const res = await server.ea('/no/such/thing', {}, partner);
    expect(res.status).toBe(404);
    expect(res.json).toMatchObject({ success: false, errorCode: '000103' });
  });
});
