import type { Command } from 'commander';
import type { WebhookDeliveryStatus } from '../store/schema.ts';
import { DELIVERY_STATUSES } from '../domain/notifications/webhooks.ts';
import { print, table, withContext } from './context.ts';

const iso = (ms: number | null | undefined) => (ms === null || ms === undefined ? '' : new Date(Number(ms)).toISOString());

export function registerWebhookCommands(program: Command): void {
  const webhooks = program.command('webhooks').description("inspect and re-send partners' webhook deliveries; manage signing secrets");

  webhooks
    .command('deliveries')
    .description("list a partner's webhook deliveries, newest first")
    .argument('<partnerId>')
    .option('--status <status>', `only this status: ${DELIVERY_STATUSES.join(', ')}`)
    .option('--limit <n>', 'at most this many', '50')
    .option('--json', 'print JSON')
    .action(async (partnerId: string, options) => {
      if (options.status !== undefined && !DELIVERY_STATUSES.includes(options.status)) throw new Error(`--status must be one of ${DELIVERY_STATUSES.join(', ')}`);
      if (!/^\d+$/.test(options.limit) || Number(options.limit) < 1) throw new Error('--limit must be a whole number >= 1');
      await withContext(async (ctx) => {
        await ctx.partners.get(partnerId);
        const rows = await ctx.webhooks.listDeliveries(partnerId, { status: options.status as WebhookDeliveryStatus | undefined, limit: Number(options.limit) });
        if (options.json) return print(JSON.stringify(rows));
        table(
          rows.map((d) => ({
            id: d.id,
            event: d.event_type,
            notifyId: d.event_id,
            status: d.status,
            attempts: d.attempts,
            lastCode: d.last_status_code ?? '',
            next: d.status === 'pending' || d.status === 'failed' ? iso(d.next_attempt_at) : '',
            delivered: iso(d.delivered_at),
            created: iso(d.created_at),
          })),
        );
      });
    });

  webhooks
    .command('attempts')
    .description('list every attempt of one delivery (status, latency, response excerpt)')
    .argument('<deliveryId>')
    .option('--json', 'print JSON')
    .action(async (deliveryId: string, options) => {
      await withContext(async (ctx) => {
        const attempts = await ctx.webhooks.listAttempts(deliveryId);
        if (options.json) return print(JSON.stringify(attempts));
        table(
          attempts.map((a) => ({
            attempt: a.attempt_no,
            started: iso(a.started_at),
            latencyMs: a.latency_ms,
            status: a.status_code ?? '',
            error: (a.error ?? '').slice(0, 60),
            response: (a.response_excerpt ?? '').replace(/\s+/g, ' ').slice(0, 60),
            url: a.url,
          })),
        );
      });
    });

  webhooks
    .command('resend')
    .description('queue a delivery again now (any status), with the same webhook-id / notifyId')
    .argument('<deliveryId>')
    .option('--json', 'print JSON')
    .action(async (deliveryId: string, options) => {
      await withContext(async (ctx) => {
        const delivery = await ctx.webhooks.resend(deliveryId, ctx.now());
        if (options.json) return print(JSON.stringify(delivery));
        print(`delivery ${delivery.id} (notifyId ${delivery.event_id}) queued again; a running server sends it within a second`);
      });
    });

  webhooks
    .command('secret')
    .description("show a partner's webhook signing secret (created if it has none)")
    .argument('<partnerId>')
    .option('--json', 'print JSON')
    .action(async (partnerId: string, options) => {
      await withContext(async (ctx) => {
        const secrets = await ctx.webhooks.secret(partnerId);
        const previousActive = secrets.previous && (secrets.previousUntil ?? 0) > ctx.now();
        if (options.json) {
          return print(JSON.stringify({ secret: secrets.current, previous: previousActive ? secrets.previous : null, previousValidUntil: previousActive ? iso(secrets.previousUntil) : null }));
        }
        print(secrets.current);
        if (previousActive) print(`(the previous secret ${secrets.previous} also signs until ${iso(secrets.previousUntil)})`);
      });
    });

  webhooks
    .command('rotate-secret')
    .description('issue a new signing secret; the old one keeps signing alongside it for 24 hours')
    .argument('<partnerId>')
    .option('--json', 'print JSON')
    .action(async (partnerId: string, options) => {
      await withContext(async (ctx) => {
        const { secret, previousValidUntil } = await ctx.webhooks.rotateSecret(partnerId, ctx.now());
        if (options.json) return print(JSON.stringify({ secret, previousValidUntil: iso(previousValidUntil) || null }));
        print(secret);
        if (previousValidUntil) print(`(the previous secret also signs until ${iso(previousValidUntil)}: requests carry both signatures)`);
      });
    });
}
