import { setMaxListeners } from 'node:events';
import os from 'node:os';
import { sql, type Kysely, type Selectable } from 'kysely';
import type { Logger } from 'pino';
import type { DB, EventTable, PartnerTable, WebhookDeliveryTable } from '../store/schema.ts';
import type { StoreDialect } from '../store/connect.ts';
import type { SecretBox } from '../lib/secrets.ts';
import { newId, randomBase58 } from '../lib/ids.ts';
import { webhookHeaders } from '../lib/standard-webhooks.ts';
import { onDeliveryQueued } from '../domain/events/outbox.ts';
import { openWebhookSecrets, signingSecrets, WebhookEndpoints, type WebhookSecrets } from '../domain/notifications/webhooks.ts';
import { postWebhook, type SendResult } from './webhook-sender.ts';
import { isOrphanedClaim } from './queue.ts';

/**
 * The webhook dispatcher: delivers the outbox's webhook_deliveries to partner endpoints.
 *
 * - At least once. A delivery is claimed with a lease (`locked_until`); it is marked delivered only after
 *   a 2xx, in the same transaction that records the attempt. A process killed mid-request leaves a lease
 *   that runs out (on the embedded store the next start takes the claims back at once).
 * - The same `webhook-id` (the event id, also the eSIM Access notifyId) on every attempt.
 * - In order per subject (eSIM or order): a delivery waits while an earlier one (lower event_seq) of the
 *   same partner and subject is neither delivered nor dead.
 * - Isolation: a slow or dead endpoint never holds capacity other partners need. At most
 *   `perPartnerConcurrency` requests are in flight per partner, and only 1 while the partner's endpoint is
 *   failing (a circuit breaker: the last attempt failed; one request probes until one succeeds). `concurrency`
 *   bounds the requests that are *active*: a request still unanswered after `slowAfterMs` stops counting
 *   against it (it only waits on a socket), so hanging endpoints cannot fill the slots healthy partners are
 *   served from. `maxInFlight` bounds all requests, slow ones included (sockets and memory).
 * - Retries: exponential backoff with jitter (default 5 s, 30 s, 2 m, 10 m, 30 m, 1 h, 2 h, 4 h, 8 h, then
 *   every 8 h) for a window of 28 h from the event (the last attempt is made at the end of the window),
 *   then `dead`. A Retry-After answer is honoured (never retried sooner than it asks).
 * - The body is rendered at delivery time in the partner's dialect, by a renderer from `renderers`.
 */
export interface DeliverableEvent {
  id: string;
  type: string;
  partnerId: string;
  subject: string | null;
  payload: Record<string, unknown>;
  occurredAtMs: number;
}

/** Renders an event as the request body object for one dialect; null when the dialect has no such notification. */
export type WebhookRenderer = (event: DeliverableEvent) => unknown | null | Promise<unknown | null>;

/** A renderer may answer the exact body bytes plus dialect-specific headers (e.g. a signature over the body). */
export class RenderedWebhook {
  constructor(
    readonly body: string,
    readonly headers: Record<string, string> = {},
  ) {}
}

export const DEFAULT_RETRY_SCHEDULE_MS = [5_000, 30_000, 120_000, 600_000, 1_800_000, 3_600_000, 7_200_000, 14_400_000, 28_800_000];
export const DEFAULT_RETRY_WINDOW_MS = 28 * 3600_000;

export interface DispatcherOptions {
  db: Kysely<DB>;
  dialect: StoreDialect;
  log: Logger;
  box: SecretBox;
  /** Renderers by dialect name, e.g. { esimaccess: renderEsimAccessWebhook }. */
  renderers: Record<string, WebhookRenderer>;
  /** Which dialect a partner's webhooks speak; default: the first renderer. */
  dialectOf?: (partner: { id: string; environment: string }) => string | Promise<string>;
  timeoutMs?: number;
  retryScheduleMs?: number[];
  retryWindowMs?: number;
  concurrency?: number;
  perPartnerConcurrency?: number;
  /** A request unanswered this long no longer counts against `concurrency` (default: half the timeout, at most 1 s). */
  slowAfterMs?: number;
  /** Requests in flight in all, slow ones included (default: 8 × concurrency). */
  maxInFlight?: number;
  /** Live partners may reach internal addresses (sandbox partners always may). */
  allowPrivate?: boolean;
  /** Poll interval when nothing is due (deliveries made by other processes, leases that ran out). */
  idlePollMs?: number;
  now?: () => number;
}

/** The delay before the next attempt after `failedAttempts` failed attempts in this cycle (1 = the first failed). */
export function retryDelayMs(failedAttempts: number, schedule: number[] = DEFAULT_RETRY_SCHEDULE_MS, random: () => number = Math.random): number {
  const base = schedule[Math.min(Math.max(failedAttempts, 1), schedule.length) - 1] ?? 5_000;
  // ±20 % jitter: endpoints that fail together do not get their retries all at once.
  return Math.max(0, Math.round(base * (0.8 + random() * 0.4)));
}

/** After a failed attempt: when to try again, or null when the retry window is over (the delivery is dead). */
export function nextAttemptAfterFailure(input: {
  nowMs: number;
  cycleStartedAt: number;
  failedAttempts: number;
  retryAfterMs: number | null;
  schedule?: number[];
  windowMs?: number;
  random?: () => number;
}): number | null {
  const windowMs = input.windowMs ?? DEFAULT_RETRY_WINDOW_MS;
  const windowEnd = input.cycleStartedAt + windowMs;
  if (input.nowMs >= windowEnd) return null;
  let delay = retryDelayMs(input.failedAttempts, input.schedule, input.random);
  if (input.retryAfterMs !== null) delay = Math.max(delay, Math.min(input.retryAfterMs, windowMs));
  return Math.min(input.nowMs + delay, windowEnd);
}

export const CHECK_HEALTH_BODY = JSON.stringify({ notifyType: 'CHECK_HEALTH', content: { orderNo: '1234567890', orderStatus: 'Test' } });

type Claimed = WebhookDeliveryTable;
type EventRow = Selectable<EventTable>;
type PartnerEndpoint = Pick<Selectable<PartnerTable>, 'id' | 'environment' | 'webhook_url' | 'webhook_secret_enc'>;

export class Dispatcher {
  readonly id = `${os.hostname()}:${process.pid}:whd:${randomBase58(6)}`;
  private running = false;
  private stopping = false;
  private loop: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;
  private woken = false;
  private burstUntil = 0;
  private unsubscribe: (() => void) | null = null;
  private readonly inFlight = new Map<string, Promise<void>>();
  /** When each request in flight started (Date.now()): the old ones are slow and free their active slot. */
  private readonly inFlightSince = new Map<string, number>();
  /** Partners whose last attempt failed (circuit open): one request at a time until one succeeds. */
  private readonly failingPartners = new Set<string>();
  private abort = new AbortController();
  private readonly endpoints: WebhookEndpoints;
  private readonly timeoutMs: number;
  private readonly schedule: number[];
  private readonly windowMs: number;
  private readonly concurrency: number;
  private readonly perPartner: number;
  private readonly slowAfterMs: number;
  private readonly maxInFlight: number;
  private readonly leaseMs: number;
  private readonly now: () => number;

  constructor(private readonly options: DispatcherOptions) {
    this.endpoints = new WebhookEndpoints(options.db, options.box);
    this.timeoutMs = options.timeoutMs ?? 5_000;
    this.schedule = options.retryScheduleMs?.length ? options.retryScheduleMs : DEFAULT_RETRY_SCHEDULE_MS;
    this.windowMs = options.retryWindowMs ?? DEFAULT_RETRY_WINDOW_MS;
    this.concurrency = Math.max(1, options.concurrency ?? 32);
    this.perPartner = Math.max(1, options.perPartnerConcurrency ?? 4);
    this.slowAfterMs = Math.max(1, options.slowAfterMs ?? Math.min(1_000, Math.floor(this.timeoutMs / 2)));
    this.maxInFlight = Math.max(this.concurrency, options.maxInFlight ?? this.concurrency * 8);
    this.leaseMs = this.timeoutMs + 60_000;
    this.now = options.now ?? Date.now;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopping = false;
    this.abort = new AbortController();
    // Every request in flight listens on this signal; hundreds of slow ones are expected, not a leak.
    setMaxListeners(0, this.abort.signal);
    this.unsubscribe = onDeliveryQueued(() => this.wake());
    this.loop = this.releaseOrphanedClaims().then(() => this.run());
  }

  /** Looks for due deliveries now; for a second after, polls fast (a waking writer may not have committed yet). */
  wake(): void {
    this.burstUntil = Date.now() + 1_000;
    this.woken = true;
    this.wakeUp?.();
  }

  /** Stops claiming, aborts requests in flight (their deliveries are retried later: at least once) and waits. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.stopping = true;
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.wakeUp?.();
    await this.loop;
    this.abort.abort();
    await Promise.allSettled([...this.inFlight.values()]);
    // Anything still claimed by this dispatcher goes back at once (graceful shutdown releases its claims).
    await this.options.db
      .updateTable('webhook_deliveries')
      .set({ locked_by: null, locked_until: null })
      .where('locked_by', '=', this.id)
      .where('status', 'in', ['pending', 'failed'])
      .execute()
      .catch((error) => this.options.log.error({ err: error }, 'could not release webhook claims'));
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /** Requests in flight that are not slow yet: what `concurrency` bounds. */
  private activeCount(nowMs = Date.now()): number {
    let active = 0;
    for (const since of this.inFlightSince.values()) if (nowMs - since < this.slowAfterMs) active++;
    return active;
  }

  /** When the oldest active request turns slow (and frees its slot), or null when none is active. */
  private nextSlowAt(nowMs = Date.now()): number | null {
    let next: number | null = null;
    for (const since of this.inFlightSince.values()) {
      const at = since + this.slowAfterMs;
      if (at > nowMs && (next === null || at < next)) next = at;
    }
    return next;
  }

  private partnerLimit(partnerId: string): number {
    return this.failingPartners.has(partnerId) ? 1 : this.perPartner;
  }

  /** Sends CHECK_HEALTH (signed like every webhook) to an endpoint a partner wants to save. */
  async checkHealth(url: string, secrets: WebhookSecrets, environment: string): Promise<SendResult> {
    const nowMs = this.now();
    return postWebhook({
      url,
      body: CHECK_HEALTH_BODY,
      headers: webhookHeaders(signingSecrets(secrets, nowMs), newId('msg', nowMs), CHECK_HEALTH_BODY, nowMs),
      timeoutMs: this.timeoutMs,
      allowPrivate: this.allowPrivateFor(environment),
    });
  }

  private allowPrivateFor(environment: string): boolean {
    return environment === 'sandbox' || this.options.allowPrivate === true;
  }

  /**
   * On the embedded store one process owns the workers: claims left by a killed process are orphans. On
   * PostgreSQL only claims of dead processes on this host are; others' leases run out.
   */
  private async releaseOrphanedClaims(): Promise<void> {
    const { db, dialect } = this.options;
    try {
      let orphans = db
        .updateTable('webhook_deliveries')
        .set({ locked_by: null, locked_until: null })
        .where('status', 'in', ['pending', 'failed'])
        .where('locked_by', 'is not', null);
      if (dialect !== 'sqlite') {
        const host = os.hostname();
        const holders = await db.selectFrom('webhook_deliveries').select('locked_by').distinct().where('status', 'in', ['pending', 'failed']).where('locked_by', 'like', `${host}:%`).execute();
        const dead = holders.map((h) => h.locked_by!).filter((by) => isOrphanedClaim(by, [this.id], host));
        if (!dead.length) return;
        orphans = orphans.where('locked_by', 'in', dead);
      }
      await orphans.execute();
    } catch (error) {
      this.options.log.error({ err: error }, 'could not release orphaned webhook claims');
    }
  }

  private async run(): Promise<void> {
    const idlePollMs = this.options.idlePollMs ?? 250;
    while (this.running) {
      this.woken = false;
      let claimed = 0;
      let sleepMs = idlePollMs;
      try {
        claimed = await this.claimAndStart();
        if (claimed === 0 && this.activeCount() < this.concurrency && this.inFlight.size < this.maxInFlight) {
          const nowMs = this.now();
          const next = await this.nextDueAt(nowMs);
          if (next !== null) sleepMs = Math.min(sleepMs, Math.max(5, next - nowMs));
          if (Date.now() < this.burstUntil) sleepMs = Math.min(sleepMs, 25);
        }
        // A request turning slow frees an active slot: look again then.
        const slowAt = this.nextSlowAt();
        if (slowAt !== null) sleepMs = Math.min(sleepMs, Math.max(5, slowAt - Date.now() + 1));
      } catch (error) {
        this.options.log.error({ err: error }, 'webhook dispatcher round failed');
      }
      if (claimed > 0 || !this.running || this.woken) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, sleepMs);
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeUp = null;
    }
  }

  private async nextDueAt(nowMs: number): Promise<number | null> {
    const row = await this.options.db
      .selectFrom('webhook_deliveries')
      .select((eb) => eb.fn.min('next_attempt_at').as('next'))
      .where('status', 'in', ['pending', 'failed'])
      .where('next_attempt_at', '>', nowMs)
      .executeTakeFirst();
    return row?.next === null || row?.next === undefined ? null : Number(row.next);
  }

  /** Claims what may start now and starts it; returns how many started. */
  async claimAndStart(): Promise<number> {
    const active = this.activeCount();
    const free = Math.min(this.concurrency - active, this.maxInFlight - this.inFlight.size);
    if (free <= 0 || !this.running) return 0;
    // A claim scans the due deliveries: while requests are active, wait until a quarter of the slots are
    // free and claim them together, rather than one scan per finished request.
    if (active > 0 && free < Math.max(1, Math.floor(this.concurrency / 4))) return 0;
    const claimed = await this.claim(free, this.now());
    if (!claimed.length) return 0;
    // The events and partners of the whole batch in two queries, not two per delivery.
    const { db } = this.options;
    const [events, partners] = await Promise.all([
      db.selectFrom('events').selectAll().where('id', 'in', [...new Set(claimed.map((d) => d.event_id))]).execute(),
      db.selectFrom('partners').select(['id', 'environment', 'webhook_url', 'webhook_secret_enc']).where('id', 'in', [...new Set(claimed.map((d) => d.partner_id))]).execute(),
    ]).catch(() => [[], []] as const);
    const eventById = new Map(events.map((e) => [e.id, e]));
    const partnerById = new Map(partners.map((p) => [p.id, p]));
    const dialectById = new Map<string, Promise<string | undefined>>();
    for (const partner of partners) {
      const dialect = Promise.resolve().then(() => this.options.dialectOf?.(partner));
      dialect.catch(() => undefined); // a failure surfaces in each delivery that awaits it (a failed attempt)
      dialectById.set(partner.id, dialect);
    }
    for (const delivery of claimed) {
      const loaded = { event: eventById.get(delivery.event_id), partner: partnerById.get(delivery.partner_id), dialect: dialectById.get(delivery.partner_id) };
      this.inFlightSince.set(delivery.id, Date.now());
      const run = this.deliver(delivery, loaded).finally(() => {
        this.inFlight.delete(delivery.id);
        this.inFlightSince.delete(delivery.id);
        this.wake();
      });
      this.inFlight.set(delivery.id, run);
    }
    return claimed.length;
  }

  private async claim(limit: number, nowMs: number): Promise<Claimed[]> {
    const { db, dialect } = this.options;
    return db.transaction().execute(async (trx) => {
      // Requests in flight per partner, across every process (live leases).
      const busy = await trx
        .selectFrom('webhook_deliveries')
        .select(['partner_id', (eb) => eb.fn.countAll<number>().as('n')])
        .where('status', 'in', ['pending', 'failed'])
        .where('locked_until', '>=', nowMs)
        .groupBy('partner_id')
        .execute();
      const inFlight = new Map(busy.map((b) => [b.partner_id, Number(b.n)]));
      const saturated = [...inFlight].filter(([p, n]) => n >= this.partnerLimit(p)).map(([p]) => p);

      // One walk of the due index per status: `status in (…)` with this order would sort the whole backlog.
      const due = (status: 'pending' | 'failed') => {
        let candidates = trx
          .selectFrom('webhook_deliveries as d')
          .select(['d.id', 'd.partner_id', 'd.next_attempt_at', 'd.event_seq'])
          .where('d.status', '=', status)
          .where('d.next_attempt_at', '<=', nowMs)
          .where((eb) => eb.or([eb('d.locked_until', 'is', null), eb('d.locked_until', '<', nowMs)]))
          .where(({ not, exists, selectFrom }) =>
            not(
              exists(
                selectFrom('webhook_deliveries as e')
                  .select(sql.lit(1).as('one'))
                  .whereRef('e.partner_id', '=', 'd.partner_id')
                  .whereRef('e.subject', '=', 'd.subject')
                  .whereRef('e.event_seq', '<', 'd.event_seq')
                  .where('e.status', 'in', ['pending', 'failed']),
              ),
            ),
          )
          .orderBy('d.next_attempt_at')
          .orderBy('d.event_seq')
          .limit(Math.min(500, limit * 4));
        if (saturated.length) candidates = candidates.where('d.partner_id', 'not in', saturated);
        if (dialect === 'postgres') candidates = candidates.forUpdate().skipLocked();
        return candidates.execute();
      };
      const rows = [...(await due('pending')), ...(await due('failed'))].sort((a, b) => Number(a.next_attempt_at) - Number(b.next_attempt_at) || Number(a.event_seq) - Number(b.event_seq));

      const chosen: string[] = [];
      for (const row of rows) {
        if (chosen.length >= limit) break;
        const n = inFlight.get(row.partner_id) ?? 0;
        if (n >= this.partnerLimit(row.partner_id)) continue;
        inFlight.set(row.partner_id, n + 1);
        chosen.push(row.id);
      }
      if (!chosen.length) return [];
      return trx
        .updateTable('webhook_deliveries')
        .set({ locked_by: this.id, locked_until: nowMs + this.leaseMs, updated_at: nowMs })
        .where('id', 'in', chosen)
        .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<', nowMs)]))
        .returningAll()
        .execute();
    });
  }

  /** Sends one claimed delivery; `loaded` holds what the claim read for its whole batch already. */
  private async deliver(delivery: Claimed, loaded: { event?: EventRow; partner?: PartnerEndpoint; dialect?: Promise<string | undefined> } = {}): Promise<void> {
    const { db, log } = this.options;
    try {
      const event = loaded.event ?? (await db.selectFrom('events').selectAll().where('id', '=', delivery.event_id).executeTakeFirst());
      const partner = loaded.partner ?? (await db.selectFrom('partners').select(['id', 'environment', 'webhook_url', 'webhook_secret_enc']).where('id', '=', delivery.partner_id).executeTakeFirst());
      if (!event || !partner) return await this.giveUp(delivery, 'the event or the partner no longer exists');
      const url = partner.webhook_url;
      if (!url) return await this.giveUp(delivery, 'the partner removed its webhook endpoint');
      const dialectName = (loaded.partner && loaded.dialect ? await loaded.dialect : await this.options.dialectOf?.(partner)) ?? Object.keys(this.options.renderers)[0];
      const renderer = this.options.renderers[dialectName];
      const rendered = await renderer?.({ id: event.id, type: event.type, partnerId: event.partner_id, subject: event.subject, payload: JSON.parse(event.payload), occurredAtMs: Number(event.occurred_at) });
      if (rendered === null || rendered === undefined) return await this.giveUp(delivery, `the ${dialectName} dialect has no notification for ${event.type} events`);
      const body = rendered instanceof RenderedWebhook ? rendered.body : JSON.stringify(rendered);
      const secrets = openWebhookSecrets(this.options.box, partner.webhook_secret_enc) ?? (await this.endpoints.secret(partner.id));
      const startedAt = this.now();
      const result = await postWebhook({
        url,
        body,
        headers: { ...webhookHeaders(signingSecrets(secrets, startedAt), event.id, body, startedAt), ...(rendered instanceof RenderedWebhook ? rendered.headers : {}) },
        timeoutMs: this.timeoutMs,
        allowPrivate: this.allowPrivateFor(partner.environment),
        signal: this.abort.signal,
      });
      if (this.stopping && !result.ok && result.statusCode === null) return await this.release(delivery);
      if (result.ok) this.failingPartners.delete(partner.id);
      else this.failingPartners.add(partner.id);
      await this.record(delivery, url, startedAt, result);
    } catch (error) {
      log.error({ err: error, deliveryId: delivery.id }, 'webhook delivery failed unexpectedly');
      // Counted as a failed attempt, so it backs off like any other (and is dead after the window). If even
      // that cannot be written, the lease runs out and another round retries it.
      const failure: SendResult = { ok: false, statusCode: null, latencyMs: 0, error: `internal error: ${(error as Error).message ?? String(error)}`, responseExcerpt: null, retryAfterMs: null };
      await this.record(delivery, delivery.url, this.now(), failure).catch((recordError) => log.error({ err: recordError, deliveryId: delivery.id }, 'could not record a webhook attempt'));
    }
  }

  /** Stopping mid-request: hand the delivery back untouched; it is sent again (same id) later. */
  private async release(delivery: Claimed): Promise<void> {
    await this.options.db.updateTable('webhook_deliveries').set({ locked_by: null, locked_until: null }).where('id', '=', delivery.id).where('locked_by', '=', this.id).execute();
  }

  private pendingRecords: Array<{ delivery: Claimed; url: string; startedAt: number; result: SendResult; resolve: () => void; reject: (error: unknown) => void }> = [];
  private flushTimer: NodeJS.Timeout | null = null;

  /**
   * Records an attempt. Attempts finishing within a couple of milliseconds of each other are written in one
   * transaction, instead of one commit per delivery. The caller's slot is freed only once its attempt is
   * written, so the next delivery of the same eSIM cannot start before this one counts as delivered.
   */
  private record(delivery: Claimed, url: string, startedAt: number, result: SendResult): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pendingRecords.push({ delivery, url, startedAt, result, resolve, reject });
      if (this.pendingRecords.length >= 64) void this.flushRecords();
      else this.flushTimer ??= setTimeout(() => void this.flushRecords(), 2);
    });
  }

  private async flushRecords(): Promise<void> {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    const batch = this.pendingRecords.splice(0);
    if (!batch.length) return;
    const { db, log } = this.options;
    const nowMs = this.now();
    const dead: typeof batch = [];
    try {
      await db.transaction().execute(async (trx) => {
        for (const entry of batch) {
          const { delivery, url, startedAt, result } = entry;
          const failedAttempts = Number(delivery.cycle_attempts) + 1;
          const next = result.ok
            ? null
            : nextAttemptAfterFailure({ nowMs, cycleStartedAt: Number(delivery.cycle_started_at), failedAttempts, retryAfterMs: result.retryAfterMs, schedule: this.schedule, windowMs: this.windowMs });
          const status = result.ok ? 'delivered' : next === null ? 'dead' : 'failed';
          await trx
            .insertInto('webhook_attempts')
            .values({
              id: newId('wha', nowMs),
              delivery_id: delivery.id,
              attempt_no: Number(delivery.attempts) + 1,
              url,
              started_at: startedAt,
              latency_ms: result.latencyMs,
              status_code: result.statusCode,
              error: result.error?.slice(0, 2000) ?? null,
              response_excerpt: result.responseExcerpt,
            })
            .execute();
          // Only while this process still holds the claim: a resend in the meantime wins.
          await trx
            .updateTable('webhook_deliveries')
            .set({
              status,
              url,
              attempts: sql`attempts + 1`,
              cycle_attempts: sql`cycle_attempts + 1`,
              next_attempt_at: next ?? Number(delivery.next_attempt_at),
              last_status_code: result.statusCode,
              last_error: result.error?.slice(0, 2000) ?? null,
              delivered_at: result.ok ? nowMs : null,
              locked_by: null,
              locked_until: null,
              updated_at: nowMs,
            })
            .where('id', '=', delivery.id)
            .where('locked_by', '=', this.id)
            .execute();
          if (status === 'dead') {
            await this.alertOperator(trx, delivery, url, result.error, nowMs);
            dead.push(entry);
          }
        }
      });
    } catch (error) {
      for (const entry of batch) entry.reject(error);
      return;
    }
    for (const entry of batch) entry.resolve();
    for (const { delivery, url, result } of dead) log.warn({ deliveryId: delivery.id, partnerId: delivery.partner_id, url, error: result.error }, 'webhook delivery gave up after the retry window');
  }

  private async giveUp(delivery: Claimed, reason: string): Promise<void> {
    const nowMs = this.now();
    await this.options.db
      .updateTable('webhook_deliveries')
      .set({ status: 'dead', last_error: reason, locked_by: null, locked_until: null, updated_at: nowMs })
      .where('id', '=', delivery.id)
      .where('locked_by', '=', this.id)
      .execute();
    this.options.log.warn({ deliveryId: delivery.id, partnerId: delivery.partner_id, reason }, 'webhook delivery dropped');
  }

  /** An operator alert (partner 'operator', never delivered): a partner endpoint kept failing for the whole window. */
  private async alertOperator(trx: Kysely<DB>, delivery: Claimed, url: string, error: string | null, nowMs: number): Promise<void> {
    await trx
      .insertInto('events')
      .values({
        id: newId('evt', nowMs),
        partner_id: 'operator',
        type: 'webhook.dead',
        subject: delivery.partner_id,
        payload: JSON.stringify({ deliveryId: delivery.id, eventId: delivery.event_id, partnerId: delivery.partner_id, url, error }),
        occurred_at: nowMs,
        created_at: nowMs,
      })
      .execute();
  }
}
