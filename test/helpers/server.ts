import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHmac, randomUUID } from 'node:crypto';
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import { loadConfig, type Config } from '../../src/config.ts';
import { createContext } from '../../src/bootstrap.ts';
import { buildServer } from '../../src/http/server.ts';
import type { AppContext } from '../../src/context.ts';
import type { CreatePartnerInput } from '../../src/domain/partners/partners.ts';
import { storeEnv } from './store.ts';

export interface TestPartner {
  partnerId: string;
  keyId: string;
  accessCode: string;
  secretKey: string;
}

export interface TestServer {
  baseUrl: string;
  ctx: AppContext;
  app: FastifyInstance;
  dataDir: string;
  createPartner(input?: Partial<CreatePartnerInput>): Promise<TestPartner>;
  /** POST to the eSIM Access dialect; body may be an object or a raw string. */
  ea(pathName: string, body: unknown, partner: TestPartner | null, options?: { headers?: Record<string, string>; sign?: boolean; method?: string }): Promise<EaResponse>;
  close(): Promise<void>;
}

export interface EaResponse {
  status: number;
  headers: Headers;
  json: any;
  text: string;
}

/** The body as text and, when it is JSON, parsed (null otherwise): what every test client reads an answer as. */
export async function readAnswer(response: Response): Promise<EaResponse> {
  const text = await response.text();
  return { status: response.status, headers: response.headers, json: parseJsonOrNull(text), text };
}

export function parseJsonOrNull(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** Starts a real server on an ephemeral port over a fresh store: embedded, or a fresh PostgreSQL schema (ESIMHUB_TEST_STORE). */
export async function startServer(env: Record<string, string> = {}, overrides: Partial<Config> = {}, options: { worker?: boolean } = {}): Promise<TestServer> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'esimhub-test-'));
  const config = loadConfig(
    { DATA_DIR: dataDir, LOG_LEVEL: 'silent', SANDBOX_ALLOCATION_DELAY_MS: '0', RATE_LIMIT_PER_SECOND: '100000', CONSOLE_LOGIN_RATE: '100000', ...storeEnv(dataDir), ...env },
    { port: 0, host: '127.0.0.1', ...overrides },
  );
  const ctx = await createContext(config, pino({ level: 'silent' }));
  const app = await buildServer(ctx);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const baseUrl = `http://127.0.0.1:${port}`;
  // A test that names its public URL (an https one, say) keeps it; the rest get this server's own.
  if (!env.PUBLIC_BASE_URL) ctx.config.publicBaseUrl = baseUrl;
  if (options.worker !== false) {
    ctx.worker.start();
    ctx.scheduler.start();
    ctx.dispatcher.start();
  }

  return {
    baseUrl,
    ctx,
    app,
    dataDir,
    async createPartner(input = {}) {
      const { partner, key } = await ctx.partners.create({ name: 'Test Partner', depositMinor: 1000 * 10_000, ...input }, ctx.now());
      return { partnerId: partner.id, keyId: key.keyId, accessCode: key.accessCode, secretKey: key.secretKey };
    },
    async ea(pathName, body, partner, options = {}) {
      const raw = typeof body === 'string' ? body : body === undefined ? '' : JSON.stringify(body);
      const headers: Record<string, string> = { 'content-type': 'application/json', ...(options.headers ?? {}) };
      if (partner) headers['RT-AccessCode'] = partner.accessCode;
      if (partner && options.sign) Object.assign(headers, signHeaders(partner, raw));
      const response = await fetch(`${baseUrl}/api/v1/open${pathName}`, {
        method: options.method ?? 'POST',
        headers,
        body: (options.method ?? 'POST') === 'GET' ? undefined : raw,
      });
      return readAnswer(response);
    },
    async close() {
      await app.close();
      await ctx.worker.stop();
      await ctx.scheduler.stop();
      await ctx.dispatcher.stop();
      await ctx.store.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function signHeaders(partner: { accessCode: string; secretKey: string }, rawBody: string, timestampMs = Date.now(), requestId = randomUUID().replace(/-/g, '')) {
  const timestamp = String(timestampMs);
  const signature = createHmac('sha256', partner.secretKey).update(timestamp + requestId + partner.accessCode + rawBody).digest('hex');
  return { 'RT-Timestamp': timestamp, 'RT-RequestID': requestId, 'RT-Signature': signature };
}
