import { parse, serialize } from 'cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.ts';
import type { IssuedSession, ResolvedSession } from '../../domain/console/accounts.ts';

/** The console's session cookie. `__Host-` would forbid plain-http localhost, where the sandbox runs. */
export const SESSION_COOKIE = 'esimhub_session';
export const CSRF_HEADER = 'x-csrf-token';

const resolved = new WeakMap<FastifyRequest, ResolvedSession | null>();

export function sessionToken(request: FastifyRequest): string | null {
  const header = request.headers.cookie;
  if (typeof header !== 'string' || !header.includes(SESSION_COOKIE)) return null;
  const value = parse(header)[SESSION_COOKIE];
  return typeof value === 'string' && value.length > 0 ? value : null;
}

/** The console session the request's cookie names (resolved once per request), or null. */
export async function sessionOf(ctx: AppContext, request: FastifyRequest): Promise<ResolvedSession | null> {
  if (resolved.has(request)) return resolved.get(request) ?? null;
  const token = sessionToken(request);
  const session = token ? await ctx.consoleAccounts.resolveSession(token, ctx.now()) : null;
  resolved.set(request, session);
  return session;
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * CSRF defence for cookie-authenticated requests: state-changing methods must echo the session's token in
 * X-CSRF-Token (a cross-site form cannot set headers, nor read the token), on top of SameSite=Strict.
 */
export function csrfOk(request: FastifyRequest, session: ResolvedSession): boolean {
  if (SAFE.has(request.method)) return true;
  const given = request.headers[CSRF_HEADER];
  return typeof given === 'string' && given.length === session.csrfToken.length && given === session.csrfToken;
}

function secure(ctx: AppContext, request: FastifyRequest): boolean {
  return request.protocol === 'https' || ctx.config.publicBaseUrl.startsWith('https:');
}

export function setSessionCookie(ctx: AppContext, request: FastifyRequest, reply: FastifyReply, session: IssuedSession): void {
  reply.header(
    'set-cookie',
    serialize(SESSION_COOKIE, session.token, { httpOnly: true, sameSite: 'strict', secure: secure(ctx, request), path: '/', expires: new Date(session.expiresAt) }),
  );
}

export function clearSessionCookie(ctx: AppContext, request: FastifyRequest, reply: FastifyReply): void {
  reply.header('set-cookie', serialize(SESSION_COOKIE, '', { httpOnly: true, sameSite: 'strict', secure: secure(ctx, request), path: '/', maxAge: 0 }));
}
