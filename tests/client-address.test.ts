import { describe, expect, it } from 'vitest';
import { clientAddressKey } from '../src/context/client-address.js';

/** The rate-limit key of a client address (contract §2: IPv6 addresses count per /64). */
describe('clientAddressKey', () => {
  it.each([
    ['198.51.100.7', '198.51.100.7'],
    [' 198.51.100.7 ', '198.51.100.7'],
    // IPv4-mapped IPv6, as a dual-stack socket reports IPv4 clients, in both spellings.
    ['::ffff:198.51.100.7', '198.51.100.7'],
    ['::FFFF:C633:6407', '198.51.100.7'],
    ['0:0:0:0:0:ffff:198.51.100.7', '198.51.100.7'],
  ])('keeps IPv4 %j as %j', (address, key) => {
    expect(clientAddressKey(address)).toBe(key);
  });

  it.each([
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:DB8:0001:0002:ffff:ffff:ffff:ffff', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8::/64'],
    ['2001:0db8:0000:0000:1::', '2001:db8::/64'],
    ['2001:db8:0:1::1', '2001:db8:0:1::/64'],
    ['fe80::1%eth0', 'fe80::/64'],
    ['::1', '::/64'],
    // Not IPv4-mapped (the ::ffff: group is in the wrong place): an IPv6 address like any other.
    ['::ffff:0:198.51.100.7', '::/64'],
  ])('counts IPv6 %j as its /64 %j', (address, key) => {
    expect(clientAddressKey(address)).toBe(key);
  });

  it('gives every address of one /64 the same key and neighbouring /64s different ones', () => {
    const inside = ['2001:db8:aa:1::1', '2001:db8:aa:1::2', '2001:db8:aa:1:8000::', '2001:db8:aa:1:ffff:ffff:ffff:ffff'];
    expect(new Set(inside.map(clientAddressKey))).toEqual(new Set(['2001:db8:aa:1::/64']));
    expect(clientAddressKey('2001:db8:aa:2::1')).toBe('2001:db8:aa:2::/64');
    expect(clientAddressKey('2001:db8:aa:0:ffff::1')).toBe('2001:db8:aa::/64');
  });

  it.each([undefined, '', 'local', 'junk', '198.51.100', '198.51.100.7:1234', '2001:db8::1::2', 'x'.repeat(10_000)])(
    'puts %j, which is no IP address, under the one key "unknown"',
    (address) => {
      expect(clientAddressKey(address)).toBe('unknown');
    },
  );

  it('never yields a key with a space (the per-username key is "<address> <username>")', () => {
    for (const address of ['198.51.100.7', '2001:db8::1', 'a b', ' 2001:db8::1 ']) expect(clientAddressKey(address)).not.toContain(' ');
  });
});
