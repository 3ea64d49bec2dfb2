/** Row types of the tables migration 005_esimgo creates; merged into DB in ../schema.ts. */

/** An eSIM Go order or bundle apply, by its orderReference / applyReference (a UUID). */
export interface EsimGoOrderTable {
  reference: string;
  partner_id: string;
  /** order: POST /orders; apply: POST /esims/apply. */
  kind: 'order' | 'apply';
  /** The core order that makes new eSIMs for this reference, if any. */
  order_id: string | null;
  assigned: number;
  /** JSON: [{type, item, packageCode, quantity, pricePerUnitMinor, subTotalMinor, iccids?, allowReassign}]. */
  lines_json: string;
  total: number;
  currency: string;
  source_ip: string | null;
  running_balance: number | null;
  created_at: number;
}

/** Bundles bought with assign:false and not yet applied to an eSIM; `usage_id` is eSIM Go's usageId. */
export interface EsimGoInventoryTable {
  id: string;
  usage_id: number;
  partner_id: string;
  package_code: string;
  reference: string;
  total: number;
  remaining: number;
  unit_price: number;
  currency: string;
  expires_at: number;
  created_at: number;
  updated_at: number;
}

/** Which eSIM Go reference put a bundle on an eSIM (assignmentReference = reference-index). */
export interface EsimGoBundleRefTable {
  bundle_id: string;
  partner_id: string;
  reference: string;
  assignment_reference: string;
  /** Set when the bundle came from inventory: revoking it unused can return it there. */
  inventory_id: string | null;
  created_at: number;
}

/** Per-eSIM settings only eSIM Go has. */
export interface EsimGoEsimTable {
  esim_id: string;
  partner_id: string;
  customer_ref: string;
  branding_id: string | null;
  /** DELETE /esims/{iccid} (v2.5): the eSIM no longer shows in this partner's account. */
  deleted_at: number | null;
  updated_at: number;
}

/** Per-partner eSIM Go settings: callback URL and version, and which dialect webhooks are rendered in. */
export interface EsimGoSettingsTable {
  partner_id: string;
  callback_url: string | null;
  /** 'V2' (unsigned) or 'V3' (X-Signature-SHA256). */
  callback_version: string;
  /** Which dialect the partner's webhooks speak: esimgo, or another dialect name. */
  dialect: string;
  /** The API key whose AccessCode signs callbacks. */
  key_id: string | null;
  updated_at: number;
}

export interface EsimGoTables {
  esimgo_orders: EsimGoOrderTable;
  esimgo_inventory: EsimGoInventoryTable;
  esimgo_bundle_refs: EsimGoBundleRefTable;
  esimgo_esims: EsimGoEsimTable;
  esimgo_settings: EsimGoSettingsTable;
}
