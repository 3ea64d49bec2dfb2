import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { PROBLEM_CODES } from './problem.ts';

/**
 * The /v1 wire schemas, in TypeBox: Fastify validates requests with them, serialises responses with them and
 * @fastify/swagger turns them into /openapi.json. Money is an integer in 1/10,000 of `currency`; times are
 * RFC 3339 UTC; ids carry a prefix (`ord_`, `esim_`, `txf_`, `key_`, `whd_`, `we_`).
 */
export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const Timestamp = (description?: string) => Type.String({ format: 'date-time', description });
const Money = (description: string) => Type.Integer({ description: `${description}, in 1/10,000 of the currency (12.5 USD = 125000)` });

export const ProblemSchema = Type.Object(
  {
    type: Type.String({ description: 'A URI naming the problem type: https://esimhub.dev/problems/<code>' }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    instance: Type.String({ description: 'The request path' }),
    code: Type.Union(PROBLEM_CODES.map((c) => Type.Literal(c)), { description: 'One of a closed list of codes (docs/api.md)' }),
    request_id: Type.String({ description: 'Also sent as the x-request-id header; quote it to support' }),
    errors: Type.Optional(Type.Array(Type.Object({ loc: Type.String(), msg: Type.String(), type: Type.String() }), { description: 'Field-level validation failures' })),
  },
  { title: 'Problem', description: 'RFC 9457 problem details' },
);

export function ListOf<T extends TSchema>(item: T, name: string) {
  return Type.Object(
    {
      object: Type.Literal('list'),
      data: Type.Array(item),
      has_more: Type.Boolean(),
      next_cursor: Nullable(Type.String({ description: 'Pass as `cursor` to get the next page' })),
    },
    { title: `${name}List` },
  );
}

export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20, description: 'Page size (1-100, default 20)' })),
  cursor: Type.Optional(Type.String({ maxLength: 500, description: 'The next_cursor of the previous page' })),
};

export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 255,
      description: 'Makes the request safe to retry: a repeat with the same key (per API key, method and path) within 24 h returns the first response. A different body with the same key is refused (422).',
    }),
  ),
});

export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });

// ---------------------------------------------------------------- catalog

export const LocationSchema = Type.Object(
  {
    object: Type.Literal('location'),
    code: Type.String({ description: 'ISO 3166-1 alpha-2 country code, or a region code such as EU-42' }),
    name: Type.String(),
    type: Type.Union([Type.Literal('country'), Type.Literal('region')]),
    region_group: Nullable(Type.String()),
    countries: Type.Array(Type.Object({ code: Type.String(), name: Type.String() }), { description: 'Member countries of a region (empty for a country)' }),
  },
  { title: 'Location' },
);

export const OperatorSchema = Type.Object(
  {
    object: Type.Literal('operator'),
    id: Type.String(),
    country_code: Type.String(),
    name: Type.String(),
    mcc: Type.String(),
    mnc: Type.String(),
    network_types: Type.String({ description: 'e.g. 4G/5G' }),
  },
  { title: 'Operator' },
);

export const PackageSchema = Type.Object(
  {
    object: Type.Literal('package'),
    id: Type.String({ description: 'The package code' }),
    slug: Type.String(),
    name: Type.String(),
    type: Type.Union([Type.Literal('base'), Type.Literal('topup')]),
    price: Money('Your price'),
    retail_price: Money('Suggested retail price'),
    currency: Type.String(),
    volume_bytes: Type.Integer(),
    duration: Type.Integer(),
    duration_unit: Type.String(),
    data_type: Type.Integer({ description: '1 total volume, 2 daily limit then slowed, 3 daily limit then cut off, 4 unlimited' }),
    day_pass: Type.Boolean({ description: 'Priced per day: orders give period_num (days)' }),
    location_code: Type.String(),
    location_name: Type.String(),
    sms_supported: Type.Boolean(),
    active_type: Type.Integer({ description: '1 validity starts at installation, 2 at first network use' }),
    unused_valid_days: Type.Integer({ description: 'Days to install before the profile expires unused' }),
    speed: Type.String(),
    topup_group: Type.String({ description: 'Top-ups fit base packages of the same group' }),
    networks: Type.Array(Type.Object({ location_code: Type.String(), location_name: Type.String(), operators: Type.Array(Type.Object({ name: Type.String(), network_type: Type.String() })) })),
  },
  { title: 'Package' },
);

export const PackageQuery = Type.Object({
  ...PageQuery,
  type: Type.Optional(Type.Union([Type.Literal('base'), Type.Literal('topup')], { description: 'Default base' })),
  location: Type.Optional(Type.String({ maxLength: 20, description: 'A country code, a region code, `!RG` (regional) or `!GL` (global)' })),
  topup_for_package: Type.Optional(Type.String({ maxLength: 100, description: 'With type=topup: the top-ups that fit this base package' })),
  topup_for_esim: Type.Optional(Type.String({ maxLength: 100, description: 'With type=topup: the top-ups that fit this eSIM (id, ICCID or esim_tran_no)' })),
});

// ---------------------------------------------------------------- orders

export const OrderLineInputSchema = Type.Object(
  {
    package_id: Type.String({ minLength: 1, maxLength: 100, description: 'A package code or slug' }),
    count: Type.Integer({ minimum: 1, maximum: 30 }),
    period_num: Type.Optional(Type.Integer({ minimum: 1, maximum: 365, description: 'Days, for day passes' })),
    price: Type.Optional(Type.Integer({ minimum: 0, description: 'The unit price you expect (checked when given)' })),
  },
  { additionalProperties: false },
);

export const CreateOrderBody = Type.Object(
  {
    transaction_id: Type.Optional(Type.String({ minLength: 1, maxLength: 50, description: 'Your own reference, unique per order; a repeat answers the first order. Defaults to the Idempotency-Key.' })),
    lines: Type.Array(OrderLineInputSchema, { minItems: 1, maxItems: 30 }),
    amount: Type.Optional(Type.Integer({ minimum: 0, description: 'The total you expect (checked when given)' })),
  },
  { additionalProperties: false, title: 'CreateOrder' },
);

export const OrderLineSchema = Type.Object({
  package_id: Type.String(),
  count: Type.Integer(),
  period_num: Nullable(Type.Integer()),
  unit_price: Money('Price per profile'),
  amount: Money('Line total'),
});

export const OrderSchema = Type.Object(
  {
    object: Type.Literal('order'),
    id: Type.String({ description: 'ord_…' }),
    order_no: Type.String({ description: 'The order number the eSIM Access dialect shows' }),
    transaction_id: Type.String(),
    status: Type.Union([Type.Literal('allocating'), Type.Literal('ready'), Type.Literal('failed')]),
    amount: Money('Total charged'),
    currency: Type.String(),
    profile_count: Type.Integer(),
    allocated_count: Type.Integer(),
    lines: Type.Array(OrderLineSchema),
    failure_reason: Nullable(Type.String()),
    created_at: Timestamp(),
    completed_at: Nullable(Timestamp()),
  },
  { title: 'Order' },
);

export const OrderValidationSchema = Type.Object(
  {
    object: Type.Literal('order_validation'),
    valid: Type.Boolean(),
    amount: Money('What the order would cost'),
    currency: Type.String(),
    balance: Money('Your balance now'),
    balance_sufficient: Type.Boolean(),
    lines: Type.Array(OrderLineSchema),
  },
  { title: 'OrderValidation' },
);

/** GET /v1/orders/{id}/qr-codes.zip: a binary answer, documented as such. */
export const QrArchiveResponse = {
  description: 'A ZIP: `<ICCID>.png` (the QR code of the activation code) for every eSIM that can still be installed, and `esims.csv` (iccid, esim_id, status, activation_code, install_url) listing every eSIM of the order',
  content: { 'application/zip': { schema: Type.String({ format: 'binary' }) } },
};

export const OrderListQuery = Type.Object({
  ...PageQuery,
  status: Type.Optional(Type.Union([Type.Literal('allocating'), Type.Literal('ready'), Type.Literal('failed')])),
  transaction_id: Type.Optional(Type.String({ maxLength: 50 })),
});

// ---------------------------------------------------------------- eSIMs

export const EsimStatusSchema = Type.Union((['GOT_RESOURCE', 'IN_USE', 'USED_UP', 'UNUSED_EXPIRED', 'USED_EXPIRED', 'CANCEL', 'SUSPENDED', 'REVOKE'] as const).map((s) => Type.Literal(s)),
);

export const BundleSchema = Type.Object({
  id: Type.String(),
  package_id: Type.String(),
  kind: Type.Union([Type.Literal('base'), Type.Literal('topup')]),
  state: Type.String({ description: 'processing, queued, active, depleted, expired, revoked or lapsed' }),
  volume_bytes: Type.Integer(),
  used_bytes: Type.Integer(),
  duration: Type.Integer(),
  duration_unit: Type.String(),
  activated_at: Nullable(Timestamp()),
  expires_at: Nullable(Timestamp()),
  created_at: Timestamp(),
});

export const EsimSchema = Type.Object(
  {
    object: Type.Literal('esim'),
    id: Type.String({ description: 'esim_…' }),
    iccid: Type.String(),
    esim_tran_no: Type.String(),
    order_id: Type.String(),
    order_no: Type.String(),
    transaction_id: Type.String(),
    package_id: Type.String(),
    status: EsimStatusSchema,
    smdp_status: Type.String({ description: 'RELEASED, DOWNLOAD, INSTALLATION, ENABLED, DISABLED or DELETED' }),
    activation_code: Type.String({ description: 'LPA:1$<smdp>$<matching id>' }),
    smdp_address: Type.String(),
    matching_id: Type.String(),
    confirmation_code: Nullable(Type.String()),
    qr_code_url: Type.String({ description: 'PNG of the activation code' }),
    install_url: Type.String({ description: 'Install page for the end user' }),
    imsi: Nullable(Type.String()),
    msisdn: Nullable(Type.String()),
    eid: Nullable(Type.String()),
    apn: Nullable(Type.String()),
    sms_supported: Type.Boolean(),
    data_type: Type.Integer(),
    total_volume_bytes: Type.Integer(),
    used_bytes: Type.Integer(),
    total_duration: Type.Integer(),
    duration_unit: Type.String(),
    install_by: Timestamp('The profile expires if not installed by then'),
    activated_at: Nullable(Timestamp()),
    expires_at: Nullable(Timestamp()),
    created_at: Timestamp(),
    bundles: Type.Array(BundleSchema),
  },
  { title: 'Esim' },
);

export const EsimListQuery = Type.Object({
  ...PageQuery,
  order_id: Type.Optional(Type.String({ maxLength: 60, description: 'An order id (ord_…) or order number' })),
  iccid: Type.Optional(Type.String({ maxLength: 22 })),
  status: Type.Optional(EsimStatusSchema),
  created_after: Type.Optional(Type.String({ format: 'date-time' })),
  created_before: Type.Optional(Type.String({ format: 'date-time' })),
});

export const TopupBody = Type.Object(
  {
    package_id: Type.String({ minLength: 1, maxLength: 100 }),
    transaction_id: Type.Optional(Type.String({ minLength: 1, maxLength: 50, description: 'Defaults to the Idempotency-Key' })),
    amount: Type.Optional(Type.Integer({ minimum: 0, description: 'The price you expect (checked when given)' })),
  },
  { additionalProperties: false, title: 'CreateTopup' },
);

export const TopupSchema = Type.Object(
  {
    object: Type.Literal('topup'),
    order_id: Type.String(),
    transaction_id: Type.String(),
    package_id: Type.String(),
    amount: Money('Charged'),
    currency: Type.String(),
    esim: EsimSchema,
  },
  { title: 'Topup' },
);

export const UsageRecordSchema = Type.Object({
  object: Type.Literal('usage_record'),
  id: Type.String(),
  bytes: Type.Integer(),
  period_start: Nullable(Timestamp()),
  period_end: Nullable(Timestamp()),
  received_at: Timestamp(),
});

export const UsageSchema = Type.Object(
  {
    object: Type.Literal('usage'),
    esim_id: Type.String(),
    used_bytes: Type.Integer(),
    total_bytes: Type.Integer(),
    remaining_bytes: Type.Integer(),
    updated_at: Timestamp(),
    records: ListOf(UsageRecordSchema, 'UsageRecord'),
  },
  { title: 'Usage' },
);

export const SmsBody = Type.Object({ message: Type.String({ minLength: 1, maxLength: 500 }) }, { additionalProperties: false, title: 'SendSms' });

export const SmsSchema = Type.Object(
  {
    object: Type.Literal('sms'),
    id: Type.String(),
    direction: Type.Union([Type.Literal('mt'), Type.Literal('mo')], { description: 'mt: sent to the device; mo: sent by the device' }),
    sender: Nullable(Type.String()),
    body: Type.String(),
    created_at: Timestamp(),
  },
  { title: 'Sms' },
);

// ---------------------------------------------------------------- balance and ledger

export const BalanceSchema = Type.Object(
  { object: Type.Literal('balance'), available: Money('Balance'), currency: Type.String(), updated_at: Timestamp() },
  { title: 'Balance' },
);

export const TransactionSchema = Type.Object(
  {
    object: Type.Literal('transaction'),
    id: Type.String({ description: 'txf_…' }),
    kind: Type.Union((['deposit', 'charge', 'refund', 'adjustment', 'withdrawal'] as const).map((k) => Type.Literal(k))),
    amount: Money('Signed: positive adds to your balance, negative takes from it'),
    currency: Type.String(),
    reference: Nullable(Type.String({ description: 'e.g. the order number' })),
    memo: Nullable(Type.String()),
    created_at: Timestamp(),
  },
  { title: 'Transaction' },
);

export const TransactionQuery = Type.Object({
  ...PageQuery,
  kind: Type.Optional(Type.Union((['deposit', 'charge', 'refund', 'adjustment', 'withdrawal'] as const).map((k) => Type.Literal(k)))),
  created_after: Type.Optional(Type.String({ format: 'date-time' })),
  created_before: Type.Optional(Type.String({ format: 'date-time' })),
});

export const TransactionExportQuery = Type.Object({
  kind: Type.Optional(Type.Union((['deposit', 'charge', 'refund', 'adjustment', 'withdrawal'] as const).map((k) => Type.Literal(k)))),
  created_after: Type.Optional(Type.String({ format: 'date-time' })),
  created_before: Type.Optional(Type.String({ format: 'date-time' })),
});

// ---------------------------------------------------------------- webhooks

export const WebhookEndpointSchema = Type.Object(
  {
    object: Type.Literal('webhook_endpoint'),
    id: Type.String({ description: 'we_…' }),
    url: Type.String(),
    dialect: Type.String({ description: 'The format events are rendered in' }),
    secret: Type.Optional(Type.String({ description: 'The Standard Webhooks signing secret (whsec_…): only in the answer to create' })),
  },
  { title: 'WebhookEndpoint' },
);

export const WebhookEndpointBody = Type.Object({ url: Type.String({ minLength: 1, maxLength: 2000, format: 'uri' }) }, { additionalProperties: false, title: 'WebhookEndpointInput' });

export const WebhookSecretSchema = Type.Object(
  {
    object: Type.Literal('webhook_secret'),
    secret: Type.String(),
    previous_secret_valid_until: Nullable(Timestamp('The previous secret keeps signing until then')),
  },
  { title: 'WebhookSecret' },
);

export const WebhookTestSchema = Type.Object(
  {
    object: Type.Literal('webhook_test'),
    ok: Type.Boolean(),
    status_code: Nullable(Type.Integer()),
    latency_ms: Type.Integer(),
    error: Nullable(Type.String()),
  },
  { title: 'WebhookTest' },
);

export const WebhookDeliverySchema = Type.Object(
  {
    object: Type.Literal('webhook_delivery'),
    id: Type.String(),
    event_id: Type.String(),
    event_type: Type.String(),
    url: Type.String(),
    status: Type.Union((['pending', 'delivered', 'failed', 'dead'] as const).map((s) => Type.Literal(s))),
    attempts: Type.Integer(),
    last_status_code: Nullable(Type.Integer()),
    last_error: Nullable(Type.String()),
    next_attempt_at: Nullable(Timestamp()),
    delivered_at: Nullable(Timestamp()),
    created_at: Timestamp(),
  },
  { title: 'WebhookDelivery' },
);

export const DeliveryQuery = Type.Object({
  ...PageQuery,
  status: Type.Optional(Type.Union((['pending', 'delivered', 'failed', 'dead'] as const).map((s) => Type.Literal(s)))),
});

// ---------------------------------------------------------------- API keys

export const ApiKeySchema = Type.Object(
  {
    object: Type.Literal('api_key'),
    id: Type.String({ description: 'key_…' }),
    label: Type.String(),
    access_code_hint: Type.String({ description: 'The first characters of the AccessCode' }),
    status: Type.Union([Type.Literal('active'), Type.Literal('revoked')]),
    signature_required: Type.Boolean(),
    expires_at: Nullable(Timestamp('Set when the key was rolled: it stops working then')),
    created_at: Timestamp(),
    revoked_at: Nullable(Timestamp()),
  },
  { title: 'ApiKey' },
);

export const ApiKeyCreatedSchema = Type.Object(
  {
    object: Type.Literal('api_key'),
    id: Type.String(),
    label: Type.String(),
    access_code: Type.String({ description: 'Use as the Bearer token (and RT-AccessCode); shown only once' }),
    secret_key: Type.String({ description: 'HMAC key for signed eSIM Access requests; shown only once' }),
    previous_key_expires_at: Nullable(Timestamp('When rolling: when the old key stops working')),
  },
  { title: 'ApiKeyCreated' },
);

export const ApiKeyBody = Type.Object({ label: Type.Optional(Type.String({ maxLength: 100 })) }, { additionalProperties: false, title: 'CreateApiKey' });

export type CreateOrderInput = Static<typeof CreateOrderBody>;
export type OrderWire = Static<typeof OrderSchema>;
export type EsimWire = Static<typeof EsimSchema>;
export type PackageWire = Static<typeof PackageSchema>;
