import os from 'node:os';
import ipaddr from 'ipaddr.js';

/**
 * Which addresses a merchant's `notification_url` may reach when ECOMGATE_WEBHOOK_ALLOW_PRIVATE is off:
 * global unicast only, and never one of this host's own interface addresses. The special ranges are
 * ipaddr.js's (private, loopback, link-local, carrier-grade NAT, reserved 192.0.0/24, 198.18/15 and 240/4,
 * multicast, broadcast, NAT64 64:ff9b::/96, IPv4-mapped, ...), not a list of our own. IPv6 must also be in
 * 2000::/3, the only block IANA hands out for global unicast: that shuts the IPv4-compatible ::/96 and
 * any range a later RFC carves out of unallocated space.
 */
const GLOBAL_UNICAST_V6 = ipaddr.IPv6.parse('2000::');

/** The host's own addresses, normalised (ipaddr.js's toNormalizedString), read fresh each time: interfaces come and go. */
export function hostAddresses(): Set<string> {
  const own = new Set<string>();
  for (const entries of Object.values(os.networkInterfaces())) {
    for (const entry of entries ?? []) {
      const address = entry.address.replace(/%.*$/, '');
      if (ipaddr.isValid(address)) own.add(ipaddr.parse(address).toNormalizedString());
    }
  }
  return own;
}

/** The ipaddr.js range name that refuses an address, `own address`, or undefined when it may be reached. */
export function refusedRange(address: string, own: Set<string> = hostAddresses()): string | undefined {
  const literal = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  if (!ipaddr.isValid(literal)) return undefined;
  const parsed = ipaddr.parse(literal);
  const range = parsed.range();
  if (range !== 'unicast') return range;
  if (parsed.kind() === 'ipv6' && !(parsed as ipaddr.IPv6).match(GLOBAL_UNICAST_V6, 3)) return 'not global unicast';
  if (own.has(parsed.toNormalizedString())) return 'own address';
  return undefined;
}
