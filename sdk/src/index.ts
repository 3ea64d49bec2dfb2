export { EsimHub, type EsimHubOptions } from './client.ts';
export { EsimHubError, PageIterator, Transport, retryAfterMs, type RequestOptions, type TransportOptions } from './http.ts';
export { Webhook, WebhookVerificationError, signWebhookPayload, verifyWebhook, type VerifyOptions, type WebhookHeaders } from './webhooks.ts';
export { EsimAccessClient, EsimAccessError, type EsimAccessOptions, type EaEsim, type EaEsimRef, type EaPackage, type Envelope } from './esimaccess.ts';
export type * from './types.ts';
