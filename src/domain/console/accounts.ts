import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DB, Partner } from '../../store/schema.ts';
import type { ConsoleSessionTable, ConsoleUserTable } from '../../store/tables/console.ts';
import { newId } from '../../lib/ids.ts';
import { sha256Hex } from '../../lib/secrets.ts';
import { DomainError } from '../errors.ts';
import type { Partners } from '../partners/partners.ts';
import { DECOY_HASH, hashPassword, passwordProblem, verifyPassword } from './passwords.ts';

export type ConsoleUser = ConsoleUserTable;

/** A session ends after this long without a request… */
export const SESSION_IDLE_MS = 12 * 3600_000;
/** …and after this long in any case. */
export const SESSION_MAX_MS = 7 * 24 * 3600_000;
/** last_seen_at is written at most this often (not on every request). */
const TOUCH_EVERY_MS = 60_000;
/** Failed logins allowed before a lockout; each further failure doubles it, up to an hour. */
const FREE_FAILURES = 5;
const LOCKOUT_BASE_MS = 30_000;
const LOCKOUT_MAX_MS = 3600_000;

const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,185}\.[^\s@]{1,63}$/;

export interface IssuedSession {
  /** The cookie value; only its hash is stored. */
  token: string;
  csrfToken: string;
  expiresAt: number;
}

export interface ResolvedSession {
  user: ConsoleUser;
  partner: Partner | null;
  csrfToken: string;
  expiresAt: number;
}

export function normalizeEmail(email: unknown): string {
  if (typeof email !== 'string') throw new DomainError('invalid_argument', 'email is required', { field: 'email' });
  const normalized = email.trim().toLowerCase();
  if (!EMAIL.test(normalized)) throw new DomainError('invalid_argument', 'email is not a valid address', { field: 'email' });
  return normalized;
}

function checkPassword(password: unknown): string {
  const problem = passwordProblem(password);
  if (problem) throw new DomainError('invalid_argument', problem, { field: 'password' });
  return password as string;
}

/** Console users (partner staff and operators), their passwords and sessions. */
export class ConsoleAccounts {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly partners: Partners,
  ) {}

  /** Sandbox self-service: a new sandbox partner, its first user and a session, in one transaction. */
  async signUp(input: { email: unknown; password: unknown; company: unknown; currency?: unknown }, nowMs: number): Promise<{ user: ConsoleUser; partner: Partner; session: IssuedSession }> {
    const email = normalizeEmail(input.email);
    const password = checkPassword(input.password);
    const company = typeof input.company === 'string' ? input.company.trim() : '';
    if (!company || company.length > 200) throw new DomainError('invalid_argument', 'company must be 1..200 characters', { field: 'company' });
    const currency = input.currency === undefined || input.currency === '' ? 'USD' : String(input.currency);
    const passwordHash = await hashPassword(password);
    let user: ConsoleUser | undefined;
    const { partner } = await this.partners.create({ name: company, environment: 'sandbox', currency }, nowMs, async (trx, created) => {
      user = await this.insertUser(trx, { email, passwordHash, role: 'partner', partnerId: created.id }, nowMs);
    });
    const session = await this.createSession(user!.id, nowMs);
    return { user: user!, partner, session };
  }

  async createUser(input: { email: unknown; password: unknown; role: 'partner' | 'operator'; partnerId?: string | null }, nowMs: number): Promise<ConsoleUser> {
    const email = normalizeEmail(input.email);
    const passwordHash = await hashPassword(checkPassword(input.password));
    if (input.role === 'partner') {
      if (!input.partnerId) throw new DomainError('invalid_argument', 'a partner user needs a partner');
      await this.partners.get(input.partnerId);
    }
    return this.insertUser(this.db, { email, passwordHash, role: input.role, partnerId: input.role === 'partner' ? input.partnerId! : null }, nowMs);
  }

  private async insertUser(db: Kysely<DB>, input: { email: string; passwordHash: string; role: 'partner' | 'operator'; partnerId: string | null }, nowMs: number): Promise<ConsoleUser> {
    const user: ConsoleUser = {
      id: newId('usr', nowMs),
      email: input.email,
      password_hash: input.passwordHash,
      role: input.role,
      partner_id: input.partnerId,
      status: 'active',
      failed_logins: 0,
      locked_until: 0,
      created_at: nowMs,
      last_login_at: null,
    };
    const inserted = await db.insertInto('console_users').values(user).onConflict((oc) => oc.column('email').doNothing()).executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) !== 1) throw new DomainError('conflict', 'an account with this email already exists', { field: 'email' });
    return user;
  }

  async findUserByEmail(email: string): Promise<ConsoleUser | undefined> {
    return this.db.selectFrom('console_users').selectAll().where('email', '=', email.trim().toLowerCase()).executeTakeFirst();
  }

  async usersOfPartner(partnerId: string): Promise<Array<Omit<ConsoleUser, 'password_hash'>>> {
    return this.db.selectFrom('console_users').select(['id', 'email', 'role', 'partner_id', 'status', 'failed_logins', 'locked_until', 'created_at', 'last_login_at']).where('partner_id', '=', partnerId).orderBy('created_at').execute();
  }

  async setPassword(userId: string, password: unknown): Promise<void> {
    const passwordHash = await hashPassword(checkPassword(password));
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable('console_users').set({ password_hash: passwordHash, failed_logins: 0, locked_until: 0 }).where('id', '=', userId).execute();
      // A new password ends every session of the old one.
      await trx.deleteFrom('console_sessions').where('user_id', '=', userId).execute();
    });
  }

  /**
   * Checks a login. Wrong email and wrong password answer alike (and take alike long); repeated failures
   * lock the account for a growing time, refused with `rate_limited` before the password is looked at.
   */
  async login(emailInput: unknown, password: unknown, nowMs: number): Promise<{ user: ConsoleUser; session: IssuedSession }> {
    const user = await this.checkCredentials(emailInput, password, nowMs);
    return { user, session: await this.createSession(user.id, nowMs) };
  }

  /** The login check without a new session (e.g. the current password before a change), with the same lockout. */
  async checkCredentials(emailInput: unknown, password: unknown, nowMs: number): Promise<ConsoleUser> {
    const wrong = () => new DomainError('unauthenticated', 'wrong email or password');
    if (typeof emailInput !== 'string' || typeof password !== 'string' || password.length > 200) throw wrong();
    const user = await this.findUserByEmail(emailInput);
    if (user && user.locked_until > nowMs) {
      throw new DomainError('rate_limited', `too many failed logins; try again in ${Math.ceil((user.locked_until - nowMs) / 1000)} s`, { retryAfterMs: user.locked_until - nowMs });
    }
    const ok = await verifyPassword(password, user?.password_hash ?? DECOY_HASH);
    if (!user || !ok) {
      if (user) {
        const failures = user.failed_logins + 1;
        const lockMs = failures >= FREE_FAILURES ? Math.min(LOCKOUT_MAX_MS, LOCKOUT_BASE_MS * 2 ** (failures - FREE_FAILURES)) : 0;
        await this.db.updateTable('console_users').set({ failed_logins: failures, locked_until: lockMs ? nowMs + lockMs : 0 }).where('id', '=', user.id).execute();
      }
      throw wrong();
    }
    if (user.status !== 'active') throw new DomainError('partner_suspended', 'this console account is disabled');
    await this.db.updateTable('console_users').set({ failed_logins: 0, locked_until: 0, last_login_at: nowMs }).where('id', '=', user.id).execute();
    return user;
  }

  async createSession(userId: string, nowMs: number): Promise<IssuedSession> {
    const token = randomBytes(32).toString('base64url');
    const csrfToken = randomBytes(24).toString('base64url');
    const row: ConsoleSessionTable = { id_hash: sha256Hex(token), user_id: userId, csrf_token: csrfToken, created_at: nowMs, expires_at: nowMs + SESSION_MAX_MS, last_seen_at: nowMs };
    await this.db.insertInto('console_sessions').values(row).execute();
    // Expired sessions of anyone are swept now and then, on logins (cheap: an indexed range delete).
    await this.db.deleteFrom('console_sessions').where('expires_at', '<=', nowMs).execute();
    return { token, csrfToken, expiresAt: Math.min(row.expires_at, nowMs + SESSION_IDLE_MS) };
  }

  /** The live session a cookie names, or null (unknown, expired, idle too long, or its user disabled). */
  async resolveSession(token: string, nowMs: number): Promise<ResolvedSession | null> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return null;
    const idHash = sha256Hex(token);
    const session = await this.db.selectFrom('console_sessions').selectAll().where('id_hash', '=', idHash).executeTakeFirst();
    if (!session || session.expires_at <= nowMs || session.last_seen_at + SESSION_IDLE_MS <= nowMs) return null;
    const user = await this.db.selectFrom('console_users').selectAll().where('id', '=', session.user_id).executeTakeFirst();
    if (!user || user.status !== 'active') return null;
    const partner = user.partner_id ? ((await this.db.selectFrom('partners').selectAll().where('id', '=', user.partner_id).executeTakeFirst()) ?? null) : null;
    if (user.role === 'partner' && !partner) return null;
    if (nowMs - session.last_seen_at >= TOUCH_EVERY_MS) {
      await this.db.updateTable('console_sessions').set({ last_seen_at: nowMs }).where('id_hash', '=', idHash).execute();
    }
    return { user, partner, csrfToken: session.csrf_token, expiresAt: Math.min(session.expires_at, nowMs + SESSION_IDLE_MS) };
  }

  async endSession(token: string): Promise<void> {
    await this.db.deleteFrom('console_sessions').where('id_hash', '=', sha256Hex(token)).execute();
  }
}
