'use strict';
/**
 * Kernel datapath diagnostics for failing guest tests: `node diag.js DP` prints the datapath's user features and
 * every vport's number, name and upcall PIDs, read with netmgr's own codecs (what ovs-dpctl does not show).
 */
const { NetlinkSocket, NETLINK_GENERIC, NLM_F_DUMP } = require('/netmgr/dist/netlink/socket');
const { genlRequest } = require('/netmgr/dist/netlink/genl');
const { resolveKernelFamilies } = require('/netmgr/dist/datapath/kernel/datapath');
const {
  decodeDatapath,
  decodeVport,
  encodeDatapathAttrs,
  encodeVportAttrs,
  ovsHeader,
} = require('/netmgr/dist/datapath/kernel/messages');
const { OVS_DP_CMD, OVS_VPORT_CMD } = require('/netmgr/dist/datapath/kernel/abi');

const sock = new NetlinkSocket(NETLINK_GENERIC);
const { families } = resolveKernelFamilies(sock);
const dp = decodeDatapath(
  genlRequest(
    sock,
    families.datapath,
    OVS_DP_CMD.GET,
    0,
    ovsHeader(0),
    encodeDatapathAttrs({ name: process.argv[2] }),
    'dp',
  )[0].body,
);
console.log(
  `datapath ${dp.name} ifindex ${dp.dpIfindex} user_features 0x${(dp.userFeatures ?? 0).toString(16)} stats ${JSON.stringify(dp.stats)}`,
);
for (const m of genlRequest(
  sock,
  families.vport,
  OVS_VPORT_CMD.GET,
  NLM_F_DUMP,
  ovsHeader(dp.dpIfindex),
  encodeVportAttrs({}),
  'vports',
)) {
  const v = decodeVport(m.body);
  console.log(`  port ${v.portNo} ${v.name} type ${v.type} upcall_pids ${v.upcallPids.join(',')}`);
}
sock.close();
