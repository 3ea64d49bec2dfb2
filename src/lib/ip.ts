import { BlockList, isIP } from 'node:net';

/** Builds a matcher for entries like "203.0.113.7", "10.0.0.0/8" or "2001:db8::/32". Bad entries are reported. */
export function parseIpList(entries: string[]): { list: BlockList; bad: string[] } {
  const list = new BlockList();
  const bad: string[] = [];
  for (const entry of entries) {
    const [address, prefix] = entry.trim().split('/');
    const family = isIP(address ?? '');
    if (!family) {
      bad.push(entry);
      continue;
    }
    const type = family === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(address, type);
    else if (/^\d+$/.test(prefix) && Number(prefix) <= (family === 6 ? 128 : 32)) list.addSubnet(address, Number(prefix), type);
    else bad.push(entry);
  }
  return { list, bad };
}

export function ipMatches(list: BlockList, ip: string): boolean {
  const normalized = ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
  const family = isIP(normalized);
  if (!family) return false;
  return list.check(normalized, family === 6 ? 'ipv6' : 'ipv4');
}
