/**
 * What loop protection needs to know about a port's interface that no datapath reports: whether its link is up
 * (802.1D 6.4.2 MAC_Operational: a spanning tree must react to a cable pulled within a second, not after Max Age),
 * its speed (the default Port Path Cost, Table 17-3) and the bridge's MAC address (the Bridge Identifier). Read from
 * sysfs of the namespace the policy runs in, which is the bridge's: veth and system ports live there. An interface
 * not found there (an internal port moved into a host namespace, a TAP) counts as up, at unknown speed.
 */
import * as fs from 'fs';

export interface LinkFacts {
  /** The link is up (operstate "up", or "unknown" as TAPs and some drivers report); true when not found. */
  up(name: string): boolean;
  /** Megabits per second, or undefined when unknown. */
  speedMbps(name: string): number | undefined;
  /** The interface's MAC address as a 48-bit number, or undefined. */
  address(name: string): number | undefined;
}

/** A name that cannot leave /sys/class/net (interface names never hold a slash). */
const safe = (name: string): boolean => name.length > 0 && !name.includes('/') && name !== '.' && name !== '..';

function readSys(name: string, attr: string): string | undefined {
  if (!safe(name)) return undefined;
  try {
    return fs.readFileSync(`/sys/class/net/${name}/${attr}`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

export const sysfsLinkFacts: LinkFacts = {
  up(name) {
    const s = readSys(name, 'operstate');
    return s === undefined || s === 'up' || s === 'unknown';
  },
  speedMbps(name) {
    const n = Number(readSys(name, 'speed'));
    return Number.isInteger(n) && n > 0 ? n : undefined;
  },
  address(name) {
    const s = readSys(name, 'address');
    if (s === undefined || !/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(s)) return undefined;
    const v = parseInt(s.replace(/:/g, ''), 16);
    return v === 0 ? undefined : v;
  },
};
