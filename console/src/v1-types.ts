/**
 * The /v1 wire objects the console reads, as the SDK declares them (test/sdk-types.test.ts keeps those in step
 * with the server's schemas). Type-only: nothing of the SDK ends up in the bundle.
 */
export type {
  ApiKey,
  ApiKeyCreated,
  Balance,
  Bundle,
  Esim,
  EsimStatus,
  Location,
  Order,
  OrderLine,
  OrderValidation,
  Package,
  Page,
  Transaction,
  TransactionKind,
  WebhookDelivery,
  WebhookDeliveryStatus,
  WebhookEndpoint,
  WebhookSecret,
  WebhookTest,
} from '../../sdk/src/types.ts';
