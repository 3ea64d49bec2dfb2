import type { ApiKeyTable, Partner } from '../store/schema.ts';
import type { Partners } from '../domain/partners/partners.ts';
import { parseIpList, ipMatches } from '../lib/ip.ts';
import type { BlockList } from 'node:net';

export interface ResolvedKey {
  key: ApiKeyTable;
  partner: Partner;
  accessCode: string;
  secretKey: string;
  blocklist: BlockList | null;
}

/**
 * Resolves AccessCodes to keys with a short cache: a hot path (every request) must not decrypt and query
 * twice. Revocations and partner changes take effect within `ttlMs` across processes, at once in this one
 * (callers invalidate).
 */
export class KeyResolver {
  private readonly cache = new Map<string, { value: ResolvedKey | null; expiresMs: number }>();

  constructor(
    private readonly partners: Partners,
    private readonly ttlMs = 1000,
  ) {}

  async resolve(accessCode: string, nowMs: number): Promise<ResolvedKey | null> {
    const cached = this.cache.get(accessCode);
    if (cached && cached.expiresMs > nowMs) {
      const key = cached.value?.key;
      if (key && key.expires_at !== null && key.expires_at <= nowMs) return null;
      return cached.value;
    }
    const found = await this.partners.findByAccessCode(accessCode, nowMs);
    let value: ResolvedKey | null = null;
    if (found) {
      const entries = safeJsonArray(found.partner.ip_blocklist);
      value = { ...found, accessCode, blocklist: entries.length ? parseIpList(entries).list : null };
    }
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(accessCode, { value, expiresMs: nowMs + this.ttlMs });
    return value;
  }

  invalidate(): void {
    this.cache.clear();
  }
}

export function isBlocked(resolved: ResolvedKey, ip: string): boolean {
  return resolved.blocklist !== null && ipMatches(resolved.blocklist, ip);
}

function safeJsonArray(text: string): string[] {
  try {
    const value = JSON.parse(text);
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
  } catch {
    return [];
  }
}
