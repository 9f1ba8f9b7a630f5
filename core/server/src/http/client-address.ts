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
 * How the manager tells who a request comes from, for rate limits and the audit log. By
 * default the connection's peer. With `trustProxyHeader`, and only when the peer is one of
 * `trustedProxies`, `X-Forwarded-For` is read from the right (each proxy appends the address it
 * saw) and the first address that is not a trusted proxy is the client: a client cannot forge
 * its way past the proxies, because whatever it sends is to the left of what they append.
 */
export function clientAddressResolver(trustProxyHeader: boolean, trustedProxies: string[]): (peerAddress: string, forwardedFor: unknown) => string {
  const trusted = blockList(trustedProxies);
  const isTrusted = (address: string) => {
    const family = net.isIPv6(address) ? 'ipv6' : net.isIPv4(address) ? 'ipv4' : undefined;
    return family !== undefined && trusted.check(address, family);
  };
  return (peerAddress, forwardedFor) => {
    const peer = plain(peerAddress);
    if (!trustProxyHeader || !isTrusted(peer)) return peer;
    const text = Array.isArray(forwardedFor) ? forwardedFor.join(',') : typeof forwardedFor === 'string' ? forwardedFor : '';
    const hops = text.split(',').map((hop) => plain(hop.trim()));
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
