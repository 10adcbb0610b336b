/**
 * The host's interfaces in the root namespace, for `netmgr status`: speed and duplex from systeminformation
 * (sysfs and ethtool where it has them), the driver from sysfs. The spare NICs an admin turns into switch ports
 * show up here with what they negotiated.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { HostInterface } from '../model/host';

/** The driver bound to a NIC (`/sys/class/net/IF/device/driver`); null for virtual interfaces. */
function driverOf(name: string): string | null {
  try {
    return path.basename(fs.readlinkSync(`/sys/class/net/${name}/device/driver`));
  } catch {
    return null;
  }
}

interface SiInterface {
  iface: string;
  mac: string;
  operstate: string;
  mtu: number | null;
  speed: number | null;
  duplex: string;
  virtual: boolean;
  internal: boolean;
}

/** Pure: systeminformation's view, normalised (unknown speed/duplex are null, loopback left out). */
export function toHostInterfaces(list: SiInterface[], driver: (name: string) => string | null): HostInterface[] {
  return list
    .filter((i) => !i.internal && i.iface !== 'lo')
    .map((i) => ({
      name: i.iface,
      mac: i.mac || null,
      operstate: i.operstate || 'unknown',
      mtu: i.mtu ?? null,
      speed: typeof i.speed === 'number' && i.speed > 0 ? i.speed : null,
      duplex: i.duplex && i.duplex !== 'unknown' ? i.duplex : null,
      driver: driver(i.iface),
      virtual: i.virtual,
    }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export async function readHostInterfaces(): Promise<HostInterface[]> {
  // Loaded here only: it is large, and only status needs it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: see the line above
  const si = require('systeminformation') as { networkInterfaces(): Promise<SiInterface[] | SiInterface> };
  const r = await si.networkInterfaces();
  return toHostInterfaces(Array.isArray(r) ? r : [r], driverOf);
}
