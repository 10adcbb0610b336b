/**
 * Generic netlink: the genlmsghdr framing and family resolution through the `nlctrl` family (CTRL_CMD_GETFAMILY),
 * as `genl ctrl get name NAME` does. Pure encoders/decoders plus one request helper over NetlinkSocket.
 */
import { GENL_RULES, NlAttrError, NlAttrWriter, getU16, getU32, readAttrs, readCString } from './attr';
import { hasErrno } from '../util/errors';
import { NetlinkError, NetlinkSocket, NLM_F_DUMP } from './socket';

/** The controller family's fixed id (`GENL_ID_CTRL`). */
export const GENL_ID_CTRL = 0x10;
export const GENL_HDRLEN = 4;

export const CTRL_CMD = { GETFAMILY: 3 } as const;
export const CTRL_ATTR = {
  FAMILY_ID: 1,
  FAMILY_NAME: 2,
  VERSION: 3,
  HDRSIZE: 4,
  MAXATTR: 5,
  OPS: 6,
  MCAST_GROUPS: 7,
} as const;
export const CTRL_ATTR_MCAST_GRP = { NAME: 1, ID: 2 } as const;

/** A resolved generic netlink family. */
export interface GenlFamily {
  name: string;
  id: number;
  version: number;
  /** Multicast group name -> group id. */
  mcastGroups: Map<string, number>;
}

/** `struct genlmsghdr { u8 cmd; u8 version; u16 reserved; }` followed by the family header and attributes. */
export function genlPayload(cmd: number, version: number, familyHeader: Uint8Array, attrs: Uint8Array): Buffer {
  const b = Buffer.alloc(GENL_HDRLEN + familyHeader.length + attrs.length);
  b[0] = cmd;
  b[1] = version;
  b.set(familyHeader, GENL_HDRLEN);
  b.set(attrs, GENL_HDRLEN + familyHeader.length);
  return b;
}

export interface GenlMessage {
  cmd: number;
  version: number;
  /** Everything after the genlmsghdr: the family header, then attributes. */
  body: Uint8Array;
}

export function parseGenl(payload: Uint8Array): GenlMessage {
  if (payload.length < GENL_HDRLEN)
    throw new NlAttrError(`generic netlink message of ${payload.length} bytes has no genlmsghdr`);
  return { cmd: payload[0], version: payload[1], body: payload.subarray(GENL_HDRLEN) };
}

/** CTRL_CMD_GETFAMILY request body for one family name. */
export function encodeGetFamily(name: string): Buffer {
  return genlPayload(
    CTRL_CMD.GETFAMILY,
    1,
    new Uint8Array(0),
    new NlAttrWriter(GENL_RULES).putString(CTRL_ATTR.FAMILY_NAME, name).finish(),
  );
}

/** Decodes a CTRL_CMD_NEWFAMILY reply (the answer to GETFAMILY). */
export function decodeFamily(payload: Uint8Array): GenlFamily {
  const { body } = parseGenl(payload);
  const fam: GenlFamily = { name: '', id: 0, version: 0, mcastGroups: new Map() };
  for (const a of readAttrs(body)) {
    if (a.type === CTRL_ATTR.FAMILY_ID) fam.id = getU16(a.payload);
    else if (a.type === CTRL_ATTR.FAMILY_NAME) fam.name = readCString(a.payload);
    else if (a.type === CTRL_ATTR.VERSION) fam.version = getU32(a.payload);
    else if (a.type === CTRL_ATTR.MCAST_GROUPS) {
      for (const grp of readAttrs(a.payload)) {
        let name = '';
        let id = -1;
        for (const f of readAttrs(grp.payload)) {
          if (f.type === CTRL_ATTR_MCAST_GRP.NAME) name = readCString(f.payload);
          else if (f.type === CTRL_ATTR_MCAST_GRP.ID) id = getU32(f.payload);
        }
        if (name && id >= 0) fam.mcastGroups.set(name, id);
      }
    }
  }
  if (!fam.id) throw new NlAttrError(`CTRL_CMD_GETFAMILY reply without CTRL_ATTR_FAMILY_ID`);
  return fam;
}

/** Resolves a family by name; undefined when the kernel has no such family (ENOENT: its module is not loaded). */
export function resolveFamily(sock: NetlinkSocket, name: string): GenlFamily | undefined {
  try {
    const replies = sock.request(GENL_ID_CTRL, 0, encodeGetFamily(name), `resolving generic netlink family ${name}`);
    if (!replies.length) return undefined;
    return decodeFamily(replies[0].payload);
  } catch (e) {
    if (e instanceof NetlinkError && hasErrno(e, 'ENOENT')) return undefined;
    throw e;
  }
}

/** One genl request: returns the reply messages' genl parts (all of them for a dump). */
export function genlRequest(
  sock: NetlinkSocket,
  family: GenlFamily,
  cmd: number,
  flags: number,
  familyHeader: Uint8Array,
  attrs: Uint8Array,
  what: string,
): GenlMessage[] {
  return sock
    .request(family.id, flags, genlPayload(cmd, family.version, familyHeader, attrs), what)
    .map((m) => parseGenl(m.payload));
}

export const isDump = (flags: number): boolean => (flags & NLM_F_DUMP) === NLM_F_DUMP;
