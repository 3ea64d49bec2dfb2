import type { AppContext } from '../../../../context.ts';
import { checkWebhookTarget, parseWebhookUrl } from '../../../../lib/webhook-url.ts';
import { EsimAccessError, MESSAGES } from '../envelope.ts';
import type { Body } from '../params.ts';
import type { RouteTable } from '../plugin.ts';

/** The endpoint did not pass CHECK_HEALTH (not in the seed's table; see docs/webhooks.md). */
export const WEBHOOK_CHECK_FAILED = '000108';

/** The webhook URL given in `webhook` (docs) or `webhookUrl` (seen in clients); null clears, undefined = absent. */
function webhookParam(body: Body): string | null | undefined {
  const keys = ['webhook', 'webhookUrl'].filter((k) => k in body);
  if (!keys.length) return undefined;
  for (const key of keys) {
    const value = body[key];
    if (value === null || value === undefined) continue;
    if (typeof value !== 'string') throw new EsimAccessError('000107', `Request parameter [${key}] must be a string URL`);
    if (value.trim() !== '') return value.trim();
  }
  return null;
}

/** webhook/save and webhook/query. */
export function webhookRoutes(ctx: AppContext): RouteTable {
  return {
    '/webhook/save': async ({ auth, body }) => {
      const partner = auth.partner;
      const given = webhookParam(body);
      if (given === undefined) throw new EsimAccessError('000105', MESSAGES.missingParam('webhook'));
      if (given === null) {
        await ctx.webhooks.save(partner.id, null, null, ctx.now());
        ctx.keys.invalidate();
        return { webhook: null };
      }
      const parsed = parseWebhookUrl(given);
      if ('error' in parsed) throw new EsimAccessError('000107', `Request parameter [webhook] is invalid: ${parsed.error}`);
      if (partner.environment === 'live' && !ctx.config.allowPrivateWebhooks) {
        const refused = await checkWebhookTarget(parsed.url);
        if (refused) {
          throw new EsimAccessError('000107', `Request parameter [webhook] is refused: ${refused}; live webhooks must reach a public address`);
        }
      }
      const secrets = await ctx.webhooks.secretsForSave(partner.id);
      const check = await ctx.dispatcher.checkHealth(given, secrets, partner.environment);
      if (!check.ok) {
        const answer = check.statusCode !== null ? `answered HTTP ${check.statusCode}` : `failed (${check.error})`;
        throw new EsimAccessError(WEBHOOK_CHECK_FAILED, `The webhook was not saved: the CHECK_HEALTH test send to ${given} ${answer}; the endpoint must answer a POST with a 2xx status`);
      }
      await ctx.webhooks.save(partner.id, given, secrets, ctx.now());
      ctx.keys.invalidate();
      return { webhook: given, signingSecret: secrets.current };
    },

    '/webhook/query': async ({ auth }) => {
      const { url, secrets } = await ctx.webhooks.get(auth.partner.id);
      return { webhook: url, signingSecret: secrets?.current ?? null };
    },
  };
}
