import type { FastifyRequest } from 'fastify';
import type { AppContext } from '../context.ts';
import type { Partner } from '../store/schema.ts';

/** Where the sandbox base of every dialect lives: `/sandbox` + the live path (`/sandbox/v1`, `/sandbox/v2.4`, …). */
export const SANDBOX_PATH_PREFIX = '/sandbox';

/** A request reaches the sandbox when it came through the sandbox base, or to a SANDBOX_HOSTS host name. */
export function isSandboxRequest(ctx: AppContext, request: FastifyRequest, viaSandboxBase: boolean): boolean {
  return viaSandboxBase || (ctx.config.sandboxHosts.length > 0 && ctx.config.sandboxHosts.includes(request.hostname.toLowerCase()));
}

/**
 * The account a request acts on: a live partner's key reaches its sandbox twin through the sandbox base (made
 * on first use, with test credit); a sandbox partner is its own sandbox. Twins are read fresh (clocks move).
 */
export async function accountFor(ctx: AppContext, partner: Partner, request: FastifyRequest, viaSandboxBase: boolean, realNowMs: number): Promise<Partner> {
  if (!isSandboxRequest(ctx, request, viaSandboxBase) || partner.environment === 'sandbox') return partner;
  return ctx.twins.sandboxOf(partner, realNowMs);
}
