import { createHmac, randomUUID } from 'node:crypto';

/** A thin typed client for the eSIM Access dialect (/api/v1/open): the same calls existing integrations make. */
export interface EsimAccessOptions {
  baseUrl?: string;
  accessCode: string;
  /** When given, requests are signed (RT-Signature, RT-Timestamp, RT-RequestID). */
  secretKey?: string;
  fetch?: typeof fetch;
  /** Retries of rate-limited (900001) answers and network errors; default 3. */
  maxRetries?: number;
}

export interface Envelope<T> {
  success: boolean;
  errorCode: string;
  errorMsg: string | null;
  obj?: T | null;
}

export class EsimAccessError extends Error {
  constructor(readonly errorCode: string, message: string) {
    super(`${errorCode}: ${message}`);
    this.name = 'EsimAccessError';
  }
}

export interface EaPackage {
  packageCode: string;
  slug: string;
  name: string;
  price: number;
  currencyCode: string;
  volume: number;
  duration: number;
  durationUnit: string;
  location: string;
  locationCode: string;
  [field: string]: unknown;
}

export interface EaEsim {
  esimTranNo: string;
  orderNo: string;
  transactionId: string;
  iccid: string;
  ac: string;
  qrCodeUrl: string;
  shortUrl: string;
  smdpStatus: string;
  esimStatus: string;
  totalVolume: number;
  orderUsage: number;
  expiredTime: string | null;
  [field: string]: unknown;
}

export interface EaEsimRef {
  iccid?: string;
  esimTranNo?: string;
}

export class EsimAccessClient {
  private readonly baseUrl: string;
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly options: EsimAccessOptions) {
    this.baseUrl = `${(options.baseUrl ?? 'http://localhost:8080').replace(/\/+$/, '')}/api/v1/open`;
    this.fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  /** Any call: returns `obj`, throws EsimAccessError when success is false. */
  async call<T>(path: string, body: object = {}): Promise<T> {
    const raw = JSON.stringify(body);
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = { 'content-type': 'application/json', 'RT-AccessCode': this.options.accessCode };
      if (this.options.secretKey) {
        const timestamp = String(Date.now());
        const requestId = randomUUID().replace(/-/g, '');
        headers['RT-Timestamp'] = timestamp;
        headers['RT-RequestID'] = requestId;
        headers['RT-Signature'] = createHmac('sha256', this.options.secretKey).update(timestamp + requestId + this.options.accessCode + raw).digest('hex');
      }
      let envelope: Envelope<T>;
      let retryAfterMs = 0;
      try {
        const response = await this.fetchImpl(this.baseUrl + path, { method: 'POST', headers, body: raw });
        retryAfterMs = Number(response.headers.get('retry-after') ?? 0) * 1000;
        envelope = (await response.json()) as Envelope<T>;
      } catch (error) {
        if (attempt >= (this.options.maxRetries ?? 3)) throw error;
        await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
        continue;
      }
      if (envelope.success) return (envelope.obj ?? {}) as T;
      if (envelope.errorCode === '900001' && attempt < (this.options.maxRetries ?? 3)) {
        await new Promise((r) => setTimeout(r, Math.max(retryAfterMs, 200 * 2 ** attempt)));
        continue;
      }
      throw new EsimAccessError(envelope.errorCode, envelope.errorMsg ?? 'request failed');
    }
  }

  balance() {
    return this.call<{ balance: number; lastUpdateTime: string | null }>('/balance/query');
  }
  listPackages(filter: { locationCode?: string; type?: 'BASE' | 'TOPUP'; packageCode?: string; slug?: string; iccid?: string } = {}) {
    return this.call<{ packageList: EaPackage[] }>('/package/list', filter);
  }
  listLocations() {
    return this.call<{ locationList: Array<{ code: string; name: string; type: number; subLocationList: Array<{ code: string; name: string }> | null }> }>('/location/list');
  }
  order(input: { transactionId: string; amount?: number; packageInfoList: Array<{ packageCode?: string; slug?: string; count: number; price?: number; periodNum?: number }> }) {
    return this.call<{ orderNo: string; transactionId: string }>('/esim/order', input);
  }
  query(input: EaEsimRef & { orderNo?: string; startTime?: string; endTime?: string; pager?: { pageNum?: number; pageSize?: number } }) {
    return this.call<{ esimList: EaEsim[]; pager: { pageSize: number; pageNum: number; total: number } }>('/esim/query', input);
  }
  cancel(ref: EaEsimRef) {
    return this.call<Record<string, never>>('/esim/cancel', ref);
  }
  suspend(ref: EaEsimRef) {
    return this.call<Record<string, never>>('/esim/suspend', ref);
  }
  unsuspend(ref: EaEsimRef) {
    return this.call<Record<string, never>>('/esim/unsuspend', ref);
  }
  revoke(ref: EaEsimRef) {
    return this.call<Record<string, never>>('/esim/revoke', ref);
  }
  topUp(input: EaEsimRef & { packageCode: string; transactionId: string; amount?: number }) {
    return this.call<{ transactionId: string; iccid: string; expiredTime: string | null; totalVolume: number; totalDuration: number; orderUsage: number }>('/esim/topup', input);
  }
  usage(esimTranNoList: string[]) {
    return this.call<{ esimUsageList: Array<{ esimTranNo: string; dataUsage: number; totalData: number; lastUpdateTime: string | null }> }>('/esim/usage/query', { esimTranNoList });
  }
  sendSms(input: EaEsimRef & { message: string }) {
    return this.call<Record<string, never>>('/esim/sendSms', input);
  }
  saveWebhook(webhook: string | null) {
    return this.call<{ webhook: string | null; signingSecret?: string }>('/webhook/save', { webhook });
  }
  queryWebhook() {
    return this.call<{ webhook: string | null; signingSecret: string | null }>('/webhook/query');
  }
}
