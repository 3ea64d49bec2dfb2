import pino, { type Logger } from 'pino';
import type { Config } from './config.ts';
import type { AppContext } from './context.ts';
import { connectStore } from './store/connect.ts';
import { loadMasterKey, SecretBox } from './lib/secrets.ts';
import { ensurePriceTiers, Partners } from './domain/partners/partners.ts';
import { KeyResolver } from './http/key-resolver.ts';
import { makeRateLimiter } from './http/rate-limit.ts';
import { DbNonceStore, MemoryNonceStore } from './http/nonces.ts';
import { CatalogService } from './domain/catalog/service.ts';
import { ensureSandboxCatalog } from './domain/catalog/seed.ts';
import { SimulatedSmdp } from './supply/simulated.ts';
import { ProfilePool } from './supply/pool.ts';
import { SupplyRouter } from './supply/router.ts';
import { ALLOCATE_JOB, Ordering } from './domain/ordering/ordering.ts';
import { Allocator } from './domain/ordering/allocate.ts';
import { JobWorker } from './workers/runner.ts';
import { walletAccountId } from './domain/ledger/ledger.ts';
import { completeJob } from './workers/queue.ts';
import { Scheduler } from './workers/scheduler.ts';
import { Dispatcher } from './workers/dispatch.ts';
import { WebhookEndpoints } from './domain/notifications/webhooks.ts';
import { renderEsimAccessWebhook } from './http/dialects/esimaccess/webhook-payload.ts';
import { makeEsimGoCallbacks } from './http/dialects/esimgo/callbacks.ts';
import { Pricing } from './domain/pricing/pricing.ts';
import { ConsoleAccounts } from './domain/console/accounts.ts';
import { SandboxTwins } from './domain/purchases/twins.ts';
import { Inventory } from './domain/inventory/inventory.ts';
import { CatalogWatcher } from './domain/catalog/generation.ts';
import { verifyPassword } from './domain/console/passwords.ts';
import { randomBase58 } from './lib/ids.ts';

export function makeLogger(config: Pick<Config, 'logLevel'>): Logger {
  return pino({ level: config.logLevel, base: { service: 'esimhub' }, timestamp: pino.stdTimeFunctions.isoTime });
}

/** Opens the store (migrating it), seeds what a first start needs, and wires the services. */
export async function createContext(config: Config, log: Logger = makeLogger(config)): Promise<AppContext> {
  const store = await connectStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, ...(config.databaseSchema ? { schema: config.databaseSchema } : {}) });
  const { key } = loadMasterKey(config.masterKey, config.dataDir);
  const secrets = new SecretBox(key);
  const partners = new Partners(store.db, secrets, config.keyRollGraceMs);
  const now = () => Date.now();
  await ensurePriceTiers(store.db);
  const seeded = await ensureSandboxCatalog(store, now());
  if (seeded.packages > 0) log.info(seeded, 'generated the sandbox catalog');
  const catalog = new CatalogService(store.db);
  await catalog.load();
  // Every dialect's orders and top-ups are priced here: monthly tier and the partner's currency.
  const pricing = new Pricing(store.db);
  pricing.walletVersion = async (partnerId) => {
    const wallet = await store.fast.ledgerAccount(walletAccountId(partnerId));
    return wallet ? `${wallet.debits_posted}:${wallet.credits_posted}` : undefined;
  };
  catalog.priceFor = (partner, nowMs) => pricing.priceFunction(partner, nowMs);
  const pool = new ProfilePool(store.dialect);
  const supply = new SupplyRouter(new SimulatedSmdp(config.sandboxSmdpHost), { pool }, pool);
  const ordering = new Ordering(store.db, store.dialect, catalog, supply, config.sandboxAllocationDelayMs);
  const allocator = new Allocator(store.db, catalog, supply, now, log);
  const worker = new JobWorker({
    db: store.db,
    dialect: store.dialect,
    log,
    handlers: {
      [ALLOCATE_JOB]: {
        run: async (_job, payload: { orderId: string }) => {
          await allocator.allocate(payload.orderId);
        },
        giveUp: async (_job, payload: { orderId: string }, error) => {
          await allocator.failOrder(payload.orderId, `allocation kept failing: ${error}`);
        },
        runBatch: async (jobs) => {
          const jobByOrder = new Map(jobs.map(({ job, payload }) => [payload.orderId as string, job]));
          const done = await allocator.allocateBatch([...jobByOrder.keys()], (trx, orderId) => completeJob(trx, jobByOrder.get(orderId)!, now()));
          return new Set([...done].map((orderId) => jobByOrder.get(orderId)!.id));
        },
      },
    },
  });
  ordering.onWorkQueued = () => worker.wake();
  const esimGoCallbacks = makeEsimGoCallbacks(store.db, partners, catalog);
  // Renderers by dialect: partners' webhooks are rendered at delivery time in their dialect.
  const dispatcher = new Dispatcher({
    db: store.db,
    dialect: store.dialect,
    log,
    box: secrets,
    renderers: { esimaccess: renderEsimAccessWebhook, esimgo: esimGoCallbacks.renderer },
    dialectOf: esimGoCallbacks.dialectOf,
    timeoutMs: config.webhookTimeoutMs,
    retryScheduleMs: config.webhookRetryScheduleMs,
    retryWindowMs: config.webhookRetryWindowMs,
    concurrency: config.webhookConcurrency,
    perPartnerConcurrency: config.webhookPartnerConcurrency,
    allowPrivate: config.allowPrivateWebhooks,
  });
  catalog.basePackageOfIccid = async (partnerId, iccid) => {
    const esim = await store.db.selectFrom('esims').select('package_code').where('partner_id', '=', partnerId).where('iccid', '=', iccid).orderBy('created_at', 'desc').executeTakeFirst();
    return esim?.package_code ?? null;
  };
  // Bought, unapplied bundles (eSIM Go's inventory, also in /v1): given back when the eSIMs they were applied to cannot be made.
  const inventory = new Inventory(store.db, catalog, ordering);
  allocator.onOrderFailed.push((trx, orderId, nowMs) => inventory.returnInventoryOfFailedOrder(trx, orderId, nowMs));
  inventory.onWorkQueued = () => worker.wake();
// Catalogue and prices live in memory in every process: reload them when another process changes them.
  const catalogWatcher = new CatalogWatcher(store.db, async () => {
    pricing.invalidate();
    await catalog.reload();
  }, 1000, (err) => log.warn({ err }, 'catalogue generation check failed'));
  await catalogWatcher.start();
  const closeStore = store.close;
  store.close = async () => {
    catalogWatcher.stop();
    await closeStore();
  };
    const ctx: AppContext = {
    config,
    store,
    log,
    secrets,
    partners,
    consoleAccounts: new ConsoleAccounts(store.db, partners),
    twins: new SandboxTwins(store.db, partners, pricing),
    inventory,
    catalog,
    pricing,
    keys: new KeyResolver(partners),
    rateLimiter: await makeRateLimiter({ redisUrl: config.redisUrl, databaseSchema: config.databaseSchema, db: store.db, dialect: store.dialect }),
    nonces: store.dialect === 'sqlite' ? new MemoryNonceStore(config.signatureWindowMs) : new DbNonceStore(store.db, config.signatureWindowMs),
    supply,
    ordering,
    allocator,
    worker,
    scheduler: new Scheduler(store.db, log, now, () => ctx.notifyEvents()),
    notifyEvents: () => dispatcher.wake(),
    dispatcher,
    webhooks: new WebhookEndpoints(store.db, secrets),
    now,
  };
  return ctx;
}

const DEMO_KEY_META = 'demo_key_id';

/** Creates the demo sandbox partner once ($1,000.00) and returns its credentials on every start. */
export async function ensureDemoPartner(ctx: AppContext): Promise<{ partnerId: string; accessCode: string; secretKey: string; created: boolean } | null> {
  const meta = await ctx.store.db.selectFrom('meta').select('value').where('key', '=', DEMO_KEY_META).executeTakeFirst();
  if (meta) {
    const key = await ctx.partners.revealKey(meta.value);
    const row = await ctx.store.db.selectFrom('api_keys').select(['partner_id', 'status']).where('id', '=', meta.value).executeTakeFirst();
    if (!key || !row || row.status !== 'active') return null;
    return { partnerId: row.partner_id, accessCode: key.accessCode, secretKey: key.secretKey, created: false };
  }
  const { partner, key } = await ctx.partners.create({ name: 'Demo Sandbox Partner', environment: 'sandbox', depositMinor: 1000 * 10_000 }, ctx.now());
  await ctx.store.db.insertInto('meta').values({ key: DEMO_KEY_META, value: key.keyId }).onConflict((oc) => oc.column('key').doNothing()).execute();
  return { partnerId: partner.id, accessCode: key.accessCode, secretKey: key.secretKey, created: true };
}

export interface ConsoleLogin {
  role: 'operator' | 'partner';
  email: string;
  /** The first-start password while it is unchanged; null once the user has set their own. */
  password: string | null;
}

/**
 * The console users a first start makes: the operator (OPERATOR_EMAIL / OPERATOR_PASSWORD, or a generated
 * password) and, with the demo partner, its user `demo@esimhub.local`. Generated passwords are kept sealed
 * so every start can print them until they are changed.
 */
export async function ensureConsoleUsers(ctx: AppContext, demoPartnerId: string | null): Promise<ConsoleLogin[]> {
  const wanted: Array<{ role: 'operator' | 'partner'; email: string; given: string; partnerId: string | null; meta: string }> = [
    { role: 'operator', email: ctx.config.operatorEmail, given: ctx.config.operatorPassword, partnerId: null, meta: 'console_operator' },
  ];
  if (demoPartnerId) wanted.push({ role: 'partner', email: 'demo@esimhub.local', given: '', partnerId: demoPartnerId, meta: 'console_demo' });
  const out: ConsoleLogin[] = [];
  for (const want of wanted) {
    const db = ctx.store.db;
    const meta = await db.selectFrom('meta').select('value').where('key', '=', want.meta).executeTakeFirst();
    if (meta) {
      const { userId, sealed } = JSON.parse(meta.value) as { userId: string; sealed: string | null };
      const user = await db.selectFrom('console_users').select(['email', 'password_hash']).where('id', '=', userId).executeTakeFirst();
      if (!user) continue;
      const initial = sealed ? ctx.secrets.open(sealed) : null;
      out.push({ role: want.role, email: user.email, password: initial && (await verifyPassword(initial, user.password_hash)) ? initial : null });
      continue;
    }
    if (await ctx.consoleAccounts.findUserByEmail(want.email)) continue;
    const password = want.given || randomBase58(16);
    const user = await ctx.consoleAccounts.createUser({ email: want.email, password, role: want.role, partnerId: want.partnerId }, ctx.now());
    const value = JSON.stringify({ userId: user.id, sealed: want.given ? null : ctx.secrets.seal(password) });
    await db.insertInto('meta').values({ key: want.meta, value }).onConflict((oc) => oc.column('key').doNothing()).execute();
    out.push({ role: want.role, email: user.email, password: want.given ? null : password });
  }
  return out;
}
