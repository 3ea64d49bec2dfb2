import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killHard, spawnServer, type ServerProcess } from './helpers/process.ts';
import { readAnswer, startServer, type EaResponse } from './helpers/server.ts';
import { onPostgres, PG_URL, storeEnv } from './helpers/store.ts';

/** Longer than any readiness timeout: a check that hangs fails the test instead of answering late. */
const CLIENT_TIMEOUT_MS = 15_000;

async function get(baseUrl: string, pathName: string): Promise<EaResponse> {
  return readAnswer(await fetch(`${baseUrl}${pathName}`, { signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS) }));
}

/** Polls until /readyz answers 200: the pool drops its broken connections as pg notices them, not at once. */
async function waitReady(readyz: () => Promise<EaResponse>, deadlineMs = 20_000): Promise<EaResponse> {
  const deadline = Date.now() + deadlineMs;
  let last = await readyz();
  while (last.status !== 200 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    last = await readyz();
  }
  return last;
}

/**
 * A TCP proxy in front of PostgreSQL that can lose the network the ways production does: closed (connections
 * refused, open ones reset) or black-holed (connections accepted and kept, nothing forwarded, as behind a
 * partition or a dropped-packets firewall).
 */
class DatabaseProxy {
  private server: net.Server | null = null;
  private blackHoled = false;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  constructor(private readonly upstream: { host: string; port: number }) {}

  async listen(): Promise<void> {
    const server = net.createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  /** Stops listening and resets every connection. */
  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    this.dropAll();
    if (server) await new Promise((r) => server.close(r));
  }

  /** Keeps every connection, open and new, and forwards nothing either way. */
  blackHole(): void {
    this.blackHoled = true;
    for (const socket of this.sockets) {
      socket.unpipe();
      socket.pause();
    }
  }

  /** The partition heals: the connections it held are gone (reset), new ones are forwarded. */
  forward(): void {
    this.blackHoled = false;
    this.dropAll();
  }

  private accept(client: net.Socket): void {
    this.track(client);
    if (this.blackHoled) return void client.pause();
    const upstream = net.connect(this.upstream.port, this.upstream.host);
    this.track(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', drop);
    upstream.on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  }

  private track(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => this.sockets.delete(socket));
  }

  private dropAll(): void {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }
}

// The embedded store has no network to lose.
describe.skipIf(!onPostgres)('/readyz when PostgreSQL becomes unreachable (server process behind a TCP proxy)', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'esimhub-readyz-'));
  const pg = new URL(PG_URL);
  const proxy = new DatabaseProxy({ host: pg.hostname, port: Number(pg.port || 5432) });
  let server: ServerProcess;

  beforeAll(async () => {
    await proxy.listen();
    const viaProxy = new URL(PG_URL);
    viaProxy.host = `127.0.0.1:${proxy.port}`;
    server = await spawnServer({ DATA_DIR: dataDir, ...storeEnv(dataDir), DATABASE_URL: viaProxy.toString(), SEED_DEMO: 'false' });
  });

  afterAll(async () => {
    if (server) await killHard(server);
    await proxy.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  /** A request to the server; when it cannot answer (it died, say), the error carries what the process printed. */
  const ask = (pathName: string) =>
    get(server.baseUrl, pathName).catch((error: Error) => {
      throw new Error(`GET ${pathName}: ${error.message}${error.cause ? ` (${(error.cause as Error).message})` : ''}; server output:\n${server.output()}`);
    });
  const expectAlive = async () => {
    expect(server.child.exitCode, server.output()).toBeNull();
    expect((await ask('/healthz')).json).toEqual({ status: 'ok' });
  };

  it('is ready while the proxy forwards', async () => {
    const ready = await ask('/readyz');
    expect(ready.status, ready.text).toBe(200);
    expect(ready.json).toMatchObject({ status: 'ready', database: 'ok', store: 'postgres' });
  });

  it('answers 503 (database unreachable) when the database refuses and resets connections, and stays alive', async () => {
    await proxy.close();
    const down = await ask('/readyz');
    expect(down.status, down.text).toBe(503);
    expect(down.json).toMatchObject({ status: 'unavailable', database: 'unreachable', error: expect.any(String) });
    await expectAlive();
  });

  it('is ready again once the database is reachable', async () => {
    await proxy.listen();
    const ready = await waitReady(() => ask('/readyz'));
    expect(ready.status, ready.text).toBe(200);
  });

  it('answers 503 within its time limit when the database stops answering (black hole), and stays alive', async () => {
    proxy.blackHole();
    // Twice: the first check waits on a pooled connection, the second may open a new (equally silent) one.
    for (let i = 0; i < 2; i++) {
      const down = await ask('/readyz');
      expect(down.status, down.text).toBe(503);
      expect(down.json).toMatchObject({ status: 'unavailable', database: 'unreachable' });
      expect(down.json.error).toMatch(/timed out after \d+ ms/);
    }
    await expectAlive();
  });

  it('recovers when the partition heals: the pool replaces its dead connections', async () => {
    proxy.forward();
    const ready = await waitReady(() => ask('/readyz'));
    expect(ready.status, ready.text).toBe(200);
    await expectAlive();
    expect(server.output()).not.toMatch(/unhandled|uncaught/i);
  });
});

describe('/readyz when the store fails', () => {
  it('answers 503 (database unreachable) while /healthz stays 200', async () => {
    const server = await startServer({ SEED_DEMO: 'false' }, {}, { worker: false });
    try {
      expect((await get(server.baseUrl, '/readyz')).status).toBe(200);
      await server.ctx.store.close();
      const down = await get(server.baseUrl, '/readyz');
      expect(down.status, down.text).toBe(503);
      expect(down.json).toMatchObject({ status: 'unavailable', database: 'unreachable', error: expect.any(String) });
      expect((await get(server.baseUrl, '/healthz')).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});
