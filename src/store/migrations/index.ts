import type { Migration } from 'kysely';
import type { StoreDialect } from '../connect.ts';
import { foundation } from './001_foundation.ts';
import { orders } from './002_orders.ts';
import { webhooks } from './003_webhooks.ts';
import { lifecycle } from './004_lifecycle.ts';
import { esimgo } from './005_esimgo.ts';
import { dataplans } from './006_dataplans.ts';
import { nativeApi } from './007_native_api.ts';
import { operations } from './008_operations.ts';
import { consoleTables } from './009_console.ts';
import { consoleIndexes } from './010_console_indexes.ts';
import { monthlySpend } from './011_monthly_spend.ts';
import { pgSequences } from './012_pg_sequences.ts';
import { webhookDueOrder } from './013_webhook_due_order.ts';
import { rateWindows } from './014_rate_windows.ts';
import { rateLimitLeases } from './015_rate_limit_leases.ts';

/** One ordered list for both stores; names sort in apply order and are never renamed. */
export const migrationList: Array<[string, (dialect: StoreDialect) => Migration]> = [
  ['001_foundation', foundation],
  ['002_orders', orders],
  ['003_webhooks', webhooks],
  ['004_lifecycle', lifecycle],
  ['005_esimgo', esimgo],
  ['006_dataplans', dataplans],
  ['007_native_api', nativeApi],
  ['008_operations', operations],
  ['009_console', consoleTables],
  ['010_console_indexes', consoleIndexes],
  ['011_monthly_spend', monthlySpend],
  ['012_pg_sequences', pgSequences],
  ['013_webhook_due_order', webhookDueOrder],
  ['014_rate_windows', rateWindows],
  ['015_rate_limit_leases', rateLimitLeases],
];
