#!/usr/bin/env node
/**
 * Fuzz injector for the userspace datapath tests: sends N malformed frames out of an interface with AF_PACKET and
 * PACKET_VNET_HDR (run it inside the test host's namespace with `ip netns exec`). Frames are drawn from a seeded
 * PRNG across categories: runts, truncated VLAN/IPv4/IPv6/TCP/UDP headers, random virtio-net headers and 64 KB
 * frames. Each is sent on its own, so the kernel's verdict per frame is known; prints a JSON summary with how many
 * the kernel accepted and how many of those the datapath must count as malformed.
 * usage: inject-frames.js IFNAME COUNT SEED
 */
'use strict';
const fs = require('fs');
const path = require('path');
const { native } = require(path.join(__dirname, '..', '..', 'dist', 'native'));
const { frameMalformed, vnetHeaderValid } = require(
  path.join(__dirname, '..', '..', 'dist', 'datapath', 'userspace', 'packet'),
);

const [ifname, countText, seedText] = process.argv.slice(2);
const count = Number(countText);
let seed = Number(seedText) >>> 0;
const rnd = () => {
  // mulberry32
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const int = (n) => Math.floor(rnd() * n);

const addon = native();
const ifindex = Number(fs.readFileSync(`/sys/class/net/${ifname}/ifindex`, 'utf8'));
const fd = addon.packetOpen(ifindex, { vnetHdr: true, promisc: false, bufBytes: 4 << 20 });
const SLOT = 65536 + 64;
const buf = Buffer.alloc(SLOT);
const offs = new Uint32Array([0]);
const lens = new Uint32Array(1);
const info = new Int32Array(4);

const SRC = [0x02, 0x00, 0x5e, 0x10, 0x00, 0x01];
const DST = [0x02, 0x00, 0x5e, 0x10, 0x00, 0x02];
function eth(type) {
  buf.set(DST, 10);
  buf.set(SRC, 16);
  buf.writeUInt16BE(type, 22);
  return 24;
}
function ipv4(p, proto, totalLen, ihl = 5) {
  buf[p] = 0x40 | ihl;
  buf[p + 1] = 0;
  buf.writeUInt16BE(totalLen, p + 2);
  buf.writeUInt32BE(0, p + 4);
  buf[p + 8] = 64;
  buf[p + 9] = proto;
  buf.writeUInt16BE(0, p + 10);
  buf.writeUInt32BE(0xc6125001, p + 12); // 198.18.80.1
  buf.writeUInt32BE(0xc6125002, p + 16);
  return p + ihl * 4;
}
const fillRandom = (from, to) => {
  for (let i = from; i < to; i++) buf[i] = int(256);
};

/** Writes one frame (virtio_net_hdr at 0) and returns [category, total length]. */
function makeFrame() {
  buf.fill(0, 0, 10);
  const kind = int(8);
  switch (kind) {
    case 0: {
      // runt: shorter than an Ethernet header (the kernel refuses them at the sender), or a bare header
      const n = int(2) ? 1 + int(13) : 14;
      fillRandom(10, 10 + n);
      return ['runt', 10 + n];
    }
    case 1: {
      // a whole outer 802.1Q tag (the kernel drops frames whose first tag is cut, before any tap sees
      // them) with a cut-off inner tag or IPv4 header behind it
      const p = eth(0x8100);
      buf.writeUInt16BE(10 + int(100), p);
      const inner = int(2) ? 0x8100 : 0x0800;
      buf.writeUInt16BE(inner, p + 2);
      const n = inner === 0x8100 ? int(4) : int(20);
      fillRandom(p + 4, p + 4 + n);
      return ['vlan', p + 4 + n];
    }
    case 2: {
      // IPv4 header cut off, or a header length/total length beyond the frame
      const p = eth(0x0800);
      const sub = int(3);
      if (sub === 0) {
        const n = int(20);
        fillRandom(p, p + n);
        return ['ipv4', p + n];
      }
      if (sub === 1) {
        ipv4(p, 17, 60, 15);
        return ['ipv4', p + 20 + int(40)];
      }
      ipv4(p, 17, 1400);
      return ['ipv4', p + 20 + 8 + int(100)];
    }
    case 3: {
      // TCP header cut off (or a data offset beyond the frame)
      const p = eth(0x0800);
      const n = int(2) ? int(20) : 20 + int(20);
      const l4 = ipv4(p, 6, 20 + n);
      fillRandom(l4, l4 + n);
      if (n >= 20) buf[l4 + 12] = 0xf0;
      return ['tcp', l4 + n];
    }
    case 4: {
      // UDP header cut off
      const p = eth(0x0800);
      const n = int(8);
      const l4 = ipv4(p, 17, 20 + n);
      fillRandom(l4, l4 + n);
      return ['udp', l4 + n];
    }
    case 5: {
      // IPv6 header cut off, or a payload length beyond the frame
      const p = eth(0x86dd);
      if (int(2)) {
        const n = int(40);
        fillRandom(p, p + n);
        buf[p] = 0x60;
        return ['ipv6', p + n];
      }
      fillRandom(p, p + 40);
      buf[p] = 0x60;
      buf.writeUInt16BE(1000, p + 4);
      buf[p + 6] = 59;
      return ['ipv6', p + 40 + int(100)];
    }
    case 6: {
      // odd virtio-net headers the kernel still accepts: checksum requests at arbitrary offsets
      const p = eth(0x0800);
      const n = 28 + int(1400);
      const l4 = ipv4(p, 17, n);
      fillRandom(l4, p + n);
      const dataLen = p + n - 10;
      const start = 14 + int(dataLen - 16);
      buf[0] = int(4); // none, NEEDS_CSUM, DATA_VALID or both
      buf.writeUInt16LE(start, 6);
      buf.writeUInt16LE(2 * int((dataLen - start - 2) / 2 + 1), 8);
      return ['vnet', p + n];
    }
    default: {
      // 64 KB GSO super-frames: TCP/IPv4 with TSO requested; half claim more bytes than they carry
      const p = eth(0x0800);
      const n = 60000 + int(5000);
      const short = int(2) === 1;
      const l4 = ipv4(p, 6, short ? 65000 : n);
      fillRandom(l4, p + n);
      buf[l4 + 12] = 0x50;
      buf[0] = 1; // NEEDS_CSUM
      buf[1] = 1; // GSO_TCPV4
      buf.writeUInt16LE(54, 2);
      buf.writeUInt16LE(1448, 4);
      buf.writeUInt16LE(34, 6);
      buf.writeUInt16LE(16, 8);
      return ['big', p + n];
    }
  }
}

const summary = { attempted: 0, sent: 0, rejected: 0, dropped: 0, malformedSent: 0, goodSent: 0, byCategory: {} };
for (let i = 0; i < count; i++) {
  const [cat, len] = makeFrame();
  lens[0] = len;
  const sent = addon.sendBatch(fd, 1, buf, offs, lens, 0, 1, info);
  summary.attempted++;
  const c = (summary.byCategory[cat] ??= { attempted: 0, sent: 0 });
  c.attempted++;
  summary.rejected += info[1];
  summary.dropped += info[0];
  if (sent === 1) {
    summary.sent++;
    c.sent++;
    // What the switch sees: the same bytes behind a header the kernel writes; judge the bytes with a clean header.
    const data = Buffer.concat([Buffer.alloc(10), buf.subarray(10, len)]);
    if (!vnetHeaderValid(data, 0, data.length) || frameMalformed(data, 0, data.length)) summary.malformedSent++;
    else summary.goodSent++;
  }
  // Pace the big frames so the switch's socket buffer (4 MB) is not what drops them.
  if ((len > 9000 && i % 4 === 0) || i % 512 === 511) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
}
addon.closeFd(fd);
process.stdout.write(JSON.stringify(summary) + '\n');
