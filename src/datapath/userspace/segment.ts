/**
 * TCP segmentation in software (pure, over bytes), for a GSO super-frame that must leave on a wire the
 * virtio-net header does not travel on (a tunnel port's UDP payload): the frame is cut into gso_size segments,
 * each with its own IP total length (IPv4: identification + 1 per segment and header checksum) and TCP sequence
 * number, FIN and PSH on the last segment only, CWR on the first only, and full TCP checksums, as the kernel's
 * tcp_gso_segment does. IPv4 and IPv6 (without extension headers) TCP only; UDP fragmentation offload is not cut.
 */
import {
  ETH_P_8021AD,
  ETH_P_8021Q,
  inetChecksum,
  IPPROTO_TCP,
  VNET_HDR_LEN,
  VIRTIO_NET_HDR_GSO_ECN,
  VIRTIO_NET_HDR_GSO_TCPV4,
  VIRTIO_NET_HDR_GSO_TCPV6,
} from './packet';

const TCP_FIN = 0x01;
const TCP_PSH = 0x08;
const TCP_CWR = 0x80;
/** virtio_net_hdr fields (little-endian): gso_type at 1, gso_size at 4, csum_start at 6. */
const GSO_TYPE = 1;
const GSO_SIZE = 4;

const rd16 = (b: Uint8Array, i: number) => (b[i] << 8) | b[i + 1];
const wr16 = (b: Uint8Array, i: number, v: number) => {
  b[i] = (v >>> 8) & 0xff;
  b[i + 1] = v & 0xff;
};
const rd32 = (b: Uint8Array, i: number) => ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
const wr32 = (b: Uint8Array, i: number, v: number) => {
  wr16(b, i, v >>> 16);
  wr16(b, i + 2, v & 0xffff);
};

/** Sum of the 16-bit words of b[start, end) (not folded, not complemented): a pseudo-header's part. */
function wordSum(b: Uint8Array, start: number, end: number): number {
  let s = 0;
  for (let i = start; i + 1 < end; i += 2) s += rd16(b, i);
  return s;
}

/** Where the IP header starts in an Ethernet frame (after up to two VLAN tags), and its EtherType. */
function l3Of(f: Uint8Array): number {
  let p = 12;
  for (let tags = 0; tags < 2 && (rd16(f, p) === ETH_P_8021Q || rd16(f, p) === ETH_P_8021AD); tags++) p += 4;
  return p + 2;
}

/**
 * The segments of the TCP GSO super-frame at buf[off, off+len) (virtio-net header first), each an Ethernet frame
 * without a virtio-net header; undefined when it is no TCP GSO frame this cuts (UDP, IPv6 extension headers).
 */
export function segmentTcp(buf: Uint8Array, off: number, len: number): Uint8Array[] | undefined {
  const gso = buf[off + GSO_TYPE] & ~VIRTIO_NET_HDR_GSO_ECN;
  const v4 = gso === VIRTIO_NET_HDR_GSO_TCPV4;
  if (!v4 && gso !== VIRTIO_NET_HDR_GSO_TCPV6) return undefined;
  const mss = buf[off + GSO_SIZE] | (buf[off + GSO_SIZE + 1] << 8);
  const f = buf.subarray(off + VNET_HDR_LEN, off + len);
  const l3 = l3Of(f);
  const l4 = v4 ? l3 + (f[l3] & 0x0f) * 4 : l3 + 40;
  if (mss === 0 || l4 + 20 > f.length || f[v4 ? l3 + 9 : l3 + 6] !== IPPROTO_TCP) return undefined;
  const hdrLen = l4 + (f[l4 + 12] >> 4) * 4;
  if (hdrLen > f.length) return undefined;
  const seq0 = rd32(f, l4 + 4);
  const id0 = v4 ? rd16(f, l3 + 4) : 0;
  const flags = f[l4 + 13];
  const out: Uint8Array[] = [];
  for (let at = hdrLen, i = 0; at < f.length || i === 0; at += mss, i++) {
    const chunk = Math.min(mss, f.length - at);
    const last = at + chunk >= f.length;
    const s = new Uint8Array(hdrLen + chunk);
    s.set(f.subarray(0, hdrLen));
    s.set(f.subarray(at, at + chunk), hdrLen);
    wr32(s, l4 + 4, (seq0 + i * mss) >>> 0);
    s[l4 + 13] = flags & ~(last ? 0 : TCP_FIN | TCP_PSH) & ~(i === 0 ? 0 : TCP_CWR);
    const tcpLen = s.length - l4;
    let pseudo: number;
    if (v4) {
      wr16(s, l3 + 2, s.length - l3);
      wr16(s, l3 + 4, (id0 + i) & 0xffff);
      wr16(s, l3 + 10, 0);
      wr16(s, l3 + 10, inetChecksum(s, l3, l4));
      pseudo = wordSum(s, l3 + 12, l3 + 20) + IPPROTO_TCP + tcpLen;
    } else {
      wr16(s, l3 + 4, s.length - l3 - 40);
      pseudo = wordSum(s, l3 + 8, l3 + 40) + IPPROTO_TCP + tcpLen;
    }
    wr16(s, l4 + 16, 0);
    wr16(s, l4 + 16, inetChecksum(s, l4, s.length, pseudo));
    out.push(s);
    if (last) break;
  }
  return out;
}
