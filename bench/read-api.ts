/**
 * Read API throughput: eSIM Access balance/query and package/list (one country), both HMAC-signed, as a
 * ratio to a bare Fastify route measured in the same run; plus the latency of the whole unfiltered catalogue.
 *   npm run bench:read            (BENCH_SECONDS=12 per route in ROUNDS=3 alternating runs)
 */
import { createHmac, randomUUID } from 'node:crypto';
import { load, percentile, printTable, startBareFastify, startEsimhub, type LoadResult } from './lib.ts';

const durationS = Number(process.env.BENCH_SECONDS ?? 12);
const rounds = Number(process.env.ROUNDS ?? 3);

/** Equal-length runs of one route as one: their mean req/s (= requests over the total time); the worst p99. */
function combine(results: LoadResult[]): LoadResult {
  return {
    ...results[0]!,
    requestsPerSecond: results.reduce((sum, r) => sum + r.requestsPerSecond, 0) / results.length,
    latencyP99Ms: Math.max(...results.map((r) => r.latencyP99Ms)),
    errors: results.reduce((sum, r) => sum + r.errors, 0),
    non2xx: results.reduce((sum, r) => sum + r.non2xx, 0),
  };
}
const bare = await startBareFastify();
const hub = await startEsimhub();

function signedRequest(path: string, body: string) {
  return {
    method: 'POST' as const,
    path,
    body,
    setupRequest(request: any) {
      const timestamp = String(Date.now());
      const requestId = randomUUID().replace(/-/g, '');
      const signature = createHmac('sha256', hub.secretKey).update(timestamp + requestId + hub.accessCode + body).digest('hex');
      request.headers = {
        ...request.headers,
        'content-type': 'application/json',
        'RT-AccessCode': hub.accessCode,
        'RT-Timestamp': timestamp,
        'RT-RequestID': requestId,
        'RT-Signature': signature,
      };
      return request;
    },
  };
}

try {
  // Warm up both servers (JIT, caches) before measuring.
  // The baseline's client signs every request too, so the ratio measures the server, not the load generator.
  const bareRequest = signedRequest('/bare', '{"locationCode":"US"}');
  await load({ url: `http://127.0.0.1:${bare.port}`, requests: [bareRequest], duration: 2 });
  await load({ url: `http://127.0.0.1:${hub.port}`, requests: [signedRequest('/api/v1/open/package/list', '{"locationCode":"US"}')], duration: 2 });

  // ROUNDS alternating runs of durationS / ROUNDS each: a shared machine's slow spell then falls on the
  // baseline and the routes alike instead of on whichever ran during it.
  const segmentS = Math.max(1, Math.round(durationS / rounds));
  const runs = { baseline: [] as LoadResult[], balance: [] as LoadResult[], packages: [] as LoadResult[] };
  for (let round = 0; round < rounds; round++) {
    runs.baseline.push(await load({ url: `http://127.0.0.1:${bare.port}`, requests: [bareRequest], duration: segmentS }));
    runs.balance.push(await load({ url: `http://127.0.0.1:${hub.port}`, requests: [signedRequest('/api/v1/open/balance/query', '')], duration: segmentS }));
    runs.packages.push(await load({ url: `http://127.0.0.1:${hub.port}`, requests: [signedRequest('/api/v1/open/package/list', '{"locationCode":"US"}')], duration: segmentS }));
  }
  const baseline = combine(runs.baseline);
  const balance = combine(runs.balance);
  const packages = combine(runs.packages);

  // The whole catalogue, one request at a time (what a nightly catalogue sync does), alternating with the bare
  // server answering the same number of bytes: moving 3 MB over loopback has a latency tail of its own.
  const fetchMs = async (url: string, init: RequestInit): Promise<{ ms: number; bytes: number }> => {
    const started = performance.now();
    const res = await fetch(url, init);
    const bytes = (await res.arrayBuffer()).byteLength;
    return { ms: performance.now() - started, bytes };
  };
  const catalogue = () => fetchMs(`http://127.0.0.1:${hub.port}/api/v1/open/package/list`, { method: 'POST', headers: { 'RT-AccessCode': hub.accessCode }, body: '{}' });
  const fullBytes = (await catalogue()).bytes;
  const fullMs: number[] = [];
  const bareBytesMs: number[] = [];
  for (let i = 0; i < 70; i++) {
    const full = await catalogue();
    const same = await fetchMs(`http://127.0.0.1:${bare.port}/bare-bytes?size=${fullBytes}`, { method: 'POST', body: '{}' });
    if (i >= 10) {
      fullMs.push(full.ms);
      bareBytesMs.push(same.ms);
    }
  }
  fullMs.sort((a, b) => a - b);
  bareBytesMs.sort((a, b) => a - b);

  const rows = [
    { route: 'bare Fastify POST, signed client (baseline)', 'req/s': Math.round(baseline.requestsPerSecond), ratio: '1.00', 'p99 ms': baseline.latencyP99Ms, errors: baseline.errors + baseline.non2xx },
    { route: 'balance/query (HMAC)', 'req/s': Math.round(balance.requestsPerSecond), ratio: (balance.requestsPerSecond / baseline.requestsPerSecond).toFixed(2), 'p99 ms': balance.latencyP99Ms, errors: balance.errors + balance.non2xx },
    { route: 'package/list US (HMAC)', 'req/s': Math.round(packages.requestsPerSecond), ratio: (packages.requestsPerSecond / baseline.requestsPerSecond).toFixed(2), 'p99 ms': packages.latencyP99Ms, errors: packages.errors + packages.non2xx },
  ];
  console.log(`\nread API, ${rounds} alternating runs of ${Math.max(1, Math.round(durationS / rounds))} s per route, 32 connections, ${new Date().toISOString()}`);
  printTable(rows);
  console.log(`\nfull unfiltered package/list: ${(fullBytes / 1e6).toFixed(2)} MB, median ${percentile(fullMs, 50).toFixed(1)} ms, p99 ${percentile(fullMs, 99).toFixed(1)} ms over ${fullMs.length} sequential requests`);
  console.log(`bare route answering the same ${(fullBytes / 1e6).toFixed(2)} MB (alternating with it): median ${percentile(bareBytesMs, 50).toFixed(1)} ms, p99 ${percentile(bareBytesMs, 99).toFixed(1)} ms`);
  console.log(`targets: balance/query >= 0.50 of baseline, package/list >= 0.25, full catalogue < 50 ms`);
} finally {
  await hub.stop();
  await bare.stop();
}
