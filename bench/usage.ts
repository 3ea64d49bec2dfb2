/**
 * Usage ingestion: records per second through the internal API (CSV, 20,000 records per request) on the
 * embedded store, beside the bare-route baseline of the same run.
 *   npm run bench:usage
 */
import { load, printTable, startBareFastify, startEsimhub } from './lib.ts';
import { runCli } from '../test/helpers/process.ts';

const ESIMS = Number(process.env.BENCH_ESIMS ?? 1000);
const RECORDS = Number(process.env.BENCH_RECORDS ?? 200_000);
const PER_REQUEST = 20_000;
const adminToken = 'bench-admin-token-0123456789abcdef';

const bare = await startBareFastify();
const hub = await startEsimhub({ SANDBOX_ALLOCATION_DELAY_MS: '0', ADMIN_TOKEN: adminToken });
const api = (path: string, body: unknown) =>
  fetch(`http://127.0.0.1:${hub.port}/api/v1/open${path}`, { method: 'POST', headers: { 'RT-AccessCode': hub.accessCode }, body: JSON.stringify(body) }).then((r) => r.json() as Promise<any>);

try {
  const partners = JSON.parse((await runCli(['partner', 'list', '--json'], { DATA_DIR: hub.dataDir })).stdout);
  await runCli(['partner', 'deposit', partners[0].id, '100000'], { DATA_DIR: hub.dataDir });
  // A 50 GB plan, so the run does not use every eSIM up: the bench measures ingestion, not depletion.
  const orderNos: string[] = [];
  for (let i = 0; i < Math.ceil(ESIMS / 30); i++) {
    const r = await api('/esim/order', { transactionId: `usage-bench-${i}`, packageInfoList: [{ packageCode: 'US_50_180', count: Math.min(30, ESIMS - i * 30) }] });
    if (!r.success) throw new Error(JSON.stringify(r));
    orderNos.push(r.obj.orderNo);
  }
  const tranNos: string[] = [];
  for (const orderNo of orderNos) {
    for (;;) {
      const q = await api('/esim/query', { orderNo, pager: { pageNum: 1, pageSize: 50 } });
      if (q.success) {
        tranNos.push(...q.obj.esimList.map((e: any) => e.esimTranNo));
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  const baseline = await load({ url: `http://127.0.0.1:${bare.port}/bare`, method: 'POST', body: '{}', duration: 5 });

  const bodies: string[] = [];
  for (let sent = 0; sent < RECORDS; sent += PER_REQUEST) {
    const lines = ['esimTranNo,bytes,recordId'];
    for (let i = sent; i < Math.min(RECORDS, sent + PER_REQUEST); i++) lines.push(`${tranNos[i % tranNos.length]},${1000 + (i % 5000)},rec-${i}`);
    bodies.push(lines.join('\n'));
  }
  const started = performance.now();
  let applied = 0;
  for (const body of bodies) {
    const res = await fetch(`http://127.0.0.1:${hub.port}/internal/usage`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'text/csv' }, body });
    const report = (await res.json()) as any;
    if (!report.accepted) throw new Error(JSON.stringify(report).slice(0, 500));
    applied += report.applied;
  }
  const seconds = (performance.now() - started) / 1000;
  // The same records again: every one is a duplicate and nothing changes.
  const again = await fetch(`http://127.0.0.1:${hub.port}/internal/usage`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'text/csv' }, body: bodies[0] }).then((r) => r.json() as Promise<any>);

  console.log(`\nusage ingestion on the embedded store, ${RECORDS} records over ${tranNos.length} eSIMs, ${new Date().toISOString()}`);
  printTable([
    { run: 'bare Fastify POST (baseline)', 'per second': Math.round(baseline.requestsPerSecond), unit: 'requests' },
    { run: 'usage records via /internal/usage (CSV)', 'per second': Math.round(RECORDS / seconds), unit: 'records' },
  ]);
  console.log(`applied ${applied} of ${RECORDS}; re-sent batch: ${again.duplicates} duplicates, ${again.applied} applied`);
  console.log(`ratio records/s to baseline requests/s: ${(RECORDS / seconds / baseline.requestsPerSecond).toFixed(2)}; target >= 50,000 records/s`);
} finally {
  await hub.stop();
  await bare.stop();
}
