import type { Migration } from 'kysely';
import type { StoreDialect } from '../connect.ts';
import { foundation } from './001_foundation.ts';
import { orders } from './002_orders.ts';
import { webhooks } from './003_webhooks.ts';
import { lifecycle } from './004_lifecycle.ts';

/** One ordered list for both stores; names sort in apply order and are never renamed. */
export const migrationList: Array<[string, (dialect: StoreDialect) => Migration]> = [
  ['001_foundation', foundation],
  ['002_orders', orders],
  ['003_webhooks', webhooks],
  ['004_lifecycle', lifecycle],
];
