import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { connectStore } from '../src/store/connect.ts';
import { quantile } from '../src/lib/stats.ts';

export const ROOT = path.resolve(import.meta.dirname, '..');

export interface Spawned {
  child: ChildProcess;
  port: number;
  output: () => string;
  stop: () => Promise<void>;
}

/** Starts a process and waits for a line matching `ready` that captures the port. */
export async function spawnAndWait(args: string[], env: Record<string, string>, ready: RegExp, timeoutMs = 60_000): Promise<Spawned> {
  // BENCH_NODE_ARGS (e.g. --cpu-prof) lets a profiler ride along with the measured process.
  const nodeArgsText = env.BENCH_NODE_ARGS ?? process.env.BENCH_NODE_ARGS;
  const nodeArgs = nodeArgsText ? nodeArgsText.split(' ') : [];
  const child = spawn(process.execPath, [...nodeArgs, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = ready.exec(out);
    if (m) {
      return {
        child,
        port: Number(m[1]),
        output: () => out,
        stop: async () => {
          if (child.exitCode !== null || child.signalCode !== null) return;
          const exited = new Promise((r) => child.once('exit', r));
          child.kill('SIGTERM');
          await exited;
        },
      };
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`process did not become ready:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The esimhub server on a fresh data dir; returns the demo partner's credentials too. */
export async function startEsimhub(extraEnv: Record<string, string> = {}) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'esimhub-bench-'));
  const server = await spawnAndWait(
    [path.join(ROOT, 'bin/esimhub.js'), 'serve', '--host', '127.0.0.1', '--port', '0'],
    { DATA_DIR: dataDir, LOG_LEVEL: 'warn', RATE_LIMIT_PER_SECOND: '100000', ...extraEnv },
    /listening on [^:]+:(\d+)[\s\S]*SecretKey:/,
  );
  await new Promise((r) => setTimeout(r, 200));
  const out = server.output();
  const accessCode = /AccessCode: ([0-9a-f]+)/.exec(out)![1];
  const secretKey = /SecretKey: {2}([0-9a-f]+)/.exec(out)![1];
  return {
    ...server,
    dataDir,
    accessCode,
    secretKey,
    async stop() {
      await server.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A bare Fastify route in its own process: the same-run baseline every ratio is taken against. */
export async function startBareFastify(): Promise<Spawned> {
  return spawnAndWait([path.join(ROOT, 'bin/run-ts.js'), path.join(ROOT, 'bench/bare-server.ts')], {}, /bare listening on (\d+)/);
}

export interface LoadResult {
  requestsPerSecond: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  errors: number;
  non2xx: number;
}

export async function load(options: autocannon.Options): Promise<LoadResult> {
  const result = await autocannon({ connections: 32, duration: 8, pipelining: 1, ...options });
  return {
    requestsPerSecond: result.requests.average,
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
    errors: result.errors,
    non2xx: result.non2xx,
  };
}

export function printTable(rows: Array<Record<string, string | number>>): void {
  const keys = Object.keys(rows[0]);
  const widths = keys.map((k) => Math.max(k.length, ...rows.map((r) => String(r[k]).length)));
  console.log(keys.map((k, i) => k.padEnd(widths[i])).join('  '));
  for (const r of rows) console.log(keys.map((k, i) => String(r[k]).padEnd(widths[i])).join('  '));
}

/** The p-th percentile (0..100) of ascending-sorted values; 0 when there are none. */
export function percentile(sorted: number[], p: number): number {
  return quantile(sorted, p / 100) ?? 0;
}

/** Waits until no order of the store in `dataDir` is still allocating (so a run does not pay for the last one's backlog). */
export async function waitForAllocationIdle(dataDir: string, timeoutMs = 60_000): Promise<void> {
  const store = await connectStore({ databaseUrl: '', dataDir });
  try {
    const deadline = Date.now() + timeoutMs;
    // Idle twice 250 ms apart: requests still in flight when the load generator stopped may place orders
    // just after a first look.
    let idleLooks = 0;
    while (Date.now() < deadline) {
      const row = await store.db.selectFrom('orders').select((eb) => eb.fn.countAll<number>().as('n')).where('status', '=', 'allocating').executeTakeFirstOrThrow();
      idleLooks = Number(row.n) === 0 ? idleLooks + 1 : 0;
      if (idleLooks === 2) return;
      await new Promise((r) => setTimeout(r, idleLooks ? 250 : 100));
    }
  } finally {
    await store.close();
  }
}
