import crypto, { createHmac, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestPartner, type TestServer } from './helpers/server.ts';
import { orderOne } from './helpers/orders.ts';
import { openTestStore } from './helpers/store.ts';
import { killHard, post, runCli, spawnServer, type ServerProcess } from './helpers/process.ts';
import { connectStore, type Store } from '../src/store/connect.ts';
import { emitEvent } from '../src/domain/events/outbox.ts';
import { checkLowBalance } from '../src/domain/notifications/low-balance.ts';
import { WebhookEndpoints } from '../src/domain/notifications/webhooks.ts';
import { Partners, ensurePriceTiers } from '../src/domain/partners/partners.ts';
import { SecretBox } from '../src/lib/secrets.ts';
import { isForbiddenAddress } from '../src/lib/webhook-url.ts';
import { verifyWebhook as libVerify } from '../src/lib/standard-webhooks.ts';
import { Dispatcher, nextAttemptAfterFailure, retryDelayMs, DEFAULT_RETRY_SCHEDULE_MS, DEFAULT_RETRY_WINDOW_MS } from '../src/workers/dispatch.ts';
import { renderEsimAccessWebhook } from '../src/http/dialects/esimaccess/webhook-payload.ts';

const PG_URL = process.env.ESIMHUB_TEST_PG_URL || 'postgres://root@127.0.0.1:5432/test';
const SKIP_PG = process.env.ESIMHUB_SKIP_PG === '1';

// ---------------------------------------------------------------------------------------------------------
// The receiver-side verifiers: the code docs/webhooks.md and the README show, extracted from them and run as
// they are (so the documented code cannot drift from what is tested).
// ---------------------------------------------------------------------------------------------------------

type Verifier = (secret: string, headers: Record<string, string | string[] | undefined>, rawBody: string, toleranceSeconds?: number) => any;

/** The ```js block of `file` that declares `function name(`, without its imports, as a callable function. */
function documentedFunction(file: string, name: string): Verifier {
  const text = fs.readFileSync(path.join(import.meta.dirname, '..', file), 'utf8');
  const block = [...text.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]).find((code) => code.includes(`function ${name}(`));
  if (!block) throw new Error(`${file} shows no function ${name}`);
  const body = block.replace(/^import .*$/gm, '').replace(/^export /gm, '');
  return new Function('createHmac', 'timingSafeEqual', `${body}\nreturn ${name};`)(createHmac, timingSafeEqual);
}

const verifyWebhook = documentedFunction('docs/webhooks.md', 'verifyWebhook');
const readmeIsGenuine = documentedFunction('README.md', 'isGenuineWebhook');

// ---------------------------------------------------------------------------------------------------------
// A real HTTP receiver on localhost.
// ---------------------------------------------------------------------------------------------------------

interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
  json: any;
  at: number;
}

/** `destroy`: close the connection without answering. */
type Reply = { status: number; body?: string; headers?: Record<string, string>; delayMs?: number; destroy?: boolean };

interface Receiver {
  url: string;
  received: Received[];
  /** Requests other than CHECK_HEALTH. */
  events(): Received[];
  respond: (req: Received, index: number) => Reply;
  close(): Promise<void>;
}

async function startReceiver(respond: (req: Received, index: number) => Reply = () => ({ status: 200 })): Promise<Receiver> {
  const received: Received[] = [];
  const receiver: Receiver = {
    url: '',
    received,
    events: () => received.filter((r) => r.json?.notifyType !== 'CHECK_HEALTH'),
    respond,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: any = null;
      try {
        json = JSON.parse(body);
      } catch {
        json = null;
      }
      const entry: Received = { headers: req.headers, body, json, at: Date.now() };
      received.push(entry);
      const reply = receiver.respond(entry, received.length - 1);
      if (reply.destroy) return void req.socket.destroy();
      const send = () => {
        if (res.destroyed) return;
        res.writeHead(reply.status, { 'content-type': 'text/plain', ...(reply.headers ?? {}) });
        res.end(reply.body ?? `status ${reply.status}`);
      };
      if (reply.delayMs) setTimeout(send, reply.delayMs).unref();
      else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  return receiver;
}

async function waitFor<T>(what: string, check: () => Promise<T | undefined | null | false> | T | undefined | null | false, timeoutMs = 10_000, everyMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

async function unusedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const notifyTypeOf = (r: Received) => r.json?.notifyType;

// ---------------------------------------------------------------------------------------------------------
// Pure parts: rendering, schedule, address rules.
// ---------------------------------------------------------------------------------------------------------

describe('webhook rendering (eSIM Access)', () => {
  const at = Date.UTC(2026, 9, 7, 21, 13, 1, 456);
  const base = { id: 'evt_1', occurredAtMs: at };
  const common = { esimId: 'esim_1', orderNo: 'B26100721130001', esimTranNo: '26100721130001', transactionId: 'txn-1', iccid: '8901234567890123456' };

  it('renders every event with exactly the wire-rule content fields', () => {
    expect(renderEsimAccessWebhook({ ...base, type: 'order.ready', payload: { orderId: 'ord_1', orderNo: 'B1', transactionId: 't1' } })).toEqual({
      notifyType: 'ORDER_STATUS',
      eventGenerateTime: '2026-10-07T21:13:01+0000',
      notifyId: 'evt_1',
      content: { orderNo: 'B1', transactionId: 't1', orderStatus: 'GOT_RESOURCE' },
    });
    expect(renderEsimAccessWebhook({ ...base, type: 'order.failed', payload: { orderId: 'ord_1', orderNo: 'B1', transactionId: 't1', reason: 'no stock' } })!.content).toEqual({
      orderNo: 'B1',
      transactionId: 't1',
      orderStatus: 'FAILED',
      reason: 'no stock',
    });
    expect(renderEsimAccessWebhook({ ...base, type: 'esim.smdp', payload: { ...common, eid: '89049032', esimStatus: 'GOT_RESOURCE', smdpStatus: 'DOWNLOAD' } })).toEqual({
      notifyType: 'SMDP_EVENT',
      eventGenerateTime: '2026-10-07T21:13:01+0000',
      notifyId: 'evt_1',
      content: { eid: '89049032', iccid: common.iccid, esimStatus: 'GOT_RESOURCE', smdpStatus: 'DOWNLOAD', orderNo: common.orderNo, esimTranNo: common.esimTranNo, transactionId: 'txn-1' },
    });
    const status = renderEsimAccessWebhook({ ...base, type: 'esim.status', payload: { ...common, esimStatus: 'REVOKE', smdpStatus: 'DISABLED' } })!;
    expect(status.notifyType).toBe('ESIM_STATUS');
    expect(status.content).toEqual({ orderNo: common.orderNo, esimTranNo: common.esimTranNo, transactionId: 'txn-1', iccid: common.iccid, esimStatus: 'REVOKED', smdpStatus: 'DISABLED' });
    for (const s of ['IN_USE', 'USED_UP', 'USED_EXPIRED', 'UNUSED_EXPIRED', 'CANCEL']) {
      expect(renderEsimAccessWebhook({ ...base, type: 'esim.status', payload: { ...common, esimStatus: s, smdpStatus: 'ENABLED' } })!.content.esimStatus).toBe(s);
    }
    const usage = renderEsimAccessWebhook({
      ...base,
      type: 'esim.data_usage',
      payload: { ...common, totalVolume: 1000, orderUsage: 900, remain: 100, lastUpdateTimeMs: at, remainThreshold: 0.1 },
    })!;
    expect(usage.notifyType).toBe('DATA_USAGE');
    expect(usage.content).toEqual({
      orderNo: common.orderNo,
      transactionId: 'txn-1',
      esimTranNo: common.esimTranNo,
      iccid: common.iccid,
      totalVolume: 1000,
      orderUsage: 900,
      remain: 100,
      lastUpdateTime: '2026-10-07T21:13:01+0000',
      remainThreshold: 0.1,
    });
    const validity = renderEsimAccessWebhook({
      ...base,
      type: 'esim.validity',
      payload: { ...common, durationUnit: 'DAY', totalDuration: 30, expiredTimeMs: at + 86_400_000, remain: 1 },
    })!;
    expect(validity.notifyType).toBe('VALIDITY_USAGE');
    expect(validity.content).toEqual({ orderNo: common.orderNo, transactionId: 'txn-1', iccid: common.iccid, durationUnit: 'DAY', totalDuration: 30, expiredTime: '2026-10-08T21:13:01+0000', remain: 1 });
    expect(renderEsimAccessWebhook({ ...base, type: 'balance.low', payload: { balance: 90_000, lastDeposit: 1_000_000, thresholdPercent: 10 } })).toEqual({
      notifyType: 'BALANCE_LOW',
      eventGenerateTime: '2026-10-07T21:13:01+0000',
      notifyId: 'evt_1',
      content: { balance: 90_000, lastDepositAmount: 1_000_000, remainPercent: 10, lastUpdateTime: '2026-10-07T21:13:01+0000' },
    });
    expect(renderEsimAccessWebhook({ ...base, type: 'pool.low_stock', payload: {} })).toBeNull();
  });

  it('retries over more than 24 hours with backoff and jitter, then gives up', () => {
    const start = 1_000_000;
    let now = start;
    const times: number[] = [];
    for (let failed = 1; failed < 100; failed++) {
      const next = nextAttemptAfterFailure({ nowMs: now, cycleStartedAt: start, failedAttempts: failed, retryAfterMs: null, random: () => 0.5 });
      if (next === null) break;
      times.push(next - start);
      now = next;
    }
    expect(times.slice(0, 4)).toEqual([5_000, 35_000, 155_000, 755_000]);
    expect(times.at(-1)).toBe(DEFAULT_RETRY_WINDOW_MS);
    expect(DEFAULT_RETRY_WINDOW_MS).toBeGreaterThan(24 * 3600_000);
    expect(times.length).toBeLessThan(15);
    // Jitter stays within ±20 %, and Retry-After is never undercut.
    for (let i = 0; i < 200; i++) {
      const d = retryDelayMs(3, DEFAULT_RETRY_SCHEDULE_MS);
      expect(d).toBeGreaterThanOrEqual(96_000);
      expect(d).toBeLessThanOrEqual(144_000);
    }
    expect(nextAttemptAfterFailure({ nowMs: start, cycleStartedAt: start, failedAttempts: 1, retryAfterMs: 600_000, random: () => 0.5 })).toBe(start + 600_000);
  });

  it('refuses loopback, private, link-local, unique-local, CGNAT and metadata addresses', () => {
    const forbidden = ['127.0.0.1', '127.1.2.3', '10.0.0.1', '172.16.5.4', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', '::', 'fe80::1', 'fc00::1', 'fd00:ec2::254', '::ffff:127.0.0.1', '::ffff:10.1.2.3', '64:ff9b::a00:1', '2002:0a00:0001::1', '224.0.0.1'];
    const allowed = ['93.184.216.34', '8.8.8.8', '2606:2800:220:1:248:1893:25c8:1946', '::ffff:8.8.8.8', '172.32.0.1', '100.128.0.1'];
    for (const a of forbidden) expect(isForbiddenAddress(a), a).toBe(true);
    for (const a of allowed) expect(isForbiddenAddress(a), a).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Against the real server.
// ---------------------------------------------------------------------------------------------------------

describe('webhooks (eSIM Access, real server)', () => {
  let server: TestServer;
  const receivers: Receiver[] = [];
  const receiver = async (respond?: (req: Received, index: number) => Reply) => {
    const r = await startReceiver(respond);
    receivers.push(r);
    return r;
  };
  let us17: any;

  beforeAll(async () => {
    server = await startServer({ WEBHOOK_RETRY_SCHEDULE_MS: '50,50,50' });
    const probe = await server.createPartner();
    const list = await server.ea('/package/list', { locationCode: 'US' }, probe);
    us17 = list.json.obj.packageList.find((p: any) => p.slug === 'US_1_7');
  });
  afterAll(async () => {
    await server?.close();
    for (const r of receivers) await r.close();
  });

  async function saveWebhook(partner: TestPartner, url: string) {
    const res = await server.ea('/webhook/save', { webhook: url }, partner);
    expect(res.json, res.text).toMatchObject({ success: true });
    return res.json.obj as { webhook: string; signingSecret: string };
  }

  it('webhook/save sends a signed CHECK_HEALTH first and saves only an endpoint that answers 2xx', async () => {
    const partner = await server.createPartner();
    const failing = await receiver(() => ({ status: 500 }));
    const refused = await server.ea('/webhook/save', { webhook: failing.url }, partner);
    expect(refused.status).toBe(200);
    expect(refused.json).toMatchObject({ success: false, errorCode: '000108', obj: null });
    expect(refused.json.errorMsg).toMatch(/CHECK_HEALTH.*HTTP 500/);
    expect(failing.received).toHaveLength(1);
    expect(JSON.parse(failing.received[0].body)).toEqual({ notifyType: 'CHECK_HEALTH', content: { orderNo: '1234567890', orderStatus: 'Test' } });

    const closedPort = await unusedPort();
    const dead = await server.ea('/webhook/save', { webhookUrl: `http://127.0.0.1:${closedPort}/x` }, partner);
    expect(dead.json).toMatchObject({ success: false, errorCode: '000108' });
    expect(dead.json.errorMsg).toMatch(/ECONNREFUSED/);
    expect((await server.ea('/webhook/query', {}, partner)).json.obj.webhook).toBeNull();

    for (const bad of ['ftp://example.com/x', 'not a url', `https://example.com/${'x'.repeat(500)}`]) {
      const res = await server.ea('/webhook/save', { webhook: bad }, partner);
      expect(res.json, bad).toMatchObject({ success: false, errorCode: '000107' });
    }
    expect((await server.ea('/webhook/save', {}, partner)).json).toMatchObject({ success: false, errorCode: '000105' });

    const good = await receiver();
    const saved = await server.ea('/webhook/save', { webhookUrl: good.url }, partner);
    expect(saved.json).toMatchObject({ success: true, errorCode: '0', obj: { webhook: good.url } });
    const secret = saved.json.obj.signingSecret as string;
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(24);
    // CHECK_HEALTH is signed the same way as every webhook.
    const check = good.received[0];
    expect(verifyWebhook(secret, check.headers, check.body)).toEqual({ notifyType: 'CHECK_HEALTH', content: { orderNo: '1234567890', orderStatus: 'Test' } });

    const query = await server.ea('/webhook/query', {}, partner);
    expect(query.json).toMatchObject({ success: true, obj: { webhook: good.url, signingSecret: secret } });

    // Saving again keeps the secret; an empty value clears the endpoint (and keeps the secret too).
    expect((await saveWebhook(partner, good.url)).signingSecret).toBe(secret);
    expect((await server.ea('/webhook/save', { webhook: '' }, partner)).json).toMatchObject({ success: true, obj: { webhook: null } });
    expect((await server.ea('/webhook/query', {}, partner)).json.obj).toEqual({ webhook: null, signingSecret: secret });
  });

  it('refuses loopback and private endpoints for live partners without connecting', async () => {
    const live = await server.createPartner({ environment: 'live' });
    const local = await receiver();
    const started = Date.now();
    const loop = await server.ea('/webhook/save', { webhook: local.url }, live);
    expect(loop.json).toMatchObject({ success: false, errorCode: '000107' });
    expect(loop.json.errorMsg).toMatch(/127\.0\.0\.1.*(internal|private)/);
    const ten = await server.ea('/webhook/save', { webhook: 'http://10.0.0.1/hook' }, live);
    expect(ten.json).toMatchObject({ success: false, errorCode: '000107' });
    for (const url of ['http://localhost:9/x', 'http://[::1]:9/x', 'http://169.254.169.254/latest/meta-data', 'http://0x7f.1/x', 'http://100.64.1.1/x', 'http://[fd00::1]/x']) {
      const res = await server.ea('/webhook/save', { webhook: url }, live);
      expect(res.json, url).toMatchObject({ success: false, errorCode: '000107' });
    }
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(local.received).toHaveLength(0);
    // The same loopback URL is fine for a sandbox partner.
    const sandbox = await server.createPartner();
    await saveWebhook(sandbox, local.url);
    expect(local.received).toHaveLength(1);
  });

  it('lets live partners use private addresses when ALLOW_PRIVATE_WEBHOOKS=true', async () => {
    const permissive = await startServer({ ALLOW_PRIVATE_WEBHOOKS: 'true' });
    try {
      const live = await permissive.createPartner({ environment: 'live' });
      const local = await receiver();
      const res = await permissive.ea('/webhook/save', { webhook: local.url }, live);
      expect(res.json).toMatchObject({ success: true, obj: { webhook: local.url } });
      expect(local.received).toHaveLength(1);
    } finally {
      await permissive.close();
    }
  });

  it('delivers one signed ORDER_STATUS per order, rendered as eSIM Access', async () => {
    const partner = await server.createPartner();
    const hook = await receiver();
    const { signingSecret } = await saveWebhook(partner, hook.url);
    const { orderNo } = await orderOne(server, partner, us17.packageCode, 'wh-order-1');
    const [delivery] = await waitFor('ORDER_STATUS', () => (hook.events().length ? hook.events() : null));
    const body = verifyWebhook(signingSecret, delivery.headers, delivery.body);
    // The library verifier agrees with the documented one.
    expect(libVerify(signingSecret, delivery.headers, delivery.body)).toEqual(body);
    // And so does the README's short one.
    expect(readmeIsGenuine(signingSecret, delivery.headers, delivery.body)).toBe(true);
    expect(readmeIsGenuine(signingSecret, delivery.headers, delivery.body.replace('GOT_RESOURCE', 'GOT_RESOURCF'))).toBe(false);
    expect(readmeIsGenuine('whsec_' + crypto.randomBytes(24).toString('base64'), delivery.headers, delivery.body)).toBe(false);
    expect(readmeIsGenuine(signingSecret, { ...delivery.headers, 'webhook-timestamp': String(Math.floor(Date.now() / 1000) - 600) }, delivery.body)).toBe(false);
    const event = await server.ctx.store.db.selectFrom('events').selectAll().where('partner_id', '=', partner.partnerId).where('type', '=', 'order.ready').executeTakeFirstOrThrow();
    expect(body).toEqual({
      notifyType: 'ORDER_STATUS',
      eventGenerateTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000$/),
      notifyId: event.id,
      content: { orderNo, transactionId: 'wh-order-1', orderStatus: 'GOT_RESOURCE' },
    });
    expect(delivery.headers['webhook-id']).toBe(event.id);
    expect(delivery.headers['content-type']).toBe('application/json');
    expect(Math.abs(Number(delivery.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(10);
    // A tampered body or another secret does not verify.
    expect(() => verifyWebhook(signingSecret, delivery.headers, delivery.body.replace('GOT_RESOURCE', 'GOT_RESOURCF'))).toThrow(/invalid signature/);
    expect(() => verifyWebhook('whsec_' + crypto.randomBytes(24).toString('base64'), delivery.headers, delivery.body)).toThrow(/invalid signature/);

    await new Promise((r) => setTimeout(r, 200));
    expect(hook.events()).toHaveLength(1);
    const rows = await server.ctx.store.db.selectFrom('webhook_deliveries').selectAll().where('partner_id', '=', partner.partnerId).execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'delivered', attempts: 1, event_id: event.id, url: hook.url, last_status_code: 200 });
    // Event-to-delivery lag is well under a second.
    expect(delivery.at - Number(event.created_at)).toBeLessThan(1_000);
  });

  it('retries a failing endpoint with the same webhook-id and notifyId, and records every attempt', async () => {
    const partner = await server.createPartner();
    let eventRequests = 0;
    const hook = await receiver((req) => {
      if (notifyTypeOf(req) === 'CHECK_HEALTH') return { status: 200 };
      eventRequests++;
      return eventRequests <= 3 ? { status: 500, body: `{"error":"try again ${eventRequests}"}` } : { status: 204 };
    });
    const { signingSecret } = await saveWebhook(partner, hook.url);
    await orderOne(server, partner, us17.packageCode, 'wh-retry-1');
    const delivered = await waitFor('a delivered delivery', async () => {
      const row = await server.ctx.store.db.selectFrom('webhook_deliveries').selectAll().where('partner_id', '=', partner.partnerId).executeTakeFirst();
      return row?.status === 'delivered' ? row : null;
    });
    const events = hook.events();
    expect(events).toHaveLength(4);
    const ids = new Set(events.map((e) => e.headers['webhook-id']));
    const notifyIds = new Set(events.map((e) => verifyWebhook(signingSecret, e.headers, e.body).notifyId));
    expect(ids).toEqual(new Set([delivered.event_id]));
    expect(notifyIds).toEqual(new Set([delivered.event_id]));
    expect(delivered.attempts).toBe(4);

    const attempts = await server.ctx.webhooks.listAttempts(delivered.id);
    expect(attempts.map((a) => [a.attempt_no, a.status_code])).toEqual([
      [1, 500],
      [2, 500],
      [3, 500],
      [4, 204],
    ]);
    expect(attempts[0].response_excerpt).toBe('{"error":"try again 1"}');
    expect(attempts[0].error).toBe('HTTP 500');
    for (const a of attempts) {
      expect(a.latency_ms).toBeGreaterThanOrEqual(0);
      expect(a.latency_ms).toBeLessThan(2_000);
      expect(a.url).toBe(hook.url);
    }
    expect(attempts[3].error).toBeNull();
  });

  it('honours Retry-After', async () => {
    const partner = await server.createPartner();
    let n = 0;
    const hook = await receiver((req) => (notifyTypeOf(req) === 'CHECK_HEALTH' ? { status: 200 } : ++n === 1 ? { status: 503, headers: { 'retry-after': '1' } } : { status: 200 }));
    await saveWebhook(partner, hook.url);
    await orderOne(server, partner, us17.packageCode, 'wh-retry-after');
    await waitFor('two requests', () => hook.events().length >= 2, 5_000);
    const [first, second] = hook.events();
    expect(second.at - first.at).toBeGreaterThanOrEqual(950);
  });

  it('keeps order per eSIM: a later event waits until the earlier one succeeded', async () => {
    const partner = await server.createPartner();
    let statusRequests = 0;
    const hook = await receiver((req) => {
      if (notifyTypeOf(req) !== 'ESIM_STATUS') return { status: 200 };
      statusRequests++;
      return statusRequests <= 3 ? { status: 500 } : { status: 200 };
    });
    const { signingSecret } = await saveWebhook(partner, hook.url);
    const { esim } = await orderOne(server, partner, us17.packageCode, 'wh-order-seq');
    expect((await server.ea('/esim/suspend', { esimTranNo: esim.esimTranNo }, partner)).json.success).toBe(true);
    expect((await server.ea('/esim/unsuspend', { esimTranNo: esim.esimTranNo }, partner)).json.success).toBe(true);
    await waitFor('both ESIM_STATUS delivered', async () => {
      const rows = await server.ctx.store.db.selectFrom('webhook_deliveries').innerJoin('events', 'events.id', 'webhook_deliveries.event_id').select(['webhook_deliveries.status']).where('webhook_deliveries.partner_id', '=', partner.partnerId).where('events.type', '=', 'esim.status').execute();
      return rows.length === 2 && rows.every((r) => r.status === 'delivered');
    });
    const statuses = hook.received.filter((r) => notifyTypeOf(r) === 'ESIM_STATUS').map((r) => verifyWebhook(signingSecret, r.headers, r.body).content.esimStatus);
    // Four tries of the first (three failed), and only then the second, once.
    expect(statuses).toEqual(['SUSPENDED', 'SUSPENDED', 'SUSPENDED', 'SUSPENDED', 'GOT_RESOURCE']);
  });

  it("a slow endpoint of one partner does not delay another partner's deliveries", async () => {
    const slowPartner = await server.createPartner();
    const slow = await receiver((req) => (notifyTypeOf(req) === 'CHECK_HEALTH' ? { status: 200 } : { status: 200, delayMs: 10_000 }));
    await saveWebhook(slowPartner, slow.url);
    for (let i = 0; i < 6; i++) {
      const res = await server.ea('/esim/order', { transactionId: `slow-${i}`, packageInfoList: [{ packageCode: us17.packageCode, count: 1 }] }, slowPartner);
      expect(res.json.success).toBe(true);
    }
    // Its per-partner slots fill up with hanging requests.
    await waitFor('the slow endpoint to hold requests', () => slow.events().length >= 4, 10_000);

    const fastPartner = await server.createPartner();
    const fast = await receiver();
    await saveWebhook(fastPartner, fast.url);
    await orderOne(server, fastPartner, us17.packageCode, 'fast-1');
    const [got] = await waitFor('the fast partner delivery', () => (fast.events().length ? fast.events() : null), 3_000);
    const event = await server.ctx.store.db.selectFrom('events').select(['created_at']).where('partner_id', '=', fastPartner.partnerId).where('type', '=', 'order.ready').executeTakeFirstOrThrow();
    expect(got.at - Number(event.created_at)).toBeLessThan(1_000);
    // Meanwhile the slow partner's requests are still hanging, and never more than its cap at once.
    expect(slow.events().length).toBe(4);
  });

  /** Emits `count` esim.status events round-robin over `subjects` (one transaction each); answers their ids by subject. */
  async function emitStatusEvents(db: TestServer['ctx']['store']['db'], partnerId: string, subjects: string[], count: number) {
    const bySubject = new Map<string, string[]>(subjects.map((s) => [s, []]));
    for (let i = 0; i < count; i++) {
      const subject = subjects[i % subjects.length];
      const id = await db.transaction().execute((trx) => emitEvent(trx, { partnerId, type: 'esim.status', subject, payload: { esimStatus: `S${i}`, iccid: subject } }, Date.now()));
      bySubject.get(subject)!.push(id);
    }
    return bySubject;
  }

  it('a receiver that fails for a while, then recovers, gets every event exactly (failed attempts + 1) times', async () => {
    const partner = await server.createPartner();
    // Failing first with HTTP 500, then by closing the connection unanswered, then acknowledging.
    let eventRequests = 0;
    const answered = new Map<string, { failed: number; ok: number; notifyIds: Set<string> }>();
    const hook = await receiver((req) => {
      if (notifyTypeOf(req) === 'CHECK_HEALTH') return { status: 200 };
      const id = req.headers['webhook-id'] as string;
      const entry = answered.get(id) ?? { failed: 0, ok: 0, notifyIds: new Set<string>() };
      answered.set(id, entry);
      entry.notifyIds.add(req.json.notifyId);
      eventRequests++;
      if (eventRequests > 55) {
        entry.ok++;
        return { status: 200 };
      }
      entry.failed++;
      return eventRequests <= 40 ? { status: 500 } : { status: 0, destroy: true };
    });
    await saveWebhook(partner, hook.url);
    const subjects = ['esim_r1', 'esim_r2', 'esim_r3', 'esim_r4', 'esim_r5', 'esim_r6'];
    const db = server.ctx.store.db;
    const emitted = await emitStatusEvents(db, partner.partnerId, subjects, 30);
    const eventIds = [...emitted.values()].flat();

    await waitFor('all 30 delivered', async () => {
      const rows = await db.selectFrom('webhook_deliveries').select('status').where('partner_id', '=', partner.partnerId).execute();
      return rows.length === 30 && rows.every((r) => r.status === 'delivered');
    }, 30_000);
    const seenAtDelivery = hook.events().length;
    await new Promise((r) => setTimeout(r, 500)); // a quiet period: nothing more may arrive
    expect(hook.events().length).toBe(seenAtDelivery);

    expect([...answered.keys()].sort()).toEqual([...eventIds].sort());
    expect(eventRequests).toBe(hook.events().length);
    expect(eventRequests).toBeGreaterThanOrEqual(55 + 30);
    const deliveries = await db.selectFrom('webhook_deliveries').selectAll().where('partner_id', '=', partner.partnerId).execute();
    let failedTotal = 0;
    for (const delivery of deliveries) {
      const seen = answered.get(delivery.event_id)!;
      // Acknowledged exactly once; asked exactly once more than it failed; always under the same id.
      expect(seen.ok, delivery.event_id).toBe(1);
      expect(delivery.attempts, delivery.event_id).toBe(seen.failed + 1);
      expect([...seen.notifyIds]).toEqual([delivery.event_id]);
      const attempts = await server.ctx.webhooks.listAttempts(delivery.id);
      expect(attempts.filter((a) => a.status_code !== 200).length, delivery.event_id).toBe(seen.failed);
      expect(attempts.map((a) => a.attempt_no)).toEqual(Array.from({ length: seen.failed + 1 }, (_, i) => i + 1));
      expect(attempts.at(-1)!.status_code).toBe(200);
      failedTotal += seen.failed;
    }
    expect(failedTotal).toBe(55);
    // In order per eSIM: each event's repeats come before the next event of the same eSIM.
    for (const [subject, ids] of emitted) {
      const arrived = hook.events().filter((r) => r.json.content.iccid === subject).map((r) => r.headers['webhook-id']);
      expect(arrived.filter((id, i) => i === 0 || arrived[i - 1] !== id)).toEqual(ids);
    }
  });

  it('records an attempt that outlives WEBHOOK_TIMEOUT_MS as timed out, retries it with the same id, and then probes a failing endpoint one request at a time', async () => {
    const quick = await startServer({ WEBHOOK_TIMEOUT_MS: '300', WEBHOOK_RETRY_SCHEDULE_MS: '50' });
    try {
      const partner = await quick.createPartner();
      let hanging = true;
      const hook = await receiver((req) => (notifyTypeOf(req) === 'CHECK_HEALTH' || !hanging ? { status: 200 } : { status: 200, delayMs: 2_000 }));
      const saved = await quick.ea('/webhook/save', { webhook: hook.url }, partner);
      expect(saved.json.success, saved.text).toBe(true);
      const db = quick.ctx.store.db;
      const emitted = await emitStatusEvents(db, partner.partnerId, ['esim_t1', 'esim_t2', 'esim_t3', 'esim_t4', 'esim_t5', 'esim_t6'], 6);
      const timedOutAttempts = async () =>
        db.selectFrom('webhook_attempts').innerJoin('webhook_deliveries', 'webhook_deliveries.id', 'webhook_attempts.delivery_id').selectAll('webhook_attempts').where('webhook_deliveries.partner_id', '=', partner.partnerId).orderBy('webhook_attempts.started_at').orderBy('webhook_attempts.attempt_no').execute();
      await waitFor('ten timed-out attempts', async () => (await timedOutAttempts()).length >= 10, 20_000, 50);
      hanging = false;
      await waitFor('all delivered', async () => {
        const rows = await db.selectFrom('webhook_deliveries').select('status').where('partner_id', '=', partner.partnerId).execute();
        return rows.length === 6 && rows.every((r) => r.status === 'delivered');
      }, 20_000);

      const attempts = await timedOutAttempts();
      const failed = attempts.filter((a) => a.status_code === null);
      expect(failed.length).toBeGreaterThanOrEqual(10);
      for (const a of failed) {
        expect(a.error).toBe('timed out after 300 ms');
        expect(a.response_excerpt).toBeNull();
      }
      // Every request of an event carried that event's id, and the one that was acknowledged too.
      const eventIds = [...emitted.values()].flat();
      const requestsById = new Map<string, number>();
      for (const r of hook.events()) {
        expect(r.json.notifyId).toBe(r.headers['webhook-id']);
        requestsById.set(r.json.notifyId, (requestsById.get(r.json.notifyId) ?? 0) + 1);
      }
      expect([...requestsById.keys()].sort()).toEqual([...eventIds].sort());
      const deliveries = await db.selectFrom('webhook_deliveries').select(['event_id', 'attempts']).where('partner_id', '=', partner.partnerId).execute();
      for (const d of deliveries) expect(requestsById.get(d.event_id), d.event_id).toBe(d.attempts);
      // Circuit breaker: the first round sends up to 4 at once; once attempts failed, one request at a time
      // (each attempt after the first four starts only after the one before it ended).
      const later = failed.slice(4);
      for (let i = 1; i < later.length; i++) expect(Number(later[i].started_at), `attempt ${i + 4}`).toBeGreaterThanOrEqual(Number(later[i - 1].started_at) + Number(later[i - 1].latency_ms) - 1);
    } finally {
      await quick.close();
    }
  });

  it("ten hanging partners do not hold up an eleventh: its events are all delivered while they still hang", async () => {
    // A long timeout: the hanging requests are certainly still open when the fast partner is served.
    const fair = await startServer({ WEBHOOK_TIMEOUT_MS: '60000' });
    try {
      const db = fair.ctx.store.db;
      const slowPartners: TestPartner[] = [];
      const slowHooks: Receiver[] = [];
      for (let i = 0; i < 10; i++) {
        const partner = await fair.createPartner();
        const hook = await receiver((req) => (notifyTypeOf(req) === 'CHECK_HEALTH' ? { status: 200 } : { status: 200, delayMs: 120_000 }));
        expect((await fair.ea('/webhook/save', { webhook: hook.url }, partner)).json.success).toBe(true);
        slowPartners.push(partner);
        slowHooks.push(hook);
        await emitStatusEvents(db, partner.partnerId, ['esim_s1', 'esim_s2', 'esim_s3', 'esim_s4', 'esim_s5', 'esim_s6'], 6);
      }
      // The slow partners hold at least every one of the 32 active slots.
      const slowRequests = () => slowHooks.reduce((n, h) => n + h.events().length, 0);
      await waitFor('the hanging requests', () => slowRequests() >= 32, 15_000);

      const fastPartner = await fair.createPartner();
      const fast = await receiver();
      expect((await fair.ea('/webhook/save', { webhook: fast.url }, fastPartner)).json.success).toBe(true);
      const fastIds = [...(await emitStatusEvents(db, fastPartner.partnerId, ['esim_f1', 'esim_f2', 'esim_f3'], 12)).values()].flat();
      await waitFor('every fast event delivered', async () => {
        const rows = await db.selectFrom('webhook_deliveries').select('status').where('partner_id', '=', fastPartner.partnerId).execute();
        return rows.length === 12 && rows.every((r) => r.status === 'delivered');
      }, 20_000);
      expect(new Set(fast.events().map((r) => r.headers['webhook-id']))).toEqual(new Set(fastIds));

      // Meanwhile no slow request has ended: none answered, none timed out, nothing recorded.
      const slowIds = slowPartners.map((p) => p.partnerId);
      const slowAttempts = await db.selectFrom('webhook_attempts').innerJoin('webhook_deliveries', 'webhook_deliveries.id', 'webhook_attempts.delivery_id').select('webhook_attempts.id').where('webhook_deliveries.partner_id', 'in', slowIds).execute();
      expect(slowAttempts).toHaveLength(0);
      const slowRows = await db.selectFrom('webhook_deliveries').select(['status', 'attempts']).where('partner_id', 'in', slowIds).execute();
      expect(slowRows.every((r) => r.status === 'pending' && r.attempts === 0)).toBe(true);
      // Each slow partner holds its own cap (4) and no more, though together they hold more than the 32 active slots.
      expect(slowHooks.map((h) => h.events().length)).toEqual(slowHooks.map(() => 4));
    } finally {
      await fair.close();
    }
  });

  it('sends BALANCE_LOW once when a charge crosses 25 % and once when one crosses 10 % of the last deposit', async () => {
    const partner = await server.createPartner({ depositMinor: 100 * 10_000 });
    const hook = await receiver();
    const { signingSecret } = await saveWebhook(partner, hook.url);
    const list = await server.ea('/package/list', { locationCode: 'US' }, partner);
    const pkg = list.json.obj.packageList.filter((p: any) => p.price <= 90_000).sort((a: any, b: any) => b.price - a.price)[0];
    let balance = (await server.ea('/balance/query', {}, partner)).json.obj.balance as number;
    let i = 0;
    while (balance >= pkg.price) {
      const res = await server.ea('/esim/order', { transactionId: `low-${i++}`, packageInfoList: [{ packageCode: pkg.packageCode, count: 1 }] }, partner);
      expect(res.json.success, res.text).toBe(true);
      balance = (await server.ea('/balance/query', {}, partner)).json.obj.balance;
    }
    expect(balance * 100).toBeLessThanOrEqual(100 * 10_000 * 10);
    const events = await server.ctx.store.db.selectFrom('events').selectAll().where('partner_id', '=', partner.partnerId).where('type', '=', 'balance.low').orderBy('seq').execute();
    expect(events.map((e) => JSON.parse(e.payload).thresholdPercent)).toEqual([25, 10]);
    const lows = await waitFor('two BALANCE_LOW', () => {
      const got = hook.events().filter((r) => notifyTypeOf(r) === 'BALANCE_LOW');
      return got.length >= 2 ? got : null;
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(hook.events().filter((r) => notifyTypeOf(r) === 'BALANCE_LOW')).toHaveLength(2);
    const bodies = lows.map((r) => verifyWebhook(signingSecret, r.headers, r.body));
    expect(bodies.map((b) => b.content.remainPercent)).toEqual([25, 10]);
    for (const b of bodies) {
      expect(b.content.lastDepositAmount).toBe(100 * 10_000);
      expect(b.content.balance * 100).toBeLessThanOrEqual(100 * 10_000 * b.content.remainPercent);
      expect(b.content.lastUpdateTime).toMatch(/\+0000$/);
    }
    const deliveries = await server.ctx.store.db.selectFrom('webhook_deliveries').select('id').where('event_id', 'in', events.map((e) => e.id)).execute();
    expect(deliveries).toHaveLength(2);
  });

  it('checkLowBalance: one event per crossing, the lower threshold when one charge crosses both, none without a deposit', async () => {
    const partner = await server.createPartner({ depositMinor: 1_000_000 });
    const db = server.ctx.store.db;
    const run = (before: number, after: number) => db.transaction().execute((trx) => checkLowBalance(trx, partner.partnerId, before, after, Date.now()));
    expect(await run(1_000_000, 300_000)).toBeNull();
    expect(await run(300_000, 250_000)).toBe(25);
    expect(await run(250_000, 200_000)).toBeNull();
    expect(await run(400_000, 50_000)).toBe(10);
    expect(await run(50_000, 10_000)).toBeNull();
    expect(await run(10_000, 20_000)).toBeNull();
    const noDeposit = await server.createPartner({ depositMinor: 0 });
    expect(await db.transaction().execute((trx) => checkLowBalance(trx, noDeposit.partnerId, 10, 0, Date.now()))).toBeNull();
  });

  it('never queues deliveries for partners without an endpoint or for operator alerts', async () => {
    const partner = await server.createPartner();
    await orderOne(server, partner, us17.packageCode, 'no-hook-1');
    await emitEvent(server.ctx.store.db, { partnerId: 'operator', type: 'balance.low', subject: null, payload: {} }, Date.now());
    const rows = await server.ctx.store.db.selectFrom('webhook_deliveries').select('id').where('partner_id', 'in', [partner.partnerId, 'operator']).execute();
    expect(rows).toHaveLength(0);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Real processes: SIGKILL, restart, and the CLI.
// ---------------------------------------------------------------------------------------------------------

describe('webhook delivery across a SIGKILL, and the CLI', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'esimhub-webhooks-'));
  let server: ServerProcess | null = null;
  let hook: Receiver | null = null;
  afterAll(async () => {
    if (server) await killHard(server);
    await hook?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('loses no event: every one arrives at least once, with the same id on repeats; the CLI lists, re-sends and rotates', async () => {
    const env = { DATA_DIR: dataDir, SEED_DEMO: 'false', SANDBOX_ALLOCATION_DELAY_MS: '0', RATE_LIMIT_PER_SECOND: '100000', WEBHOOK_RETRY_SCHEDULE_MS: '100' };
    const created = await runCli(['partner', 'create', '--name', 'Webhook Crash', '--deposit', '1000', '--json'], env);
    expect(created.code, created.stderr).toBe(0);
    const { partnerId, accessCode } = JSON.parse(created.stdout);

    let mode: 'fail' | 'hang' | 'ok' = 'fail';
    const idsBy = { fail: new Set<string>(), hang: new Set<string>(), ok: new Set<string>() };
    hook = await startReceiver((req) => {
      if (notifyTypeOf(req) === 'CHECK_HEALTH') return { status: 200 };
      idsBy[mode].add(req.headers['webhook-id'] as string);
      if (mode === 'ok') return { status: 200 };
      if (mode === 'hang') return { status: 200, delayMs: 60_000 };
      return { status: 503 };
    });
    server = await spawnServer(env);
    const saved = await post(server.baseUrl, '/webhook/save', { webhook: hook.url }, accessCode);
    expect(saved.success).toBe(true);

    const orderNos: string[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await post(server.baseUrl, '/esim/order', { transactionId: `crash-wh-${i}`, packageInfoList: [{ packageCode: 'US_1_7', count: 1 }] }, accessCode);
      expect(res.success).toBe(true);
      orderNos.push(res.obj.orderNo);
    }
    // Failing, then hanging mid-request when the process dies.
    await waitFor('a failed attempt of every event', () => idsBy.fail.size >= 8, 15_000);
    // Attempt records are written in batches: wait until the failed attempts are in the store (a kill may
    // lose an unwritten attempt record, never a delivery; this test checks the log as well).
    const watch = await openTestStore(dataDir);
    try {
      await waitFor('the failed attempts recorded', async () => {
        const rows = await watch.db.selectFrom('webhook_attempts').innerJoin('webhook_deliveries', 'webhook_deliveries.id', 'webhook_attempts.delivery_id').select('webhook_attempts.delivery_id').where('webhook_deliveries.partner_id', '=', partnerId).where('webhook_attempts.status_code', '=', 503).execute();
        return new Set(rows.map((r) => r.delivery_id)).size >= 8;
      }, 15_000, 50);
    } finally {
      await watch.close();
    }
    mode = 'hang';
    // The endpoint failed, so its circuit is open: one request at a time probes it, and that one now hangs.
    await waitFor('a hanging request', () => idsBy.hang.size >= 1, 10_000);
    await killHard(server);
    server = null;

    const store = await openTestStore(dataDir);
    let eventIds: string[];
    try {
      const events = await store.db.selectFrom('events').select(['id']).where('partner_id', '=', partnerId).where('type', '=', 'order.ready').execute();
      eventIds = events.map((e) => e.id);
      expect(eventIds).toHaveLength(8);
      const undelivered = await store.db.selectFrom('webhook_deliveries').select('id').where('partner_id', '=', partnerId).where('status', '!=', 'delivered').execute();
      expect(undelivered).toHaveLength(8);
    } finally {
      await store.close();
    }

    mode = 'ok';
    server = await spawnServer(env);
    await waitFor('every event delivered after the restart', () => eventIds.every((id) => idsBy.ok.has(id)), 20_000);
    expect([...idsBy.ok].sort()).toEqual([...eventIds].sort());
    const secretOut = await runCli(['webhooks', 'secret', partnerId], env);
    expect(secretOut.code, secretOut.stderr).toBe(0);
    const secret = secretOut.stdout.trim();
    expect(secret).toBe(saved.obj.signingSecret);
    for (const r of hook.events()) {
      const body = verifyWebhook(secret, r.headers, r.body);
      // The same id on every repeat: webhook-id and notifyId are the event id.
      expect(body.notifyId).toBe(r.headers['webhook-id']);
      expect(eventIds).toContain(body.notifyId);
      expect(orderNos).toContain(body.content.orderNo);
    }

    const listed = await runCli(['webhooks', 'deliveries', partnerId, '--json'], env);
    expect(listed.code, listed.stderr).toBe(0);
    const deliveries = JSON.parse(listed.stdout);
    await waitFor('all delivered in the store', async () => {
      const again = JSON.parse((await runCli(['webhooks', 'deliveries', partnerId, '--json', '--status', 'delivered'], env)).stdout);
      return again.length === 8;
    }, 10_000, 200);
    expect(deliveries).toHaveLength(8);
    const target = deliveries[0];
    const attempts = await runCli(['webhooks', 'attempts', target.id, '--json'], env);
    expect(attempts.code, attempts.stderr).toBe(0);
    const attemptRows = JSON.parse(attempts.stdout);
    expect(attemptRows.length).toBeGreaterThanOrEqual(2);
    expect(attemptRows[0]).toMatchObject({ attempt_no: 1, status_code: 503, url: hook.url });
    expect(attemptRows.at(-1)).toMatchObject({ status_code: 200 });
    const table = await runCli(['webhooks', 'attempts', target.id], env);
    expect(table.stdout).toMatch(/attempt\s+started\s+latencyMs\s+status/);

    // Re-send: the running server sends it again with the same id.
    const before = hook.events().length;
    const resent = await runCli(['webhooks', 'resend', target.id], env);
    expect(resent.code, resent.stderr).toBe(0);
    expect(resent.stdout).toContain(target.event_id);
    const [again] = await waitFor('the re-sent delivery', () => (hook!.events().length > before ? hook!.events().slice(before) : null), 10_000);
    expect(again.headers['webhook-id']).toBe(target.event_id);
    expect(verifyWebhook(secret, again.headers, again.body).notifyId).toBe(target.event_id);

    // Rotation: both secrets sign for the grace period.
    const rotated = await runCli(['webhooks', 'rotate-secret', partnerId, '--json'], env);
    expect(rotated.code, rotated.stderr).toBe(0);
    const { secret: newSecret } = JSON.parse(rotated.stdout);
    expect(newSecret).not.toBe(secret);
    const before2 = hook.events().length;
    expect((await runCli(['webhooks', 'resend', target.id], env)).code).toBe(0);
    const [signedTwice] = await waitFor('the delivery after rotation', () => (hook!.events().length > before2 ? hook!.events().slice(before2) : null), 10_000);
    expect(String(signedTwice.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(verifyWebhook(newSecret, signedTwice.headers, signedTwice.body).notifyId).toBe(target.event_id);
    expect(verifyWebhook(secret, signedTwice.headers, signedTwice.body).notifyId).toBe(target.event_id);
    expect((await runCli(['webhooks', 'resend', 'whd_nope'], env)).code).toBe(1);
  }, 240_000); // two server starts and nine CLI processes: minutes on a busy machine
});

// ---------------------------------------------------------------------------------------------------------
// PostgreSQL: two dispatchers claim with SKIP LOCKED; each event is delivered once, in order per subject.
// ---------------------------------------------------------------------------------------------------------

describe.skipIf(SKIP_PG)('webhook dispatch on PostgreSQL', () => {
  let store: Store;
  let dir: string;
  const schema = `webhooks_test_${crypto.randomBytes(6).toString('hex')}`;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'esimhub-webhooks-pg-'));
    store = await connectStore({ databaseUrl: PG_URL, dataDir: dir, schema });
    await ensurePriceTiers(store.db);
  });
  afterAll(async () => {
    if (store) {
      await sql.raw(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).execute(store.db);
      await store.close();
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('delivers each event once across two dispatchers, in order per subject, with retries', async () => {
    const box = new SecretBox(crypto.randomBytes(32));
    const partners = new Partners(store.db, box, 0);
    const { partner } = await partners.create({ name: 'PG webhooks', depositMinor: 0 }, Date.now());
    let n = 0;
    const hook = await startReceiver(() => (++n % 3 === 0 ? { status: 500 } : { status: 200, delayMs: 5 }));
    try {
      const endpoints = new WebhookEndpoints(store.db, box);
      await endpoints.save(partner.id, hook.url, await endpoints.secretsForSave(partner.id), Date.now());
      const subjects = ['esim_a', 'esim_b', 'esim_c', 'esim_d'];
      const expected = new Map<string, string[]>();
      for (let round = 0; round < 4; round++) {
        for (const subject of subjects) {
          const id = await store.db.transaction().execute((trx) =>
            emitEvent(trx, { partnerId: partner.id, type: 'esim.status', subject, payload: { esimStatus: `S${round}`, iccid: subject } }, Date.now()),
          );
          expected.set(subject, [...(expected.get(subject) ?? []), id]);
        }
      }
      const make = () =>
        new Dispatcher({
          db: store.db,
          dialect: 'postgres',
          log: pino({ level: 'silent' }),
          box,
          renderers: { esimaccess: renderEsimAccessWebhook },
          retryScheduleMs: [20],
          perPartnerConcurrency: 3,
          idlePollMs: 20,
        });
      const one = make();
      const two = make();
      one.start();
      two.start();
      try {
        await waitFor('all delivered', async () => {
          const rows = await store.db.selectFrom('webhook_deliveries').select('status').where('partner_id', '=', partner.id).execute();
          return rows.length === 16 && rows.every((r) => r.status === 'delivered');
        }, 20_000);
      } finally {
        await one.stop();
        await two.stop();
      }
      const succeeded = hook.received.filter((_, i) => (i + 1) % 3 !== 0);
      const ids = succeeded.map((r) => r.headers['webhook-id'] as string);
      expect(new Set(ids).size).toBe(16);
      expect(ids).toHaveLength(16);
      for (const [subject, order] of expected) {
        const arrived = hook.received.filter((r) => r.json.content.iccid === subject).map((r) => r.headers['webhook-id']);
        // Repeats of one event are adjacent and events arrive in emission order.
        const distinctInOrder = arrived.filter((id, i) => i === 0 || arrived[i - 1] !== id);
        expect(distinctInOrder).toEqual(order);
      }
      const attempts = await store.db.selectFrom('webhook_attempts').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      expect(Number(attempts.n)).toBe(hook.received.length);
    } finally {
      await hook.close();
    }
  });
});

