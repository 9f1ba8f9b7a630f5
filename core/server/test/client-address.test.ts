import { clientAddressResolver } from '../src/http/client-address';

/** Loopback and private ranges, as an operator with the load balancer in a private network would list them. */
const PRIVATE_RANGES = ['127.0.0.0/8', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '::1/128', 'fc00::/7'];

const request = (remoteAddress: string, forwardedFor?: string): [string, string | undefined] => [remoteAddress, forwardedFor];

describe('client address', () => {
  const proxied = clientAddressResolver(true, PRIVATE_RANGES);

  it('is the peer unless told to believe X-Forwarded-For', () => {
    expect(clientAddressResolver(false, PRIVATE_RANGES)(...request('10.0.0.5', '203.0.113.7'))).toBe('10.0.0.5');
    expect(proxied(...request('10.0.0.5'))).toBe('10.0.0.5');
  });

  it('reads X-Forwarded-For from the right, past trusted proxies only', () => {
    expect(proxied(...request('10.0.0.5', '203.0.113.7'))).toBe('203.0.113.7');
    expect(proxied(...request('10.0.0.5', '198.51.100.1, 203.0.113.7, 172.16.3.4'))).toBe('203.0.113.7');
    // Every hop is a trusted proxy: the leftmost is the best guess.
    expect(proxied(...request('10.0.0.5', '192.168.1.20, 10.0.0.4'))).toBe('192.168.1.20');
    // A hop that is not an address ends the walk at the last good one.
    expect(proxied(...request('10.0.0.5', 'unknown, 10.0.0.4'))).toBe('10.0.0.4');
  });

  it('ignores the header from a peer that is not a trusted proxy', () => {
    expect(proxied(...request('192.0.2.50', '203.0.113.7'))).toBe('192.0.2.50');
  });

  it('handles IPv6 and IPv4-mapped peers', () => {
    expect(proxied(...request('::ffff:10.0.0.5', '2001:db8::7'))).toBe('2001:db8::7');
    expect(proxied(...request('::1', '203.0.113.7'))).toBe('203.0.113.7');
    expect(proxied(...request('fd00::2', '203.0.113.7, fd00::1'))).toBe('203.0.113.7');
    expect(clientAddressResolver(true, ['198.51.100.0/24'])(...request('198.51.100.9', '203.0.113.7'))).toBe('203.0.113.7');
  });
});
