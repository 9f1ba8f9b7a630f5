import { addressGroup as addressKey } from '@bilbycast/core';
import { NodeAuthLimiter, WindowCounters } from '../src/services/auth-limiter';
import { NodeBudgets } from '../src/services/node-budget';
import { UnauthenticatedSockets } from '../src/websocket/unauthenticated-sockets';

/** A clock the test moves by hand. */
function manualClock(start = Date.UTC(2026, 11, 2, 10, 0, 0)) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('NodeAuthLimiter', () => {
  test('a device retrying a wrong secret every 5 s for 10 minutes is locked out each minute, reported once; its next success ends the episode', () => {
    const clock = manualClock();
    const limiter = new NodeAuthLimiter({ maxFailures: 5, maxFailuresPerAddress: 50, windowMs: 60_000, now: clock.now });
    let reports = 0;
    let lockouts = 0;
    for (let attempt = 0; attempt < 120; attempt++) {
      if (limiter.gate('198.51.100.7', 'node-1').allowed) {
        const outcome = limiter.recordFailure('198.51.100.7', 'node-1');
        if (outcome.lockout === 'key') {
          lockouts++;
          if (outcome.episode?.isNew) reports++;
        }
      }
      clock.advance(5_000);
    }
    expect(lockouts).toBe(10);
    expect(reports).toBe(1);
    const episode = limiter.recordSuccess('198.51.100.7', 'node-1');
    expect(episode).toMatchObject({ lockouts: 10 });
    // Ended: the next lockout is a new episode.
    for (let i = 0; i < 4; i++) limiter.recordFailure('198.51.100.7', 'node-1');
    expect(limiter.recordFailure('198.51.100.7', 'node-1').episode?.isNew).toBe(true);
  });

  test('failures from one address never lock out the same node elsewhere; an address is limited across keys', () => {
    const clock = manualClock();
    const limiter = new NodeAuthLimiter({ maxFailures: 3, maxFailuresPerAddress: 10, windowMs: 60_000, now: clock.now });
    for (let i = 0; i < 3; i++) limiter.recordFailure('203.0.113.9', 'node-1');
    expect(limiter.gate('203.0.113.9', 'node-1')).toEqual({ allowed: false, reason: 'key_locked' });
    expect(limiter.gate('192.0.2.1', 'node-1')).toEqual({ allowed: true });
    for (let i = 0; i < 7; i++) limiter.recordFailure('203.0.113.9', `random-${i}`);
    expect(limiter.gate('203.0.113.9', 'node-2')).toEqual({ allowed: false, reason: 'address_locked' });
    clock.advance(60_000);
    expect(limiter.gate('203.0.113.9', 'node-2')).toEqual({ allowed: true });
    expect(limiter.gate('203.0.113.9', 'node-1')).toEqual({ allowed: true });
  });

  test('an IPv6 attacker is one address per /64', () => {
    const limiter = new NodeAuthLimiter({ maxFailures: 3, maxFailuresPerAddress: 4, windowMs: 60_000 });
    for (let i = 0; i < 4; i++) limiter.recordFailure(`2001:db8:1:2::${i + 1}`, `node-${i}`);
    expect(limiter.gate('2001:db8:1:2:ffff::9', 'node-9').allowed).toBe(false);
    expect(limiter.gate('2001:db8:1:3::1', 'node-9').allowed).toBe(true);
  });
});

describe('addressKey', () => {
  test.each([
    ['192.0.2.10', '192.0.2.10'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['2001:0db8:0000:0001:aaaa::1', '2001:db8:0:1::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['::', '0:0:0:0::/64'],
    ['64:ff9b::192.0.2.1', '64:ff9b:0:0::/64'],
    [null, 'unknown']
  ])('%s → %s', (address, key) => {
    expect(addressKey(address)).toBe(key);
  });
});

describe('WindowCounters', () => {
  test('windows expire from the queue in start order and a deleted key starts afresh', () => {
    const clock = manualClock();
    const counters = new WindowCounters(1000, 100, clock.now);
    counters.increment('a');
    clock.advance(500);
    counters.increment('b');
    counters.increment('a');
    expect(counters.count('a')).toBe(2);
    clock.advance(500);
    // a's window (started at 0) has ended; b's (started at 500) has not.
    expect(counters.count('a')).toBe(0);
    expect(counters.count('b')).toBe(1);
    counters.delete('b');
    counters.increment('b');
    clock.advance(400);
    // The stale queue entry of the deleted window does not end the new one.
    expect(counters.count('b')).toBe(1);
  });

  test('a flood of random keys keeps at most maxKeys, dropping the oldest windows first', () => {
    const clock = manualClock();
    const counters = new WindowCounters(60_000, 1000, clock.now);
    for (let i = 0; i < 50_000; i++) {
      counters.increment(`key-${i}`);
      if (i % 100 === 0) clock.advance(1);
    }
    expect(counters.size).toBe(1000);
    expect(counters.count('key-49999')).toBe(1);
    expect(counters.count('key-0')).toBe(0);
  });
});

describe('NodeBudgets', () => {
  test('bytes and events are counted per node and minute; each limit reports its first breach once', () => {
    const clock = manualClock();
    const budgets = new NodeBudgets({ bytesPerMinute: 1000, eventsPerMinute: 3, eventBytesPerMinute: 250 }, clock.now);
    expect(budgets.takeBytes('n1', 900)).toEqual({ allowed: true });
    expect(budgets.takeBytes('n1', 200)).toEqual({ allowed: false, exceeded: 'bytes' });
    expect(budgets.takeBytes('n1', 10)).toEqual({ allowed: false });
    expect(budgets.takeBytes('n2', 900)).toEqual({ allowed: true });
    expect(budgets.takeEvent('n1', 100)).toEqual({ allowed: true });
    expect(budgets.takeEvent('n1', 100)).toEqual({ allowed: true });
    expect(budgets.takeEvent('n1', 100)).toEqual({ allowed: false, exceeded: 'event_bytes' });
    expect(budgets.takeEvent('n1', 10)).toEqual({ allowed: true });
    expect(budgets.takeEvent('n1', 10)).toEqual({ allowed: false, exceeded: 'events' });
    expect(budgets.takeEvent('n1', 10)).toEqual({ allowed: false });
    clock.advance(60_000);
    expect(budgets.takeBytes('n1', 900)).toEqual({ allowed: true });
    expect(budgets.takeEvent('n1', 100)).toEqual({ allowed: true });
  });
});

describe('UnauthenticatedSockets', () => {
  test('slots are capped per address (IPv6 by /64); at the overall cap the oldest idle socket is evicted, never one signing in', () => {
    const sockets = new UnauthenticatedSockets(3, 2);
    const evicted: string[] = [];
    const take = (address: string, name: string) => sockets.acquire(address, () => evicted.push(name));
    const a1 = take('2001:db8:1:1::1', 'a1')!;
    const a2 = take('2001:db8:1:1::2', 'a2')!;
    expect(take('2001:db8:1:1::3', 'a3')).toBeNull();
    const b1 = take('192.0.2.1', 'b1')!;
    a1.authenticating();
    // Full: the oldest idle one (a2; a1 is signing in) makes room.
    const c1 = take('198.51.100.1', 'c1');
    expect(c1).not.toBeNull();
    expect(evicted).toEqual(['a2']);
    a2.release();
    a2.release();
    expect(sockets.total).toBe(3);
    b1.authenticating();
    c1!.authenticating();
    // Every slot is signing in: nothing to evict, so the newcomer is refused.
    expect(take('198.51.100.2', 'c2')).toBeNull();
    for (const slot of [a1, b1, c1!]) slot.release();
    expect(sockets.total).toBe(0);
  });
});

describe('NodeAuthLimiter in flight', () => {
  test('attempts being checked count against the limits until they settle', () => {
    const limiter = new NodeAuthLimiter({ maxFailures: 3, maxFailuresPerAddress: 5, windowMs: 60_000 });
    const settles = [1, 2, 3].map(() => {
      expect(limiter.gate('203.0.113.1', 'node-1').allowed).toBe(true);
      return limiter.begin('203.0.113.1', 'node-1');
    });
    expect(limiter.gate('203.0.113.1', 'node-1')).toEqual({ allowed: false, reason: 'key_locked' });
    limiter.begin('203.0.113.1', 'node-2');
    limiter.begin('203.0.113.1', 'node-3');
    expect(limiter.gate('203.0.113.1', 'node-4')).toEqual({ allowed: false, reason: 'address_locked' });
    expect(limiter.gate('192.0.2.1', 'node-1').allowed).toBe(true);
    // Settled (once, however often it is called): room for one more attempt, and only one.
    settles[0]();
    settles[0]();
    expect(limiter.gate('203.0.113.1', 'node-1').allowed).toBe(true);
    limiter.begin('203.0.113.1', 'node-1');
    expect(limiter.gate('203.0.113.1', 'node-5')).toEqual({ allowed: false, reason: 'address_locked' });
  });

  test('IPv4 peers seen through a dual-stack socket are keyed by their IPv4 address', () => {
    expect(addressKey('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(addressKey('::FFFF:198.51.100.7')).toBe('198.51.100.7');
  });
});
