/**
 * Whether this kernel has the openvswitch datapath, read the way the datapath itself finds it: its generic
 * netlink families resolve. The module registers ovs_datapath, ovs_vport, ovs_flow and ovs_packet together, so
 * resolving the first tells.
 */
import { resolveFamily } from '../netlink/genl';
import { NETLINK_GENERIC, NetlinkSocket } from '../netlink/socket';

const OVS_DATAPATH_FAMILY = 'ovs_datapath';

/** True when the openvswitch module is loaded (what `datapath = "auto"` picks by); false when it cannot be told. */
export function kernelDatapathAvailable(): boolean {
  let sock: NetlinkSocket | undefined;
  try {
    sock = new NetlinkSocket(NETLINK_GENERIC);
    return resolveFamily(sock, OVS_DATAPATH_FAMILY) !== undefined;
  } catch {
    return false;
  } finally {
    sock?.close();
  }
}
