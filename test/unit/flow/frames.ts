/** A small frame builder for tests: packet description -> Ethernet bytes. */
export interface PacketSpec {
  src: number;
  dst: number;
  vlans?: Array<{ tpid: number; tci: number }>;
  ethType: number;
  ipv4?: { src: number; dst: number; proto: number; tos: number; ttl: number; frag: number };
  ipv6?: {
    src: Uint8Array;
    dst: Uint8Array;
    proto: number;
    tclass: number;
    hlimit: number;
    label: number;
    frag: number;
  };
  arp?: { op: number; sha: number; sip: number; tha: number; tip: number };
  l4?: { src: number; dst: number; flags?: number };
  icmp?: { type: number; code: number; ndTarget?: Uint8Array; ll?: number };
  payload?: number;
}

function mac(out: number[], m: number): void {
  for (let b = 5; b >= 0; b--) out.push(Math.floor(m / 2 ** (8 * b)) & 0xff);
}
const be16 = (o: number[], v: number): void => {
  o.push((v >> 8) & 0xff, v & 0xff);
};
const be32 = (o: number[], v: number): void => {
  o.push((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
};

export function buildFrame(p: PacketSpec): Uint8Array {
  const o: number[] = [];
  mac(o, p.dst);
  mac(o, p.src);
  for (const v of p.vlans ?? []) {
    be16(o, v.tpid);
    be16(o, v.tci & ~0x1000);
  }
  be16(o, p.ethType);
  const l4 = (proto: number): void => {
    if (proto === 6 && p.l4) {
      be16(o, p.l4.src);
      be16(o, p.l4.dst);
      be32(o, 1);
      be32(o, 0);
      be16(o, 0x5000 | (p.l4.flags ?? 0));
      be16(o, 1024);
      be32(o, 0);
    } else if ((proto === 17 || proto === 132) && p.l4) {
      be16(o, p.l4.src);
      be16(o, p.l4.dst);
      be32(o, 0);
      if (proto === 132) be32(o, 0);
    } else if ((proto === 1 || proto === 58) && p.icmp) {
      o.push(p.icmp.type, p.icmp.code);
      be16(o, 0);
      be32(o, 0);
      if (p.icmp.ndTarget) {
        o.push(...p.icmp.ndTarget);
        if (p.icmp.ll !== undefined) {
          o.push(p.icmp.type === 135 ? 1 : 2, 1);
          mac(o, p.icmp.ll);
        }
      }
    }
  };
  if (p.ipv4) {
    const ip = p.ipv4;
    o.push(0x45, ip.tos);
    be16(o, 60);
    be16(o, 1);
    be16(o, ip.frag === 2 ? 0x0010 : ip.frag === 1 ? 0x2000 : 0);
    o.push(ip.ttl, ip.proto);
    be16(o, 0);
    be32(o, ip.src);
    be32(o, ip.dst);
    if (ip.frag !== 2) l4(ip.proto);
  } else if (p.ipv6) {
    const ip = p.ipv6;
    be32(o, (6 << 28) | (ip.tclass << 20) | ip.label);
    be16(o, 40);
    o.push(ip.frag ? 44 : ip.proto, ip.hlimit, ...ip.src, ...ip.dst);
    if (ip.frag) {
      o.push(ip.proto, 0);
      be16(o, ip.frag === 2 ? 0x0008 : 0x0001);
      be32(o, 7);
    }
    if (ip.frag !== 2) l4(ip.proto);
  } else if (p.arp) {
    be16(o, 1);
    be16(o, 0x0800);
    o.push(6, 4);
    be16(o, p.arp.op);
    mac(o, p.arp.sha);
    be32(o, p.arp.sip);
    mac(o, p.arp.tha);
    be32(o, p.arp.tip);
  }
  for (let i = 0; i < (p.payload ?? 0); i++) o.push(i & 0xff);
  return Uint8Array.from(o);
}
