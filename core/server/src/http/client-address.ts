import net from 'node:net';

function blockList(entries: string[]): net.BlockList {
  const list = new net.BlockList();
  for (const entry of entries) {
    const [address, prefix] = entry.split('/');
    const family = net.isIPv6(address) ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(prefix), family);
  }
  return list;
}

/** `::ffff:10.0.0.1` (an IPv4 peer on a dual-stack socket) as `10.0.0.1`. */
function plain(address: string): string {
  return address.startsWith('::ffff:') && net.isIPv4(address.slice(7)) ? address.slice(7) : address;
}

/**
 * Whether a peer speaks for the client in `X-Forwarded-*` headers: only with `trustProxyHeader`,
 * and only when the peer is one of `trustedProxies`.
 */
function trustedProxyCheck(trustProxyHeader: boolean, trustedProxies: string[]): (address: string) => boolean {
  const trusted = blockList(trustedProxies);
  return (address) => {
    const family = net.isIPv6(address) ? 'ipv6' : net.isIPv4(address) ? 'ipv4' : undefined;
    return trustProxyHeader && family !== undefined && trusted.check(address, family);
  };
}

/** A header's value as one comma-separated list (Node joins repeated headers so too). */
function headerList(value: unknown): string[] {
  const text = Array.isArray(value) ? value.join(',') : typeof value === 'string' ? value : '';
  return text.split(',').map((item) => item.trim());
}

/**
 * How the manager tells who a request comes from, for rate limits and the audit log. By
 * default the connection's peer. With `trustProxyHeader`, and only when the peer is one of
 * `trustedProxies`, `X-Forwarded-For` is read from the right (each proxy appends the address it
 * saw) and the first address that is not a trusted proxy is the client: a client cannot forge
 * its way past the proxies, because whatever it sends is to the left of what they append.
 */
export function clientAddressResolver(trustProxyHeader: boolean, trustedProxies: string[]): (peerAddress: string, forwardedFor: unknown) => string {
  const isTrusted = trustedProxyCheck(trustProxyHeader, trustedProxies);
  return (peerAddress, forwardedFor) => {
    const peer = plain(peerAddress);
    if (!isTrusted(peer)) return peer;
    const hops = headerList(forwardedFor).map(plain);
    let client = peer;
    for (let i = hops.length - 1; i >= 0; i--) {
      if (!net.isIP(hops[i])) break;
      client = hops[i];
      if (!isTrusted(client)) break;
    }
    return client;
  };
}

/**
 * Whether a request reached the manager's proxy over HTTPS, on the same trust as
 * {@link clientAddressResolver}: only a trusted proxy's `X-Forwarded-Proto` counts, and of it
 * only the last value (the one the nearest proxy set or appended; what a client sent is to its
 * left), which must be `https` (in any case).
 */
export function forwardedHttpsResolver(trustProxyHeader: boolean, trustedProxies: string[]): (peerAddress: string, forwardedProto: unknown) => boolean {
  const isTrusted = trustedProxyCheck(trustProxyHeader, trustedProxies);
  return (peerAddress, forwardedProto) => isTrusted(plain(peerAddress)) && headerList(forwardedProto).at(-1)?.toLowerCase() === 'https';
}

/**
 * The part of a client address that limits count by: IPv4 as is, IPv6 by its /64 (one site's
 * prefix: a host there can take any address in it at will).
 */
export function addressGroup(address: string | null): string {
  if (!address) return 'unknown';
  let plain = address.replace(/%.*$/, '');
  // An IPv4 peer on a dual-stack socket is its IPv4 address.
  if (/^::ffff:/i.test(plain) && net.isIPv4(plain.slice(7))) plain = plain.slice(7);
  if (!net.isIPv6(plain)) return plain;
  const [head, tail] = plain.split('::');
  const groups = (part: string | undefined) => (part ? part.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g])) : []);
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const full = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return `${full
    .slice(0, 4)
    .map((g) => parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}
