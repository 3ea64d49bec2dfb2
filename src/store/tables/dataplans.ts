/** Row types of the tables migration 006_dataplans creates; merged into DB in ../schema.ts. */

/** Operator-set exchange rates: how many units of `currency` one US dollar buys, times 1,000,000. */
export interface ExchangeRateTable {
  currency: string;
  /** e.g. 35.5 THB per USD is 35_500_000. */
  units_per_usd_e6: number;
  updated_at: number;
}

/** Per-currency price lists: an operator-set list price of one package in one currency (overrides the rate). */
export interface CurrencyPriceTable {
  currency: string;
  package_code: string;
  /** 1/10,000 of the currency, before the partner's tier factor. */
  price: number;
  updated_at: number;
}

/** Every live partner has a sandbox twin, created on demand, reached with the live partner's own keys. */
export interface SandboxTwinTable {
  live_partner_id: string;
  sandbox_partner_id: string;
  created_at: number;
}

/** One dataplans.io purchase: a one-eSIM order placed through the dataplans API. */
export interface DataplansPurchaseTable {
  /** UUID v4, what the partner sees as purchaseId; also the order's transactionId. */
  purchase_id: string;
  partner_id: string;
  order_id: string;
  plan_slug: string;
  plan_name: string;
  /** Suggested retail price and the price paid, in the partner's currency (1/10,000 units). */
  retail: number;
  paid: number;
  currency: string;
  created_at: number;
}

export interface DataplansTables {
  exchange_rates: ExchangeRateTable;
  currency_prices: CurrencyPriceTable;
  sandbox_twins: SandboxTwinTable;
  dataplans_purchases: DataplansPurchaseTable;
}
