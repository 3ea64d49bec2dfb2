import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { storeEnv } from './store.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** The test store for the env's DATA_DIR (PostgreSQL schema per data directory under ESIMHUB_TEST_STORE=postgres). */
function withStore(env: Record<string, string>): Record<string, string> {
  return env.DATA_DIR && env.DATABASE_URL === undefined ? { ...storeEnv(env.DATA_DIR), ...env } : env;
}

export interface ServerProcess {
  child: ChildProcess;
  baseUrl: string;
  output: () => string;
  /** What the process wrote to stdout alone (the start-up banner). */
  stdout: () => string;
}

/** Starts `esimhub serve` as a real child process and waits until it listens. */
export async function spawnServer(env: Record<string, string>, timeoutMs = 30_000): Promise<ServerProcess> {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/esimhub.js'), 'serve', '--host', '127.0.0.1', '--port', '0'], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn', ...withStore(env) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let stdout = '';
  child.stdout!.on('data', (d) => {
    out += d;
    stdout += d;
  });
  child.stderr!.on('data', (d) => (out += d));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const m = /listening on [^:]+:(\d+)/.exec(out);
    if (m) return { child, baseUrl: `http://127.0.0.1:${m[1]}`, output: () => out, stdout: () => stdout };
    if (child.exitCode !== null) throw new Error(`server exited early (${child.exitCode}):\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`server did not start in ${timeoutMs} ms:\n${out}`);
}

export async function killHard(server: ServerProcess): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  const exited = new Promise((r) => server.child.once('exit', r));
  server.child.kill('SIGKILL');
  await exited;
}

export async function runCli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/esimhub.js'), ...args], { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'warn', ...withStore(env) }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const code = await new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? 1)));
  return { code, stdout, stderr };
}

export async function post(baseUrl: string, pathName: string, body: unknown, accessCode: string): Promise<any> {
  const res = await fetch(`${baseUrl}/api/v1/open${pathName}`, { method: 'POST', headers: { 'RT-AccessCode': accessCode, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return res.json();
}
