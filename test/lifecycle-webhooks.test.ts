import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from './helpers/server.ts';
import { orderOne } from './helpers/orders.ts';
import { verifyWebhook } from '../src/lib/standard-webhooks.ts';

const GB = 1024 ** 3;

describe('a whole eSIM life, as a partner’s webhook receiver sees it', () => {
  let server: TestServer;
  const received: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];
  let receiver: http.Server;
  let receiverUrl = '';

  beforeAll(async () => {
    server = await startServer();
    receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/esim-events`;
  });
  afterAll(async () => {
    await server.close();
    receiver.close();
  });

  it('delivers exactly the expected, signed sequence of notifications', async () => {
    const partner = await server.createPartner();
    const saved = await server.ea('/webhook/save', { webhook: receiverUrl }, partner);
    expect(saved.json.success).toBe(true);
    const secret = saved.json.obj.signingSecret as string;
    expect(JSON.parse(received[0].body).notifyType).toBe('CHECK_HEALTH');
    received.length = 0;

    const pkg = server.ctx.catalog.all().find((p) => p.type === 'BASE' && p.support_topup_type === 2 && p.data_type === 1 && p.active_type === 1 && Number(p.volume) === GB && p.duration === 30 && p.is_daypass === 0)!;
    const { esim, orderNo } = await orderOne(server, partner, pkg.package_code, 'life-hooks-1');
    const sandbox = (path: string, body?: unknown) =>
      fetch(`${server.baseUrl}/sandbox${path}`, { method: 'POST', headers: { 'RT-AccessCode': partner.accessCode, 'content-type': 'application/json' }, body: JSON.stringify(body ?? {}) }).then((r) => r.json() as Promise<any>);
    await sandbox(`/esims/${esim.iccid}/install`);
    await sandbox(`/esims/${esim.iccid}/enable`);
    await sandbox(`/esims/${esim.iccid}/usage`, { bytes: Math.ceil(GB * 0.85) });
    await sandbox(`/esims/${esim.iccid}/usage`, { bytes: GB });
    await sandbox('/clock/advance', { days: 31 });

    const expected = [
      ['ORDER_STATUS', 'GOT_RESOURCE'],
      ['SMDP_EVENT', 'DOWNLOAD'],
      ['SMDP_EVENT', 'INSTALLATION'],
      ['ESIM_STATUS', 'IN_USE'],
      ['SMDP_EVENT', 'ENABLED'],
      ['DATA_USAGE', 0.5],
      ['DATA_USAGE', 0.2],
      ['ESIM_STATUS', 'USED_UP'],
      ['DATA_USAGE', 0.1],
      ['VALIDITY_USAGE', 1],
      ['ESIM_STATUS', 'USED_EXPIRED'],
    ];
    const deadline = Date.now() + 15_000;
    while (received.length < expected.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    await new Promise((r) => setTimeout(r, 300)); // nothing more may arrive

    const bodies = received.map((r) => JSON.parse(r.body));
    const seen = bodies.map((b) => {
      const c = b.content;
      if (b.notifyType === 'ORDER_STATUS') return [b.notifyType, c.orderStatus];
      if (b.notifyType === 'SMDP_EVENT') return [b.notifyType, c.smdpStatus];
      if (b.notifyType === 'ESIM_STATUS') return [b.notifyType, c.esimStatus];
      if (b.notifyType === 'DATA_USAGE') return [b.notifyType, c.remainThreshold];
      return [b.notifyType, c.remain];
    });
    expect(seen).toEqual(expected);
    for (const r of received) {
      expect(verifyWebhook(secret, r.headers, r.body)).toEqual(JSON.parse(r.body));
    }
    expect(new Set(bodies.map((b) => b.notifyId)).size).toBe(expected.length);
    for (const b of bodies.slice(1)) expect(b.content).toMatchObject({ iccid: esim.iccid, orderNo, transactionId: 'life-hooks-1' });
    expect(bodies[0].content).toEqual({ orderNo, transactionId: 'life-hooks-1', orderStatus: 'GOT_RESOURCE' });
    const validity = bodies.find((b) => b.notifyType === 'VALIDITY_USAGE')!;
    const expiry = bodies.at(-1)!;
    expect(Date.parse(expiry.eventGenerateTime.replace('+0000', 'Z')) - Date.parse(validity.eventGenerateTime.replace('+0000', 'Z'))).toBe(86_400_000);
    expect(validity.content).toMatchObject({ durationUnit: 'DAY', totalDuration: 30, remain: 1 });
  });
});
