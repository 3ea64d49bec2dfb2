import { EsimHubError, Transport, type RequestOptions, type TransportOptions } from './http.ts';
import type {
  ApiKey, ApiKeyCreated, Balance, CreateOrderParams, Esim, EsimListParams, InventoryApplication, InventoryApplyParams, InventoryItem, InventoryPurchase,
  InventoryPurchaseParams, Location, Operator, Order, OrderListParams, OrderValidation, Package,
  PackageListParams, Page, PageParams, Sms, Topup, TopupParams, Transaction, TransactionListParams, Usage, WebhookDelivery, WebhookDeliveryStatus,
  WebhookEndpoint, WebhookSecret, WebhookTest,
} from './types.ts';

const seg = (id: string) => encodeURIComponent(id);

export interface EsimHubOptions extends Omit<TransportOptions, 'baseUrl'> {
  /** Where esimhub runs, e.g. https://esimhub.example.com (default http://localhost:8080). */
  baseUrl?: string;
}

/** esimhub's REST API (/v1). Every mutating call carries an Idempotency-Key that its retries reuse. */
export class EsimHub {
  readonly transport: Transport;

  constructor(options: EsimHubOptions) {
    this.transport = new Transport({ ...options, baseUrl: `${(options.baseUrl ?? 'http://localhost:8080').replace(/\/+$/, '')}/v1` });
  }

  private get t() {
    return this.transport;
  }

  readonly locations = {
    list: (params: PageParams & { type?: 'country' | 'region' } = {}) => this.t.list<Location>('/locations', params),
  };

  readonly operators = {
    list: (params: PageParams & { country?: string } = {}) => this.t.list<Operator>('/operators', params),
  };

  readonly packages = {
    list: (params: PackageListParams = {}) => this.t.list<Package>('/packages', params),
    get: (id: string) => this.t.request<Package>('GET', `/packages/${seg(id)}`),
  };

  readonly orders = {
    create: (params: CreateOrderParams, options?: RequestOptions) => this.t.request<Order>('POST', '/orders', { body: params }, options),
    validate: (params: CreateOrderParams, options?: RequestOptions) => this.t.request<OrderValidation>('POST', '/orders/validate', { body: params }, options),
    list: (params: OrderListParams = {}) => this.t.list<Order>('/orders', params),
    get: (id: string) => this.t.request<Order>('GET', `/orders/${seg(id)}`),
    /** The order's QR codes as a ZIP: `<ICCID>.png` per installable eSIM and `esims.csv`. 409 order_in_progress (retried) while allocating. */
    downloadQrCodes: (id: string) => this.t.request<Uint8Array>('GET', `/orders/${seg(id)}/qr-codes.zip`, { accept: 'application/zip', binary: true }),
    /** Polls until the order is ready (resolves) or failed (rejects); profiles are allocated in the background. */
    waitUntilReady: async (id: string, options: { timeoutMs?: number; intervalMs?: number } = {}): Promise<Order> => {
      const deadline = Date.now() + (options.timeoutMs ?? 60_000);
      for (;;) {
        const order = await this.orders.get(id);
        if (order.status === 'ready') return order;
        if (order.status === 'failed') throw new Error(`order ${order.id} failed: ${order.failure_reason ?? 'unknown reason'}`);
        if (Date.now() > deadline) throw new Error(`order ${order.id} was not ready within ${options.timeoutMs ?? 60_000} ms`);
        await new Promise((r) => setTimeout(r, options.intervalMs ?? 250));
      }
    },
  };

  readonly esims = {
    list: (params: EsimListParams = {}) => this.t.list<Esim>('/esims', params),
    get: (id: string) => this.t.request<Esim>('GET', `/esims/${seg(id)}`),
    cancel: (id: string, options?: RequestOptions) => this.t.request<Esim>('POST', `/esims/${seg(id)}/cancel`, {}, options),
    suspend: (id: string, options?: RequestOptions) => this.t.request<Esim>('POST', `/esims/${seg(id)}/suspend`, {}, options),
    resume: (id: string, options?: RequestOptions) => this.t.request<Esim>('POST', `/esims/${seg(id)}/resume`, {}, options),
    revoke: (id: string, options?: RequestOptions) => this.t.request<Esim>('POST', `/esims/${seg(id)}/revoke`, {}, options),
    topUp: (id: string, params: TopupParams, options?: RequestOptions) => this.t.request<Topup>('POST', `/esims/${seg(id)}/topups`, { body: params }, options),
    usage: (id: string, params: PageParams = {}) => this.t.request<Usage>('GET', `/esims/${seg(id)}/usage`, { query: params }),
    listSms: (id: string, params: PageParams = {}) => this.t.list<Sms>(`/esims/${seg(id)}/sms`, params),
    sendSms: (id: string, message: string, options?: RequestOptions) => this.t.request<Sms>('POST', `/esims/${seg(id)}/sms`, { body: { message } }, options),
  };

  readonly balance = {
    get: () => this.t.request<Balance>('GET', '/balance'),
  };

  readonly transactions = {
    list: (params: TransactionListParams = {}) => this.t.list<Transaction>('/transactions', params),
    /** The CSV text (id, created_at, kind, amount, currency, reference, memo). */
    exportCsv: (params: Omit<TransactionListParams, 'limit' | 'cursor'> = {}) => this.t.request<string>('GET', '/transactions/export', { query: params, accept: 'text/csv' }),
  };

  readonly webhookEndpoints = {
    list: () => this.t.request<Page<WebhookEndpoint>>('GET', '/webhook-endpoints'),
    create: (params: { url: string }, options?: RequestOptions) => this.t.request<WebhookEndpoint>('POST', '/webhook-endpoints', { body: params }, options),
    get: (id: string) => this.t.request<WebhookEndpoint>('GET', `/webhook-endpoints/${seg(id)}`),
    update: (id: string, params: { url: string }, options?: RequestOptions) => this.t.request<WebhookEndpoint>('PATCH', `/webhook-endpoints/${seg(id)}`, { body: params }, options),
    delete: (id: string, options?: RequestOptions) => this.t.request<void>('DELETE', `/webhook-endpoints/${seg(id)}`, {}, options),
    secret: (id: string) => this.t.request<WebhookSecret>('GET', `/webhook-endpoints/${seg(id)}/secret`),
    rotateSecret: (id: string, options?: RequestOptions) => this.t.request<WebhookSecret>('POST', `/webhook-endpoints/${seg(id)}/rotate-secret`, {}, options),
    test: (id: string, options?: RequestOptions) => this.t.request<WebhookTest>('POST', `/webhook-endpoints/${seg(id)}/test`, {}, options),
  };

  readonly webhookDeliveries = {
    list: (params: PageParams & { status?: WebhookDeliveryStatus } = {}) => this.t.list<WebhookDelivery>('/webhook-deliveries', params),
    get: (id: string) => this.t.request<WebhookDelivery>('GET', `/webhook-deliveries/${seg(id)}`),
    resend: (id: string, options?: RequestOptions) => this.t.request<WebhookDelivery>('POST', `/webhook-deliveries/${seg(id)}/resend`, {}, options),
  };

  readonly apiKeys = {
    list: (params: PageParams = {}) => this.t.list<ApiKey>('/api-keys', params),
    create: (params: { label?: string } = {}, options?: RequestOptions) => this.t.request<ApiKeyCreated>('POST', '/api-keys', { body: params }, options),
    roll: (id: string, options?: RequestOptions) => this.t.request<ApiKeyCreated>('POST', `/api-keys/${seg(id)}/roll`, {}, options),
    revoke: (id: string, options?: RequestOptions) => this.t.request<ApiKey>('DELETE', `/api-keys/${seg(id)}`, {}, options),
  };

  /** Bundles bought now and applied later: onto an eSIM (a top-up) or onto new eSIMs. */
  readonly inventory = {
    list: (params: PageParams = {}) => this.t.list<InventoryItem>('/inventory', params),
    /** Charges the balance now. */
    purchase: (params: InventoryPurchaseParams, options?: RequestOptions) => this.t.request<InventoryPurchase>('POST', '/inventory/purchases', { body: params }, options),
    /** Free: the bundles were paid for when bought. New eSIMs come in an order (order_id) to wait for. */
    apply: (params: InventoryApplyParams, options?: RequestOptions) => this.t.request<InventoryApplication>('POST', '/inventory/apply', { body: params }, options),
    /** `quantity` unapplied bundles of one item back to the balance; answers the item. */
    refund: (id: string, params: { quantity: number }, options?: RequestOptions) => this.t.request<InventoryItem>('POST', `/inventory/${seg(id)}/refund`, { body: params }, options),
  };
}

export { EsimHubError };
