/**
 * The kernel datapath's generic netlink families and the datapath-level requests shared by create, adopt and
 * inspect: resolving the four families (is the openvswitch module there?), and OVS_DP_CMD_* requests.
 */
import * as os from 'os';
import { genlRequest, resolveFamily, type GenlFamily } from '../../netlink/genl';
import { NetlinkSocket } from '../../netlink/socket';
import {
  OVS_DATAPATH_FAMILY,
  OVS_DP_F,
  OVS_FLOW_FAMILY,
  OVS_PACKET_FAMILY,
  OVS_VPORT_FAMILY,
  REQUIRED_FAMILIES,
} from './abi';
import { decodeDatapath, encodeDatapathAttrs, ovsHeader, type DatapathInfo, type DatapathRequest } from './messages';

export interface KernelFamilies {
  datapath: GenlFamily;
  vport: GenlFamily;
  flow: GenlFamily;
  packet: GenlFamily;
}

/** What to tell a user whose kernel has no openvswitch module. */
export const MODULE_MISSING_HINT =
  'the openvswitch kernel module is not loaded: `modprobe openvswitch`, or use datapath = "userspace"';

/** Resolves the four families; `missing` lists those the kernel does not know (module not loaded). */
export function resolveKernelFamilies(sock: NetlinkSocket): { families?: KernelFamilies; missing: string[] } {
  const found = new Map<string, GenlFamily>();
  const missing: string[] = [];
  for (const name of REQUIRED_FAMILIES) {
    const f = resolveFamily(sock, name);
    if (f) found.set(name, f);
    else missing.push(name);
  }
  if (missing.length) return { missing };
  return {
    missing,
    families: {
      datapath: found.get(OVS_DATAPATH_FAMILY)!,
      vport: found.get(OVS_VPORT_FAMILY)!,
      flow: found.get(OVS_FLOW_FAMILY)!,
      packet: found.get(OVS_PACKET_FAMILY)!,
    },
  };
}

/** This process's upcall socket for every CPU (per-CPU dispatch indexes the array by CPU id). */
export function upcallPidsPerCpu(pid: number): number[] {
  return new Array<number>(Math.max(1, os.cpus().length)).fill(pid);
}

/** The datapath attributes that keep `features` and point its upcalls at `pid`. */
export function upcallSettings(features: number, pid: number): DatapathRequest {
  return features & OVS_DP_F.DISPATCH_UPCALL_PER_CPU
    ? { userFeatures: features, perCpuPids: upcallPidsPerCpu(pid) }
    : { userFeatures: features };
}

export function dpRequest(
  sock: NetlinkSocket,
  fam: KernelFamilies,
  cmd: number,
  flags: number,
  dpIfindex: number,
  r: Parameters<typeof encodeDatapathAttrs>[0],
  what: string,
): DatapathInfo {
  const replies = genlRequest(sock, fam.datapath, cmd, flags, ovsHeader(dpIfindex), encodeDatapathAttrs(r), what);
  return replies.length ? decodeDatapath(replies[0].body) : { dpIfindex, name: r.name ?? '' };
}
