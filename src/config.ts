import path from 'node:path';

/** Everything the process reads from its environment, validated once at start-up. */
export interface Config {
  port: number;
  host: string;
  dataDir: string;
  /** Empty means the embedded SQLite file `<dataDir>/esimhub.sqlite`. */
  databaseUrl: string;
  /** PostgreSQL: the schema to run in (created if missing); empty means the connection's default. */
  databaseSchema: string;
  /** Redis for shared rate limits across API processes; empty means the store (PostgreSQL) or memory (SQLite). */
  redisUrl: string;
  publicBaseUrl: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** 32-byte key (hex or base64) that encrypts API secrets at rest; empty means the key file in dataDir. */
  masterKey: string;
  /** Default per-AccessCode rate limit when a partner has none of its own. */
  rateLimitPerSecond: number;
  /** How far RT-Timestamp may be from the server clock before `101001`. */
  signatureWindowMs: number;
  /** How long a rolled key keeps working. */
  keyRollGraceMs: number;
  /** Simulated SM-DP+ allocation delay for sandbox orders. */
  sandboxAllocationDelayMs: number;
  /** Host name written into simulated activation codes. */
  sandboxSmdpHost: string;
  /** Host names whose /api/v1 requests reach the sandbox (as the /sandbox/api/v1 prefix does). */
  sandboxHosts: string[];
  /** How long a synchronous purchase (dataplans POST /purchases) waits for its eSIM before failing and refunding. */
  purchaseTimeoutMs: number;
  /** Create the demo sandbox partner on first start. */
  seedDemo: boolean;
  /** Console logins and sign-ups allowed per client IP per second (bursts of as many). */
  consoleLoginsPerSecond: number;
  /** Anyone may sign up for a sandbox account in the web console. */
  consoleSignup: boolean;
  /** The operator console user made on first start (a password is generated and printed when none is given). */
  operatorEmail: string;
  operatorPassword: string;
  /** Bearer token for the operator's internal API (/internal); empty disables it. */
  adminToken: string;
  /** Run the background workers in this process. */
  role: 'all' | 'api' | 'worker';
  /** Live partners may point webhooks at loopback/private addresses (sandbox partners always may). */
  allowPrivateWebhooks: boolean;
  /** Per-attempt webhook timeout (also for CHECK_HEALTH). */
  webhookTimeoutMs: number;
  /** Delays between webhook attempts; the last one repeats until the retry window ends. */
  webhookRetryScheduleMs: number[];
  /** How long a webhook is retried before it is dead. */
  webhookRetryWindowMs: number;
  /** Webhook requests in flight: in all, and per partner. */
  webhookConcurrency: number;
  webhookPartnerConcurrency: number;
  /** Graceful-shutdown limit after SIGTERM. */
  shutdownTimeoutMs: number;
  /**
   * How long /readyz (and the console's database status) waits for the database: pg waits forever on a
   * black-holed connection, and a load balancer needs an answer (503) before its own probe times out.
   */
  readyCheckTimeoutMs: number;
  /** Behind a reverse proxy: take the client address from X-Forwarded-For (IP blocklists, login limits). */
  trustProxy: boolean;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

type Env = Record<string, string | undefined>;

/** Reads and validates configuration; every bad value is reported, not only the first. */
export function loadConfig(env: Env = process.env, overrides: Partial<Config> = {}): Config {
  const problems: string[] = [];

  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    if (!/^\d+$/.test(raw.trim())) {
      problems.push(`${name}=${JSON.stringify(raw)} is not a whole number (expected ${min}..${max})`);
      return fallback;
    }
    const value = Number(raw);
    if (value < min || value > max) {
      problems.push(`${name}=${raw} is out of range (expected ${min}..${max})`);
      return fallback;
    }
    return value;
  };
  const bool = (name: string, fallback: boolean): boolean => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    problems.push(`${name}=${JSON.stringify(raw)} is not a boolean (use true or false)`);
    return fallback;
  };

  const msList = (name: string, fallback: number[]): number[] => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return fallback;
    const parts = raw.split(',').map((p) => p.trim());
    if (parts.some((p) => !/^\d+$/.test(p) || Number(p) > 7 * 86_400_000)) {
      problems.push(`${name}=${JSON.stringify(raw)} must be comma-separated milliseconds, e.g. 5000,30000,120000`);
      return fallback;
    }
    return parts.map(Number);
  };

  const port = int('PORT', 8080, 0, 65535);
  const host = env.HOST || '0.0.0.0';
  const dataDir = path.resolve(env.DATA_DIR || './data');

  const databaseUrl = env.DATABASE_URL ?? '';
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl) && !/^sqlite:/.test(databaseUrl)) {
    problems.push(`DATABASE_URL must start with postgres:// or sqlite: (got ${JSON.stringify(databaseUrl)})`);
  }

  const databaseSchema = env.DATABASE_SCHEMA ?? '';
  if (databaseSchema && !/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(databaseSchema)) {
    problems.push(`DATABASE_SCHEMA=${JSON.stringify(databaseSchema)} must be a plain identifier (letters, digits, _)`);
  }
  const redisUrl = env.REDIS_URL ?? '';
  if (redisUrl && !/^rediss?:\/\//.test(redisUrl)) problems.push(`REDIS_URL must start with redis:// or rediss:// (got ${JSON.stringify(redisUrl)})`);

  let publicBaseUrl = env.PUBLIC_BASE_URL ?? '';
  if (publicBaseUrl) {
    try {
      const url = new URL(publicBaseUrl);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('protocol');
      publicBaseUrl = publicBaseUrl.replace(/\/+$/, '');
    } catch {
      problems.push(`PUBLIC_BASE_URL=${JSON.stringify(publicBaseUrl)} is not an http(s) URL`);
      publicBaseUrl = '';
    }
  }
  if (!publicBaseUrl) publicBaseUrl = `http://localhost:${port}`;

  const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
  const logLevelRaw = (env.LOG_LEVEL || 'info').toLowerCase();
  let logLevel: Config['logLevel'] = 'info';
  if ((levels as readonly string[]).includes(logLevelRaw)) logLevel = logLevelRaw as Config['logLevel'];
  else problems.push(`LOG_LEVEL=${JSON.stringify(env.LOG_LEVEL)} must be one of ${levels.join(', ')}`);

  const masterKey = env.MASTER_KEY ?? '';
  if (masterKey && decodeMasterKey(masterKey) === null) {
    problems.push('MASTER_KEY must be 32 bytes given as 64 hex characters or base64');
  }

  if (env.ADMIN_TOKEN && env.ADMIN_TOKEN.length < 24) problems.push('ADMIN_TOKEN must be at least 24 characters');
  const roleRaw = env.ESIMHUB_ROLE || 'all';
  if (!['all', 'api', 'worker'].includes(roleRaw)) problems.push(`ESIMHUB_ROLE=${JSON.stringify(roleRaw)} must be all, api or worker`);

  if (env.OPERATOR_PASSWORD !== undefined && env.OPERATOR_PASSWORD !== '' && env.OPERATOR_PASSWORD.length < 10) problems.push('OPERATOR_PASSWORD must be at least 10 characters');
  if (env.OPERATOR_EMAIL !== undefined && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(env.OPERATOR_EMAIL.trim())) problems.push(`OPERATOR_EMAIL=${JSON.stringify(env.OPERATOR_EMAIL)} is not an email address`);
  // It goes into every simulated activation code (LPA:1$<host>$…), which clients split on `$`.
  const smdpHost = env.SANDBOX_SMDP_HOST || 'smdp.sandbox.esimhub.dev';
  if (!/^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/.test(smdpHost) || smdpHost.length > 200) {
    problems.push(`SANDBOX_SMDP_HOST=${JSON.stringify(smdpHost)} is not a host name (e.g. smdp.example.com)`);
  }
  const config: Config = {
    port,
    host,
    dataDir,
    databaseUrl,
    databaseSchema,
    redisUrl,
    publicBaseUrl,
    logLevel,
    masterKey,
    rateLimitPerSecond: int('RATE_LIMIT_PER_SECOND', 8, 1, 100000),
    signatureWindowMs: int('SIGNATURE_WINDOW_SECONDS', 300, 1, 86400) * 1000,
    keyRollGraceMs: int('KEY_ROLL_GRACE_HOURS', 24, 0, 24 * 90) * 3600_000,
    sandboxAllocationDelayMs: int('SANDBOX_ALLOCATION_DELAY_MS', 2000, 0, 600000),
    sandboxSmdpHost: smdpHost,
    sandboxHosts: (env.SANDBOX_HOSTS ?? '').split(',').map((h) => h.trim().toLowerCase()).filter(Boolean),
    purchaseTimeoutMs: int('PURCHASE_TIMEOUT_MS', 15_000, 100, 300_000),
    seedDemo: bool('SEED_DEMO', true),
    consoleSignup: bool('CONSOLE_SIGNUP', true),
    consoleLoginsPerSecond: int('CONSOLE_LOGIN_RATE', 5, 1, 100000),
    operatorEmail: (env.OPERATOR_EMAIL ?? 'operator@esimhub.local').trim().toLowerCase(),
    operatorPassword: env.OPERATOR_PASSWORD ?? '',
    adminToken: env.ADMIN_TOKEN ?? '',
    role: (['all', 'api', 'worker'].includes(roleRaw) ? roleRaw : 'all') as Config['role'],
    allowPrivateWebhooks: bool('ALLOW_PRIVATE_WEBHOOKS', false),
    webhookTimeoutMs: int('WEBHOOK_TIMEOUT_MS', 5000, 100, 60_000),
    webhookRetryScheduleMs: msList('WEBHOOK_RETRY_SCHEDULE_MS', [5_000, 30_000, 120_000, 600_000, 1_800_000, 3_600_000, 7_200_000, 14_400_000, 28_800_000]),
    webhookRetryWindowMs: int('WEBHOOK_RETRY_WINDOW_MS', 28 * 3600_000, 0, 30 * 86_400_000),
    webhookConcurrency: int('WEBHOOK_CONCURRENCY', 32, 1, 1000),
    webhookPartnerConcurrency: int('WEBHOOK_PARTNER_CONCURRENCY', 4, 1, 100),
    shutdownTimeoutMs: int('SHUTDOWN_TIMEOUT_MS', 25_000, 1, 3_600_000),
    readyCheckTimeoutMs: int('READY_CHECK_TIMEOUT_MS', 2000, 100, 60_000),
    trustProxy: bool('TRUST_PROXY', false),
    ...overrides,
  };
  if (problems.length) throw new ConfigError(problems);
  return config;
}

export function decodeMasterKey(text: string): Buffer | null {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return Buffer.from(trimmed, 'hex');
  try {
    const buf = Buffer.from(trimmed, 'base64');
    if (buf.length === 32) return buf;
  } catch {
    /* fall through */
  }
  return null;
}
