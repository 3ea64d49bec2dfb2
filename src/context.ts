import type { Logger } from 'pino';
import type { Config } from './config.ts';
import type { Store } from './store/connect.ts';
import type { SecretBox } from './lib/secrets.ts';
import type { Partners } from './domain/partners/partners.ts';
import type { KeyResolver } from './http/key-resolver.ts';
import type { RateLimiter } from './http/rate-limit.ts';
import type { NonceStore } from './http/nonces.ts';
import type { CatalogService } from './domain/catalog/service.ts';
import type { Ordering } from './domain/ordering/ordering.ts';
import type { Allocator } from './domain/ordering/allocate.ts';
import type { SupplyRouter } from './supply/router.ts';
import type { JobWorker } from './workers/runner.ts';
import type { Scheduler } from './workers/scheduler.ts';
import type { Dispatcher } from './workers/dispatch.ts';
import type { WebhookEndpoints } from './domain/notifications/webhooks.ts';
import type { Pricing } from './domain/pricing/pricing.ts';
import type { ConsoleAccounts } from './domain/console/accounts.ts';
import type { SandboxTwins } from './domain/purchases/twins.ts';
import type { Inventory } from './domain/inventory/inventory.ts';

/** The services one process runs with; built once by bootstrap and handed to dialects and workers. */
export interface AppContext {
  config: Config;
  store: Store;
  log: Logger;
  secrets: SecretBox;
  partners: Partners;
  /** Live partners' sandbox accounts, reached with the live keys through the sandbox base URLs. */
  twins: SandboxTwins;
  /** Bundles bought and not yet applied (eSIM Go's model; also in /v1). */
  inventory: Inventory;
  /** Web console users, passwords and sessions. */
  consoleAccounts: ConsoleAccounts;
  catalog: CatalogService;
  /** Partner prices: monthly tiers, exchange rates and per-currency price lists. */
  pricing: Pricing;
  keys: KeyResolver;
  rateLimiter: RateLimiter;
  nonces: NonceStore;
  supply: SupplyRouter;
  ordering: Ordering;
  allocator: Allocator;
  /** Background job worker; runs only in processes with role all or worker. */
  worker: JobWorker;
  /** Time-driven lifecycle transitions and sandbox traffic; runs where the worker runs. */
  scheduler: Scheduler;
  /** Called after a change that wrote events outside a worker, so delivery can start at once. */
  notifyEvents(): void;
  /** Webhook delivery from the outbox; runs where the worker runs. */
  dispatcher: Dispatcher;
  /** Partners' webhook endpoints, signing secrets, deliveries and attempts. */
  webhooks: WebhookEndpoints;
  /** Real UTC time; sandbox partners see it plus their clock offset. */
  now(): number;
}

export function partnerNow(ctx: AppContext, partner: { environment: string; clock_offset_ms: number }): number {
  return ctx.now() + (partner.environment === 'sandbox' ? Number(partner.clock_offset_ms) : 0);
}
