/** The plan's notes on DHCP: a change that adds or removes a lease's address or default route says so. Pure. */
import { fromLease, type DhcpLease } from '../model/leases';
import type { Change } from './types';

/** Marks (origin: 'dhcp') the address and route changes that are a lease's, for the plan text "(dhcp lease)". */
export function markLeaseChanges(changes: Change[], leases: readonly DhcpLease[]): void {
  for (const c of changes) {
    if (c.object === 'address' && fromLease(leases, c.namespace, c.link, { address: c.address })) c.origin = 'dhcp';
    if (c.object === 'route' && fromLease(leases, c.namespace, c.link, c.route)) c.origin = 'dhcp';
  }
}
