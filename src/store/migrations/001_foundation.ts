import { sql, type Kysely } from 'kysely';
import type { StoreDialect } from '../connect.ts';

/** Partners, keys, ledger, catalog. Frozen: later changes go in new migrations. */
export function foundation(dialect: StoreDialect) {
  return {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema
        .createTable('meta')
        .addColumn('key', 'varchar(100)', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('price_tiers')
        .addColumn('id', 'varchar(40)', (c) => c.primaryKey())
        .addColumn('name', 'varchar(100)', (c) => c.notNull())
        .addColumn('price_factor_bps', 'integer', (c) => c.notNull())
        .addColumn('min_monthly_volume', 'bigint', (c) => c.notNull().defaultTo(0))
        .execute();

      await db.schema
        .createTable('partners')
        .addColumn('id', 'varchar(40)', (c) => c.primaryKey())
        .addColumn('name', 'varchar(200)', (c) => c.notNull())
        .addColumn('environment', 'varchar(10)', (c) => c.notNull())
        .addColumn('currency', 'varchar(3)', (c) => c.notNull())
        .addColumn('price_tier_id', 'varchar(40)', (c) => c.notNull().references('price_tiers.id'))
        .addColumn('status', 'varchar(20)', (c) => c.notNull())
        .addColumn('rate_limit_per_second', 'integer')
        .addColumn('ip_blocklist', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('clock_offset_ms', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('last_deposit_amount', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('webhook_url', 'text')
        .addColumn('webhook_secret_enc', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('api_keys')
        .addColumn('id', 'varchar(40)', (c) => c.primaryKey())
        .addColumn('partner_id', 'varchar(40)', (c) => c.notNull().references('partners.id'))
        .addColumn('access_code_hash', 'varchar(64)', (c) => c.notNull().unique())
        .addColumn('access_code_hint', 'varchar(16)', (c) => c.notNull())
        .addColumn('secret_enc', 'text', (c) => c.notNull())
        .addColumn('label', 'varchar(100)', (c) => c.notNull().defaultTo(''))
        .addColumn('signature_required', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('status', 'varchar(20)', (c) => c.notNull())
        .addColumn('expires_at', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('revoked_at', 'bigint')
        .addColumn('last_used_at', 'bigint')
        .execute();
      await db.schema.createIndex('api_keys_partner').on('api_keys').column('partner_id').execute();

      await db.schema
        .createTable('ledger_accounts')
        .addColumn('id', 'varchar(60)', (c) => c.primaryKey())
        .addColumn('kind', 'varchar(20)', (c) => c.notNull())
        .addColumn('partner_id', 'varchar(40)')
        .addColumn('currency', 'varchar(3)', (c) => c.notNull())
        .addColumn('debits_posted', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('credits_posted', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('debits_must_not_exceed_credits', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('ledger_transfers')
        .addColumn('seq', dialect === 'postgres' ? 'bigserial' : 'integer', (c) =>
          dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
        )
        .addColumn('id', 'varchar(40)', (c) => c.notNull().unique())
        .addColumn('idempotency_id', 'varchar(200)', (c) => c.notNull().unique())
        .addColumn('debit_account_id', 'varchar(60)', (c) => c.notNull().references('ledger_accounts.id'))
        .addColumn('credit_account_id', 'varchar(60)', (c) => c.notNull().references('ledger_accounts.id'))
        .addColumn('amount', 'bigint', (c) => c.notNull())
        .addColumn('currency', 'varchar(3)', (c) => c.notNull())
        .addColumn('kind', 'varchar(20)', (c) => c.notNull())
        .addColumn('partner_id', 'varchar(40)', (c) => c.notNull())
        .addColumn('reference', 'varchar(200)')
        .addColumn('memo', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addCheckConstraint('ledger_transfers_amount_positive', sql`amount > 0`)
        .execute();
      await db.schema.createIndex('ledger_transfers_partner').on('ledger_transfers').columns(['partner_id', 'seq']).execute();

      await db.schema
        .createTable('locations')
        .addColumn('code', 'varchar(20)', (c) => c.primaryKey())
        .addColumn('name', 'varchar(200)', (c) => c.notNull())
        .addColumn('type', 'integer', (c) => c.notNull())
        .addColumn('region_group', 'varchar(40)')
        .addColumn('sort_order', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();

      await db.schema
        .createTable('location_members')
        .addColumn('region_code', 'varchar(20)', (c) => c.notNull().references('locations.code'))
        .addColumn('country_code', 'varchar(2)', (c) => c.notNull().references('locations.code'))
        .addPrimaryKeyConstraint('location_members_pk', ['region_code', 'country_code'])
        .execute();

      await db.schema
        .createTable('operators')
        .addColumn('id', 'varchar(40)', (c) => c.primaryKey())
        .addColumn('country_code', 'varchar(2)', (c) => c.notNull())
        .addColumn('name', 'varchar(200)', (c) => c.notNull())
        .addColumn('mcc', 'varchar(3)', (c) => c.notNull())
        .addColumn('mnc', 'varchar(3)', (c) => c.notNull())
        .addColumn('network_types', 'varchar(40)', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('operators_country').on('operators').column('country_code').execute();

      await db.schema
        .createTable('packages')
        .addColumn('package_code', 'varchar(60)', (c) => c.primaryKey())
        .addColumn('slug', 'varchar(100)', (c) => c.notNull().unique())
        .addColumn('name', 'varchar(200)', (c) => c.notNull())
        .addColumn('type', 'varchar(10)', (c) => c.notNull())
        .addColumn('price', 'bigint', (c) => c.notNull())
        .addColumn('currency_code', 'varchar(3)', (c) => c.notNull())
        .addColumn('volume', 'bigint', (c) => c.notNull())
        .addColumn('sms_status', 'integer', (c) => c.notNull())
        .addColumn('data_type', 'integer', (c) => c.notNull())
        .addColumn('unused_valid_time', 'integer', (c) => c.notNull())
        .addColumn('duration', 'integer', (c) => c.notNull())
        .addColumn('duration_unit', 'varchar(10)', (c) => c.notNull())
        .addColumn('location_code', 'varchar(20)', (c) => c.notNull())
        .addColumn('location', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('active_type', 'integer', (c) => c.notNull())
        .addColumn('favorite', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('retail_price', 'bigint', (c) => c.notNull())
        .addColumn('speed', 'varchar(40)', (c) => c.notNull())
        .addColumn('ip_export', 'varchar(10)', (c) => c.notNull())
        .addColumn('support_topup_type', 'integer', (c) => c.notNull())
        .addColumn('fup_policy', 'text', (c) => c.notNull())
        .addColumn('is_daypass', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('topup_group', 'varchar(60)', (c) => c.notNull())
        .addColumn('networks_json', 'text', (c) => c.notNull())
        .addColumn('supply', 'varchar(40)', (c) => c.notNull())
        .addColumn('status', 'varchar(10)', (c) => c.notNull())
        .addColumn('sort_order', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('packages_location').on('packages').columns(['location_code', 'type']).execute();
      await db.schema.createIndex('packages_topup_group').on('packages').columns(['topup_group', 'type']).execute();

      await db.schema
        .createTable('request_nonces')
        .addColumn('key_id', 'varchar(40)', (c) => c.notNull())
        .addColumn('request_id', 'varchar(100)', (c) => c.notNull())
        .addColumn('seen_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('request_nonces_pk', ['key_id', 'request_id'])
        .execute();
      await db.schema.createIndex('request_nonces_seen').on('request_nonces').column('seen_at').execute();
    },
  };
}
