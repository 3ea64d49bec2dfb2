import { Type, type TSchema } from '@sinclair/typebox';
import { Nullable } from './schemas.ts';

/**
 * Documentation-only schemas for the eSIM Access dialect (/api/v1/open). Its routes read the raw body
 * themselves (signatures cover the bytes), so these never validate anything: openapi.ts attaches them to the
 * document through the @fastify/swagger transform. Every answer is HTTP 200 with the envelope
 * { success, errorCode, errorMsg, obj }.
 */
function envelope(obj: TSchema) {
  return Type.Object({
    success: Type.Boolean(),
    errorCode: Type.String({ description: '"0" on success, else an eSIM Access error code' }),
    errorMsg: Nullable(Type.String()),
    errorMessage: Type.Optional(Nullable(Type.String())),
    obj: Type.Optional(Nullable(obj)),
  });
}

const EsimRef = {
  iccid: Type.Optional(Type.String({ description: 'ICCID (18-20 digits)' })),
  esimTranNo: Type.Optional(Type.String({ description: 'esimTranNo (digits)' })),
};

const PackageInfo = Type.Object({
  packageCode: Type.Optional(Type.String()),
  slug: Type.Optional(Type.String()),
  count: Type.Integer({ minimum: 1, maximum: 30 }),
  price: Type.Optional(Type.Integer({ description: '1/10,000 of the currency' })),
  periodNum: Type.Optional(Type.Integer({ minimum: 1, maximum: 365 })),
});

const WirePackage = Type.Object(
  {
    packageCode: Type.String(),
    slug: Type.String(),
    name: Type.String(),
    price: Type.Integer(),
    currencyCode: Type.String(),
    volume: Type.Integer(),
    duration: Type.Integer(),
    durationUnit: Type.String(),
    location: Type.String(),
    locationCode: Type.String(),
  },
  { additionalProperties: true },
);

const WireEsim = Type.Object(
  {
    esimTranNo: Type.String(),
    orderNo: Type.String(),
    transactionId: Type.String(),
    iccid: Type.String(),
    ac: Type.String(),
    qrCodeUrl: Type.String(),
    shortUrl: Type.String(),
    smdpStatus: Type.String(),
    esimStatus: Type.String(),
    totalVolume: Type.Integer(),
    orderUsage: Type.Integer(),
    expiredTime: Nullable(Type.String()),
  },
  { additionalProperties: true },
);

const Empty = Type.Object({});

export interface EsimAccessDoc {
  summary: string;
  body: TSchema;
  obj: TSchema;
}

export const ESIMACCESS_DOCS: Record<string, EsimAccessDoc> = {
  '/balance/query': { summary: 'Balance', body: Empty, obj: Type.Object({ balance: Type.Integer(), lastUpdateTime: Nullable(Type.String()) }) },
  '/package/list': {
    summary: 'List packages (BASE, or TOPUP for a package or ICCID)',
    body: Type.Object({
      locationCode: Type.Optional(Type.String()),
      type: Type.Optional(Type.Union([Type.Literal('BASE'), Type.Literal('TOPUP')])),
      packageCode: Type.Optional(Type.String()),
      slug: Type.Optional(Type.String()),
      iccid: Type.Optional(Type.String()),
    }),
    obj: Type.Object({ packageList: Type.Array(WirePackage) }),
  },
  '/location/list': {
    summary: 'List locations',
    body: Empty,
    obj: Type.Object({ locationList: Type.Array(Type.Object({ code: Type.String(), name: Type.String(), type: Type.Integer(), subLocationList: Nullable(Type.Array(Type.Object({ code: Type.String(), name: Type.String() }))) })) }),
  },
  '/esim/order': {
    summary: 'Order profiles',
    body: Type.Object({ transactionId: Type.String({ maxLength: 50 }), amount: Type.Optional(Type.Integer()), packageInfoList: Type.Array(PackageInfo, { minItems: 1 }) }),
    obj: Type.Object({ orderNo: Type.String(), transactionId: Type.String() }),
  },
  '/esim/query': {
    summary: 'Query eSIMs by order, ICCID, esimTranNo or time',
    body: Type.Object({
      orderNo: Type.Optional(Type.String()),
      ...EsimRef,
      startTime: Type.Optional(Type.String()),
      endTime: Type.Optional(Type.String()),
      pager: Type.Optional(Type.Object({ pageNum: Type.Optional(Type.Integer()), pageSize: Type.Optional(Type.Integer()) })),
    }),
    obj: Type.Object({ esimList: Type.Array(WireEsim), pager: Type.Object({ pageSize: Type.Integer(), pageNum: Type.Integer(), total: Type.Integer() }) }),
  },
  '/esim/cancel': { summary: 'Cancel a never-installed profile (refunded)', body: Type.Object(EsimRef), obj: Empty },
  '/esim/suspend': { summary: 'Suspend a profile', body: Type.Object(EsimRef), obj: Empty },
  '/esim/unsuspend': { summary: 'Resume a suspended profile', body: Type.Object(EsimRef), obj: Empty },
  '/esim/revoke': { summary: 'Revoke a profile', body: Type.Object(EsimRef), obj: Empty },
  '/esim/topup': {
    summary: 'Top up a profile',
    body: Type.Object({ ...EsimRef, packageCode: Type.String(), transactionId: Type.String({ maxLength: 50 }), amount: Type.Optional(Type.Integer()) }),
    obj: Type.Object({ transactionId: Type.String(), iccid: Type.String(), expiredTime: Nullable(Type.String()), totalVolume: Type.Integer(), totalDuration: Type.Integer(), orderUsage: Type.Integer() }),
  },
  '/esim/usage/query': {
    summary: 'Data usage of up to 10 profiles',
    body: Type.Object({ esimTranNoList: Type.Array(Type.String(), { minItems: 1, maxItems: 10 }) }),
    obj: Type.Object({ esimUsageList: Type.Array(Type.Object({ esimTranNo: Type.String(), dataUsage: Type.Integer(), totalData: Type.Integer(), lastUpdateTime: Nullable(Type.String()) })) }),
  },
  '/esim/sendSms': { summary: 'Send an SMS to an installed profile', body: Type.Object({ ...EsimRef, message: Type.String({ maxLength: 500 }) }), obj: Empty },
  '/webhook/save': {
    summary: 'Set (or clear with null) the webhook URL',
    body: Type.Object({ webhook: Nullable(Type.String()) }),
    obj: Type.Object({ webhook: Nullable(Type.String()), signingSecret: Type.Optional(Type.String()) }),
  },
  '/webhook/query': { summary: 'Show the webhook URL and signing secret', body: Empty, obj: Type.Object({ webhook: Nullable(Type.String()), signingSecret: Nullable(Type.String()) }) },
};

/** The Fastify-style schema @fastify/swagger documents for one eSIM Access path (POST only). */
export function esimAccessRouteSchema(path: string): Record<string, unknown> {
  const doc = ESIMACCESS_DOCS[path];
  const tag = path.split('/')[1] ?? 'other';
  return {
    tags: ['eSIM Access'],
    operationId: `esimAccess_${path.replace(/^\//, '').replace(/\/(\w)/g, (_m, c: string) => c.toUpperCase())}`,
    summary: doc?.summary ?? `eSIM Access ${path}`,
    description: `eSIM Access dialect (${tag}). Authenticate with RT-AccessCode; RT-Signature, RT-Timestamp and RT-RequestID are optional unless the key requires them. Errors are HTTP 200 with success=false.`,
    security: [{ accessCode: [] }],
    body: doc?.body ?? Type.Object({}, { additionalProperties: true }),
    response: { 200: { description: 'The eSIM Access envelope', ...envelope(doc?.obj ?? Type.Object({}, { additionalProperties: true })) } },
  };
}
