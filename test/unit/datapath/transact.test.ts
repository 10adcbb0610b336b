/**
 * transactMany (the kernel datapath's pipelined requests) against the generic netlink controller, which every
 * kernel has: all requests are sent before any answer is read, and each answer lands at its request's index.
 */
import { genlPayload } from '../../../src/netlink/genl';
import { NetlinkSocket, NETLINK_GENERIC } from '../../../src/netlink/socket';
import { transactMany, type NetlinkRequest } from '../../../src/datapath/kernel/transact';

const GENL_ID_CTRL = 0x10;
const CTRL_CMD_GETFAMILY = 3;
const CTRL_ATTR_FAMILY_NAME = 2;

/** CTRL_CMD_GETFAMILY for one family name (one NUL-terminated string attribute, padded to 4 bytes). */
function getFamily(name: string): NetlinkRequest {
  const value = Buffer.from(`${name}\0`);
  const attr = Buffer.alloc((4 + value.length + 3) & ~3);
  attr.writeUInt16LE(4 + value.length, 0);
  attr.writeUInt16LE(CTRL_ATTR_FAMILY_NAME, 2);
  value.copy(attr, 4);
  return { type: GENL_ID_CTRL, flags: 0, payload: genlPayload(CTRL_CMD_GETFAMILY, 1, new Uint8Array(0), attr) };
}

describe('transactMany', () => {
  test('answers each request at its index: found families succeed, an unknown one fails with its errno', () => {
    const sock = new NetlinkSocket(NETLINK_GENERIC);
    try {
      const out = transactMany(sock, [getFamily('nlctrl'), getFamily('netmgr-nosuch'), getFamily('nlctrl')], 'test');
      expect(out.map((e) => e?.code)).toEqual([undefined, 'ENOENT', undefined]);
      // The socket is left clean: a plain request afterwards gets its own answer.
      expect(transactMany(sock, [getFamily('nlctrl')], 'test')).toEqual([undefined]);
    } finally {
      sock.close();
    }
  });

  test('an empty batch sends and waits for nothing', () => {
    const sock = new NetlinkSocket(NETLINK_GENERIC);
    try {
      expect(transactMany(sock, [], 'test')).toEqual([]);
    } finally {
      sock.close();
    }
  });
});
