import dns from 'node:dns';
import type { LookupAddress, LookupOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';

/**
 * Where webhooks may go. A live partner's endpoint must be a public address: the platform must not be
 * usable to reach its own network (loopback, private ranges, link-local, unique-local, CGNAT, cloud
 * metadata). The check runs when the URL is saved (every address the name resolves to) and again at
 * connection time (the lookup the HTTP client uses), so a name re-pointed later (DNS rebinding) is refused too.
 */
export const MAX_WEBHOOK_URL_LENGTH = 500;

/** Parses and checks the form of a webhook URL; returns the URL or a message saying what is wrong. */
export function parseWebhookUrl(text: string): { url: URL } | { error: string } {
  if (text.length > MAX_WEBHOOK_URL_LENGTH) return { error: `the webhook URL is longer than ${MAX_WEBHOOK_URL_LENGTH} characters` };
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { error: `the webhook ${JSON.stringify(text)} is not a URL (expected e.g. https://example.com/hooks/esim)` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { error: `the webhook URL must start with http:// or https:// (got ${url.protocol})` };
  if (!url.hostname) return { error: 'the webhook URL has no host' };
  return { url };
}

const v4 = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, cloud metadata (169.254.169.254)
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.88.99.0', 24], // 6to4 relay anycast
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  v4.addSubnet(net, prefix, 'ipv4');
}

const v6 = new BlockList();
for (const [net, prefix] of [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['64:ff9b:1::', 48], // local-use NAT64
  ['100::', 64], // discard
  ['2001::', 32], // Teredo (tunnels to arbitrary IPv4)
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique local (includes fd00:ec2::254, the AWS metadata address)
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
] as const) {
  v6.addSubnet(net, prefix, 'ipv6');
}

/** Expands an IPv6 address to its 16 bytes (accepts an embedded dotted IPv4 tail). */
function ipv6Bytes(address: string): number[] | null {
  let text = address.split('%')[0];
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (tail) {
    const parts = tail[1].split('.').map(Number);
    text = text.slice(0, -tail[1].length) + `${((parts[0] << 8) | parts[1]).toString(16)}:${((parts[2] << 8) | parts[3]).toString(16)}`;
  }
  const [head, rest] = text.split('::');
  const headGroups = head ? head.split(':') : [];
  const restGroups = rest !== undefined && rest !== '' ? rest.split(':') : [];
  const missing = 8 - headGroups.length - restGroups.length;
  if (rest === undefined ? headGroups.length !== 8 : missing < 0) return null;
  const groups = [...headGroups, ...Array(rest === undefined ? 0 : missing).fill('0'), ...restGroups];
  const bytes: number[] = [];
  for (const g of groups) {
    const n = parseInt(g, 16);
    if (!/^[0-9a-fA-F]{1,4}$/.test(g) || Number.isNaN(n)) return null;
    bytes.push(n >> 8, n & 0xff);
  }
  return bytes;
}

/** True for addresses a live partner's webhook must not reach. Unparseable input counts as forbidden. */
export function isForbiddenAddress(address: string): boolean {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const family = isIP(bare);
  if (family === 4) return v4.check(bare, 'ipv4');
  if (family !== 6) return true;
  if (v6.check(bare, 'ipv6')) return true;
  const b = ipv6Bytes(bare);
  if (!b) return true;
  const embedded = (offset: number) => `${b[offset]}.${b[offset + 1]}.${b[offset + 2]}.${b[offset + 3]}`;
  const zeros = (from: number, to: number) => b.slice(from, to).every((x) => x === 0);
  // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d): judged by the IPv4 address inside.
  if (zeros(0, 10) && b[10] === 0xff && b[11] === 0xff) return v4.check(embedded(12), 'ipv4');
  if (zeros(0, 12)) return v4.check(embedded(12), 'ipv4');
  // NAT64 well-known prefix 64:ff9b::/96 and 6to4 2002::/16 carry an IPv4 address too.
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zeros(4, 12)) return v4.check(embedded(12), 'ipv4');
  if (b[0] === 0x20 && b[1] === 0x02) return v4.check(embedded(2), 'ipv4');
  return false;
}

/**
 * Resolves the URL's host and refuses it when it is, or resolves to, a forbidden address (every address
 * counts). Returns null when the target is acceptable, else the reason.
 */
export async function checkWebhookTarget(url: URL): Promise<string | null> {
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  if (isIP(host)) return isForbiddenAddress(host) ? `${host} is a loopback, private, link-local or otherwise internal address` : null;
  let addresses: LookupAddress[];
  try {
    addresses = await dns.promises.lookup(host, { all: true, verbatim: true });
  } catch (error) {
    return `the host name ${host} does not resolve (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`;
  }
  if (!addresses.length) return `the host name ${host} does not resolve`;
  const bad = addresses.find((a) => isForbiddenAddress(a.address));
  return bad ? `${host} resolves to ${bad.address}, a loopback, private, link-local or otherwise internal address` : null;
}

/** A `lookup` for http.request that refuses forbidden addresses at connection time. */
export function guardedLookup(
  hostname: string,
  options: LookupOptions,
  callback: (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
): void {
  dns.lookup(hostname, { ...options, all: true, verbatim: true }, (error, addresses) => {
    if (error) return callback(error, '', 0);
    const list = addresses as LookupAddress[];
    const bad = list.find((a) => isForbiddenAddress(a.address));
    if (bad || !list.length) {
      const refused: NodeJS.ErrnoException = new Error(`refused: ${hostname} resolves to ${bad?.address ?? 'nothing'}, an internal address`);
      refused.code = 'EWEBHOOKPRIVATE';
      return callback(refused, '', 0);
    }
    if (options.all) return callback(null, list);
    return callback(null, list[0].address, list[0].family);
  });
}
