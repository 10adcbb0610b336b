/**
 * What netmgrd's dhcpcd hook reports, and what each report means for the lease (pure). The hook
 * (DHCP_HOOK_SCRIPT, run by dhcpcd at every event) prints one line `NETMGR-DHCP reason=... ip=... cidr=...
 * routers=... server=... lease=... dns=...` on dhcpcd's stdout, which netmgrd reads; it changes nothing itself.
 */
import type { DhcpLease } from '../model/leases';

export const HOOK_TAG = 'NETMGR-DHCP';

/** The hook dhcpcd runs (`script` in its configuration): it only reports. */
export const DHCP_HOOK_SCRIPT = `#!/bin/sh
# netmgrd's dhcpcd hook: reports the event to netmgrd (on dhcpcd's stdout); netmgrd applies the lease itself.
# Lists (space-separated in dhcpcd's variables) are reported comma-separated, as the line's fields are split on
# spaces; with shell builtins only, as the hook may run without PATH.
join() { set -f; IFS=' '; set -- $1; IFS=,; echo "$*"; }
printf '${HOOK_TAG} reason=%s ip=%s cidr=%s routers=%s server=%s lease=%s dns=%s\\n' \\
  "$reason" "$new_ip_address" "$new_subnet_cidr" "$(join "$new_routers")" "$new_dhcp_server_identifier" \\
  "$new_dhcp_lease_time" "$(join "$new_domain_name_servers")"
`;

export interface HookEvent {
  reason: string;
  ip?: string;
  cidr?: number;
  routers: string[];
  server?: string;
  leaseSeconds?: number;
  /** The domain name servers (option 6), in the server's order. */
  dns: string[];
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/** A hook line, or undefined for any other line of dhcpcd's output. Values that are not what they should be are dropped. */
export function parseHookLine(line: string): HookEvent | undefined {
  if (!line.startsWith(`${HOOK_TAG} `)) return undefined;
  const f = new Map<string, string>();
  for (const w of line.slice(HOOK_TAG.length + 1).split(' ')) {
    const eq = w.indexOf('=');
    if (eq > 0) f.set(w.slice(0, eq), w.slice(eq + 1));
  }
  const ip = f.get('ip');
  const cidr = Number(f.get('cidr'));
  const lease = Number(f.get('lease'));
  const server = f.get('server');
  return {
    reason: f.get('reason') ?? '',
    ...(ip && IPV4.test(ip) ? { ip } : {}),
    ...(Number.isInteger(cidr) && cidr >= 1 && cidr <= 32 ? { cidr } : {}),
    routers: (f.get('routers') ?? '').split(',').filter((r) => IPV4.test(r)),
    ...(server && IPV4.test(server) ? { server } : {}),
    ...(Number.isInteger(lease) && lease > 0 ? { leaseSeconds: lease } : {}),
    dns: (f.get('dns') ?? '').split(',').filter((r) => IPV4.test(r)),
  };
}

/** dhcpcd's reasons that carry a (new or renewed) lease. */
const BOUND_REASONS = new Set(['BOUND', 'RENEW', 'REBIND', 'REBOOT']);
/** dhcpcd's reasons after which the lease is gone: expired, refused by the server, released, or the client stopped. */
const LOST_REASONS = new Set(['EXPIRE', 'NAK', 'RELEASE', 'STOP', 'STOPPED', 'FAIL', 'DEPARTED']);

/** What an event does to an interface's lease. */
export type LeaseUpdate = { kind: 'bound'; lease: DhcpLease } | { kind: 'lost' } | { kind: 'none' };

/** The lease after event e at `now` (ms), on the interface `where`. */
export function applyHookEvent(
  where: { unit: string; namespace: string | null; link: string },
  e: HookEvent,
  now: number,
): LeaseUpdate {
  if (BOUND_REASONS.has(e.reason) && e.ip && e.cidr && e.leaseSeconds)
    return {
      kind: 'bound',
      lease: {
        ...where,
        address: `${e.ip}/${e.cidr}`,
        ...(e.routers.length ? { router: e.routers[0] } : {}),
        ...(e.server ? { server: e.server } : {}),
        ...(e.dns.length ? { dns: e.dns } : {}),
        leaseSeconds: e.leaseSeconds,
        boundAt: now,
        expiresAt: now + e.leaseSeconds * 1000,
        event: e.reason,
      },
    };
  if (LOST_REASONS.has(e.reason)) return { kind: 'lost' };
  return { kind: 'none' };
}
