/** The tunnel port settings the kernel datapath's unit tests share: a VXLAN port, VNI 100, two IPv4 remotes. */
import type { DpTunnelConfig } from '../../src/datapath/types';

export const VXLAN_PORT: DpTunnelConfig = {
  kind: 'vxlan',
  vni: 100,
  remotes: ['198.18.0.2', '198.18.0.3'],
  family: 4,
  dstPort: 4789,
  ttl: 64,
  df: true,
};
