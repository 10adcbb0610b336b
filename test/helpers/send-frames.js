#!/usr/bin/env node
/**
 * Sends Ethernet frames out of an interface with AF_PACKET, through the project's addon (run it inside a test
 * host's namespace with `ip netns exec`). Two modes:
 *   send-frames.js IFNAME frames HEX...                  each HEX is one whole frame (802.1Q tags included)
 *   send-frames.js IFNAME random-src COUNT DSTMAC SEED [RATE]
 *                                        COUNT frames to DSTMAC, each from a new random unicast source MAC
 *                                        (EtherType 0x88b5, local experimental), at most RATE frames per second
 * Prints {"sent": N} as JSON.
 */
'use strict';
const fs = require('fs');
const path = require('path');
const { native } = require(path.join(__dirname, '..', '..', 'dist', 'native'));

const [ifname, mode, ...args] = process.argv.slice(2);
const addon = native();
const ifindex = Number(fs.readFileSync(`/sys/class/net/${ifname}/ifindex`, 'utf8'));
const fd = addon.packetOpen(ifindex, { vnetHdr: true, promisc: false, bufBytes: 4 << 20 });
const VNET = 10;
const SLOT = 2048;
const BATCH = 64;
const buf = Buffer.alloc(BATCH * SLOT);
const offs = new Uint32Array(BATCH).map((_, i) => i * SLOT);
const lens = new Uint32Array(BATCH);
const info = new Int32Array(4);

/** Sends the first n prepared slots, retrying what the socket could not take yet. */
function flush(n) {
  let first = 0;
  while (first < n) {
    const sent = addon.sendBatch(fd, 1, buf, offs, lens, first, n - first, info);
    if (info[1] !== 0) throw new Error(`the kernel rejected a frame: errno ${info[2]}`);
    first += sent;
    if (sent === 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
  }
  return n;
}

function put(slot, frame) {
  buf.fill(0, slot * SLOT, slot * SLOT + VNET);
  frame.copy(buf, slot * SLOT + VNET);
  lens[slot] = VNET + frame.length;
}

let total = 0;
if (mode === 'frames') {
  args.forEach((hex, i) => put(i, Buffer.from(hex, 'hex')));
  total = flush(args.length);
} else if (mode === 'random-src') {
  const [countText, dstText, seedText, rateText] = args;
  const rate = Number(rateText ?? 0);
  const start = process.hrtime.bigint();
  const pace = (sent) => {
    if (!rate) return;
    const due = Number(start) / 1e6 + (sent / rate) * 1000;
    const wait = due - Number(process.hrtime.bigint()) / 1e6;
    if (wait > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, wait);
  };
  const count = Number(countText);
  const dst = Buffer.from(dstText.replace(/:/g, ''), 'hex');
  let seed = Number(seedText) >>> 0;
  const frame = Buffer.alloc(60);
  dst.copy(frame, 0);
  frame.writeUInt16BE(0x88b5, 12);
  let n = 0;
  for (let i = 0; i < count; i++) {
    // xorshift32: a new source each frame; locally administered unicast (x2:..).
    seed ^= seed << 13;
    seed >>>= 0;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    seed >>>= 0;
    frame[6] = 0x06;
    frame[7] = (i >>> 16) & 0xff;
    frame[8] = (i >>> 8) & 0xff;
    frame[9] = i & 0xff;
    frame.writeUInt16BE(seed & 0xffff, 10);
    put(n++, frame);
    if (n === BATCH) ((total += flush(n)), (n = 0), pace(total));
  }
  total += flush(n);
} else {
  throw new Error('usage: send-frames.js IFNAME frames HEX... | random-src COUNT DSTMAC SEED');
}
addon.closeFd(fd);
process.stdout.write(JSON.stringify({ sent: total }) + '\n');
