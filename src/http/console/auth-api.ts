import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.ts';
import type { ResolvedSession } from '../../domain/console/accounts.ts';
import { useStrictValidation } from '../v1/validation.ts';
import { Problem } from '../v1/problem.ts';
import { clearSessionCookie, CSRF_HEADER, csrfOk, sessionOf, sessionToken, setSessionCookie } from './session.ts';

const Credentials = Type.Object(
  { email: Type.String({ minLength: 1, maxLength: 320 }), password: Type.String({ minLength: 1, maxLength: 200 }) },
  { additionalProperties: false },
);
const SignUp = Type.Object(
  {
    email: Type.String({ minLength: 1, maxLength: 320 }),
    password: Type.String({ minLength: 1, maxLength: 200 }),
    company: Type.String({ minLength: 1, maxLength: 200 }),
    currency: Type.Optional(Type.String({ pattern: '^[A-Za-z]{3}$' })),
  },
  { additionalProperties: false },
);
const PasswordChange = Type.Object({ current_password: Type.String({ minLength: 1, maxLength: 200 }), new_password: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false });

/** What the app needs to know of the logged-in user (never a hash or a token but the CSRF one). */
export function sessionView(session: Pick<ResolvedSession, 'user' | 'partner' | 'csrfToken'>) {
  const { user, partner } = session;
  return {
    user: { id: user.id, email: user.email, role: user.role },
    partner: partner ? { id: partner.id, name: partner.name, environment: partner.environment, currency: partner.currency, price_tier_id: partner.price_tier_id, status: partner.status } : null,
    csrf_token: session.csrfToken,
  };
}

/**
 * The session of a console API request, or a 401/403 problem. `role` restricts to partner users (who see
 * only their partner) or operators. State-changing methods must carry the CSRF token.
 */
export async function requireSession(ctx: AppContext, request: FastifyRequest, role?: 'partner' | 'operator'): Promise<ResolvedSession> {
  const session = await sessionOf(ctx, request);
  if (!session) throw new Problem('unauthenticated', sessionToken(request) ? 'the session has ended; log in again' : 'log in first');
  if (!csrfOk(request, session)) throw new Problem('forbidden', `send the session's CSRF token in ${CSRF_HEADER}`);
  if (role === 'operator' && session.user.role !== 'operator') throw new Problem('forbidden', 'this needs an operator account');
  if (role === 'partner' && !session.partner) throw new Problem('forbidden', 'this needs a partner account');
  return session;
}

/** Per-IP limit on logins and sign-ups (password guessing across accounts); failures also lock an account. */
async function limitByIp(ctx: AppContext, request: FastifyRequest): Promise<void> {
  const waitMs = await ctx.rateLimiter.acquire(`console-login:${request.ip}`, ctx.config.consoleLoginsPerSecond, ctx.now());
  if (waitMs > 0) throw new Problem('rate_limited', `too many attempts; retry after ${Math.ceil(waitMs / 1000)} s`, { headers: { 'retry-after': String(Math.max(1, Math.ceil(waitMs / 1000))) } });
}

function lockedOut(error: unknown): never {
  const e = error as { code?: string; details?: { retryAfterMs?: number } };
  if (e.code === 'rate_limited') {
    const seconds = Math.max(1, Math.ceil((e.details?.retryAfterMs ?? 1000) / 1000));
    throw new Problem('rate_limited', (error as Error).message, { headers: { 'retry-after': String(seconds) } });
  }
  throw error;
}

export async function authRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  useStrictValidation(app);
  const hidden = { hide: true };

  // 200 with nulls when logged out: the app asks on every load, and a 401 there is not an error.
  app.get('/session', { schema: hidden }, async (request) => {
    const session = await sessionOf(ctx, request);
    return session ? sessionView(session) : { user: null, partner: null, csrf_token: null };
  });

  app.post<{ Body: { email: string; password: string } }>('/login', { schema: { ...hidden, body: Credentials } }, async (request, reply) => {
    await limitByIp(ctx, request);
    const nowMs = ctx.now();
    const { user, session } = await ctx.consoleAccounts.login(request.body.email, request.body.password, nowMs).catch(lockedOut);
    const resolved = await ctx.consoleAccounts.resolveSession(session.token, nowMs);
    setSessionCookie(ctx, request, reply, session);
    return sessionView(resolved ?? { user, partner: null, csrfToken: session.csrfToken });
  });

  app.post<{ Body: { email: string; password: string; company: string; currency?: string } }>('/signup', { schema: { ...hidden, body: SignUp } }, async (request, reply: FastifyReply) => {
    if (!ctx.config.consoleSignup) throw new Problem('forbidden', 'self-service sign-up is switched off here; ask the operator for an account');
    await limitByIp(ctx, request);
    const currency = (request.body.currency ?? 'USD').toUpperCase();
    const offered = (await ctx.pricing.listRates()).map((r) => r.currency);
    if (!offered.includes(currency)) {
      throw new Problem('invalid_request', `accounts can hold ${offered.join(', ')} here (no exchange rate is set for ${currency})`, { errors: [{ loc: 'body.currency', msg: `must be one of ${offered.join(', ')}`, type: 'enum' }] });
    }
    const { user, partner, session } = await ctx.consoleAccounts.signUp({ ...request.body, currency }, ctx.now());
    setSessionCookie(ctx, request, reply, session);
    return reply.code(201).send(sessionView({ user, partner, csrfToken: session.csrfToken }));
  });

  // The currencies an account can hold: the list currency and those the operator has set a rate for.
  app.get('/currencies', { schema: hidden }, async () => ({ currencies: (await ctx.pricing.listRates()).map((r) => r.currency) }));

  app.post('/logout', { schema: hidden }, async (request, reply) => {
    const token = sessionToken(request);
    const session = await sessionOf(ctx, request);
    if (session && !csrfOk(request, session)) throw new Problem('forbidden', `send the session's CSRF token in ${CSRF_HEADER}`);
    if (token) await ctx.consoleAccounts.endSession(token);
    clearSessionCookie(ctx, request, reply);
    return reply.code(204).send();
  });

  app.post<{ Body: { current_password: string; new_password: string } }>('/password', { schema: { ...hidden, body: PasswordChange } }, async (request, reply) => {
    const session = await requireSession(ctx, request);
    await limitByIp(ctx, request);
    const nowMs = ctx.now();
    await ctx.consoleAccounts.checkCredentials(session.user.email, request.body.current_password, nowMs).catch(lockedOut);
    await ctx.consoleAccounts.setPassword(session.user.id, request.body.new_password);
    const fresh = await ctx.consoleAccounts.createSession(session.user.id, nowMs);
    setSessionCookie(ctx, request, reply, fresh);
    return sessionView({ user: session.user, partner: session.partner, csrfToken: fresh.csrfToken });
  });
}
