/**
 * Packet I/O of the native addon against the real kernel, as root: TAP devices (moved into a namespace after open),
 * AF_PACKET sockets on veth ends, batched receive/send into Buffer slots, uv_poll readiness, VLAN tags put back from
 * auxdata, virtio_net_hdr carried end to end (a 1 MB TCP exchange through a relay written with the batch calls),
 * error accounting and argument validation. Only 198.18.0.0/15 addresses; every name starts with the run prefix.
 */
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as path from 'path';
import { cleanupPrefix, isRoot, linkIndex, REPO, runPrefix, sh } from '../helpers/sys';
import { IO_KIND_PACKET, IO_KIND_TAP, NativeAddon, NativeError, PollHandle, native } from '../../src/native';

/** The part of `ip -j -d link show` these tests read. */
interface IpLinkJson {
  linkinfo: { info_kind: string; info_data: Record<string, unknown> };
  flags: string[];
  promiscuity: number;
}
const P = runPrefix();
const ADDON = path.join(REPO, 'build', 'Release', 'netmgr_native.node');
const VNET = 10;
const EINVAL = 22;
const ENETDOWN = 100;

const describeRoot = isRoot() ? describe : describe.skip;

// ---- resources, released in afterAll whatever happened ----
const fds = new Set<number>();
const polls = new Set<PollHandle>();
const children = new Set<ChildProcess>();
let nat: NativeAddon;

function track(fd: number): number {
  fds.add(fd);
  return fd;
}
function closeTracked(fd: number): void {
  fds.delete(fd);
  nat.closeFd(fd);
}
function startPoll(fd: number, cb: () => void): PollHandle {
  const h = nat.pollStart(fd, cb);
  polls.add(h);
  return h;
}
function stopPoll(h: PollHandle): void {
  polls.delete(h);
  nat.pollStop(h);
}

const ns = (n: string) => `${P}-${n}`;
const ipns = (n: string, ...args: string[]) => sh('ip', ['-n', ns(n), ...args]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, pred: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

function rxPackets(n: string, dev: string): number {
  const [l] = JSON.parse(ipns(n, '-j', '-s', 'link', 'show', 'dev', dev)) as { stats64: { rx: { packets: number } } }[];
  return l.stats64.rx.packets;
}
function macOf(n: string | null, dev: string): Buffer {
  const [l] = JSON.parse(sh('ip', [...(n ? ['-n', ns(n)] : []), '-j', 'link', 'show', 'dev', dev])) as {
    address: string;
  }[];
  return mac(l.address);
}

// ---- frames built by hand ----
const mac = (s: string) => Buffer.from(s.split(':').map((x) => parseInt(x, 16)));
const ip4 = (s: string) => Buffer.from(s.split('.').map(Number));
const BCAST = mac('ff:ff:ff:ff:ff:ff');

function csum16(b: Buffer): number {
  let s = 0;
  for (let i = 0; i + 1 < b.length; i += 2) s += b.readUInt16BE(i);
  if (b.length & 1) s += b[b.length - 1] << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

function eth(dst: Buffer, src: Buffer, type: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(14);
  dst.copy(h, 0);
  src.copy(h, 6);
  h.writeUInt16BE(type, 12);
  return Buffer.concat([h, payload]);
}

function arp(op: 1 | 2, sha: Buffer, spa: string, tha: Buffer, tpa: string): Buffer {
  const a = Buffer.alloc(28);
  a.writeUInt16BE(1, 0); // Ethernet
  a.writeUInt16BE(0x0800, 2);
  a[4] = 6;
  a[5] = 4;
  a.writeUInt16BE(op, 6);
  sha.copy(a, 8);
  ip4(spa).copy(a, 14);
  tha.copy(a, 18);
  ip4(tpa).copy(a, 24);
  return eth(op === 1 ? BCAST : tha, sha, 0x0806, a);
}
const arpRequest = (sha: Buffer, spa: string, tpa: string) => arp(1, sha, spa, Buffer.alloc(6), tpa);

function icmpEcho(dst: Buffer, src: Buffer, sip: string, dip: string, id: number, seq: number, data: Buffer): Buffer {
  const icmp = Buffer.concat([Buffer.alloc(8), data]);
  icmp[0] = 8;
  icmp.writeUInt16BE(id, 4);
  icmp.writeUInt16BE(seq, 6);
  icmp.writeUInt16BE(csum16(icmp), 2);
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + icmp.length, 2);
  ip[8] = 64;
  ip[9] = 1;
  ip4(sip).copy(ip, 12);
  ip4(dip).copy(ip, 16);
  ip.writeUInt16BE(csum16(ip), 10);
  return eth(dst, src, 0x0800, Buffer.concat([ip, icmp]));
}

/** A 10-byte virtio_net_hdr: flags, gso_type, hdr_len, gso_size, csum_start, csum_offset (little endian). */
function vnetHdr(
  f: Partial<{
    flags: number;
    gsoType: number;
    hdrLen: number;
    gsoSize: number;
    csumStart: number;
    csumOffset: number;
  }> = {},
): Buffer {
  const h = Buffer.alloc(VNET);
  h[0] = f.flags ?? 0;
  h[1] = f.gsoType ?? 0;
  h.writeUInt16LE(f.hdrLen ?? 0, 2);
  h.writeUInt16LE(f.gsoSize ?? 0, 4);
  h.writeUInt16LE(f.csumStart ?? 0, 6);
  h.writeUInt16LE(f.csumOffset ?? 0, 8);
  return h;
}

/** Lays frames out back to back in one Buffer, as sendBatch takes them. */
function pack(frames: Buffer[], extra = 0): { buf: Buffer; offs: Uint32Array; lens: Uint32Array } {
  const buf = Buffer.alloc(frames.reduce((s, f) => s + f.length, 0) + extra);
  const offs = new Uint32Array(frames.length);
  const lens = new Uint32Array(frames.length);
  let o = 0;
  frames.forEach((f, i) => {
    f.copy(buf, o);
    offs[i] = o;
    lens[i] = f.length;
    o += f.length;
  });
  return { buf, offs, lens };
}

/** A port that drains its fd on every readiness event and keeps copies of what it read. */
class Port {
  readonly frames: Buffer[] = [];
  readonly slots: { slot: number; off: number; len: number }[] = [];
  readonly errors: number[] = [];
  events = 0;
  truncated = 0;
  private handle?: PollHandle;
  readonly buf: Buffer;
  private readonly offs: Uint32Array;
  private readonly lens: Uint32Array;
  private readonly info = new Int32Array(3);

  constructor(
    readonly fd: number,
    readonly kind: number,
    readonly vnet: boolean,
    readonly slot = 2048,
    readonly max = 64,
  ) {
    this.buf = Buffer.alloc(slot * max);
    this.offs = new Uint32Array(max);
    this.lens = new Uint32Array(max);
  }
  drain(): number {
    let total = 0;
    for (;;) {
      const n = nat.recvBatch(this.fd, this.kind, this.buf, this.slot, this.max, this.offs, this.lens, this.info);
      this.truncated += this.info[0];
      if (this.info[1]) this.errors.push(this.info[1]);
      for (let i = 0; i < n; i++) {
        this.slots.push({ slot: i, off: this.offs[i], len: this.lens[i] });
        this.frames.push(Buffer.from(this.buf.subarray(this.offs[i], this.offs[i] + this.lens[i])));
      }
      total += n;
      if (n < this.max) return total;
    }
  }
  start(): this {
    this.handle = startPoll(this.fd, () => {
      this.events++;
      this.drain();
    });
    return this;
  }
  stop(): void {
    if (this.handle) stopPoll(this.handle);
    this.handle = undefined;
  }
  /** Ethernet frames without the vnet header. */
  eth(): Buffer[] {
    return this.frames.map((f) => (this.vnet ? f.subarray(VNET) : f));
  }
  send(frames: Buffer[]): { sent: number; info: number[] } {
    const { buf, offs, lens } = pack(frames);
    const info = new Int32Array([7, 7, 7]);
    const sent = nat.sendBatch(this.fd, this.kind, buf, offs, lens, 0, frames.length, info);
    return { sent, info: [...info] };
  }
}

/**
 * Sends frames from inside namespace n through an AF_PACKET socket on dev, with the addon itself in a child node
 * (packetOpen has no namespace argument). Returns what sendBatch reported there.
 */
function injectFrom(n: string, dev: string, frames: Buffer[], vnet: boolean): { sent: number; info: number[] } {
  const script = `
    const a = require(${JSON.stringify(ADDON)});
    const fd = a.packetOpen(${linkIndex(ns(n), dev)}, { vnetHdr: ${vnet}, promisc: false, bufBytes: 0 });
    const frames = ${JSON.stringify(frames.map((f) => f.toString('hex')))}.map((h) => Buffer.from(h, 'hex'));
    const buf = Buffer.concat(frames), offs = new Uint32Array(frames.length), lens = new Uint32Array(frames.length);
    let o = 0;
    frames.forEach((f, i) => { offs[i] = o; lens[i] = f.length; o += f.length; });
    const info = new Int32Array(3);
    const sent = a.sendBatch(fd, ${IO_KIND_PACKET}, buf, offs, lens, 0, frames.length, info);
    a.closeFd(fd);
    console.log(JSON.stringify({ sent, info: [...info] }));`;
  return JSON.parse(sh('ip', ['netns', 'exec', ns(n), process.execPath, '-e', script]));
}

/** The addon's errors come from Node's main realm, not jest's sandbox: compare by name, not instanceof. */
function throwsKind(f: () => unknown, kind: 'TypeError' | 'RangeError'): void {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err).toBeDefined();
  expect((err as Error).name).toBe(kind);
}

function udp4(sip: string, dip: string, dport: number, payload: Buffer): Buffer {
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(40000, 0);
  udp.writeUInt16BE(dport, 2);
  udp.writeUInt16BE(8 + payload.length, 4);
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(28 + payload.length, 2);
  ip[8] = 64;
  ip[9] = 17;
  ip4(sip).copy(ip, 12);
  ip4(dip).copy(ip, 16);
  ip.writeUInt16BE(csum16(ip), 10);
  return Buffer.concat([ip, udp, payload]);
}

/** dst, src, then each [TPID, TCI] tag, then the EtherType. */
function tagged(dst: Buffer, src: Buffer, tags: [number, number][], type: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(14 + 4 * tags.length);
  dst.copy(h, 0);
  src.copy(h, 6);
  tags.forEach(([tpid, tci], i) => {
    h.writeUInt16BE(tpid, 12 + 4 * i);
    h.writeUInt16BE(tci, 14 + 4 * i);
  });
  h.writeUInt16BE(type, 12 + 4 * tags.length);
  return Buffer.concat([h, payload]);
}

const isArp = (f: Buffer, op: number, spa: string, tpa: string) =>
  f.length >= 42 &&
  f.readUInt16BE(12) === 0x0806 &&
  f.readUInt16BE(20) === op &&
  f.subarray(28, 32).equals(ip4(spa)) &&
  f.subarray(38, 42).equals(ip4(tpa));

describeRoot('packet I/O (root, real TAP and AF_PACKET)', () => {
  beforeAll(() => {
    nat = native();
    // n2: one veth end in a namespace, the other (pa) in the root namespace for AF_PACKET. pa gets no IPv6
    // address, so the only frames the root namespace sends on it are the test's own.
    sh('ip', ['netns', 'add', ns('n2')]);
    sh('ip', ['link', 'add', ns('pa'), 'type', 'veth', 'peer', 'name', ns('pb')]);
    sh('ip', ['link', 'set', ns('pb'), 'netns', ns('n2')]);
    sh('ip', ['link', 'set', ns('pa'), 'addrgenmode', 'none']);
    sh('ip', ['link', 'set', ns('pa'), 'up']);
    ipns('n2', 'link', 'set', 'lo', 'up');
    ipns('n2', 'addr', 'add', '198.18.2.1/24', 'dev', ns('pb'));
    ipns('n2', 'link', 'set', ns('pb'), 'up');
  });

  afterAll(() => {
    for (const h of polls) {
      try {
        nat.pollStop(h);
      } catch {
        /* best effort */
      }
    }
    for (const fd of fds) {
      try {
        nat.closeFd(fd);
      } catch {
        /* best effort */
      }
    }
    for (const c of children) c.kill('SIGKILL');
    cleanupPrefix(P);
  });

  test('tapOpen: vnet-header TAP keeps working after a move to another namespace (ARP and ICMP answered)', async () => {
    const tap = nat.tapOpen(ns('tap'), true);
    track(tap.fd);
    expect(tap.name).toBe(ns('tap'));
    expect(tap.ifindex).toBe(linkIndex(null, tap.name));
    const [d] = JSON.parse(sh('ip', ['-j', '-d', 'link', 'show', 'dev', tap.name])) as IpLinkJson[];
    expect(d.linkinfo).toEqual({
      info_kind: 'tun',
      info_data: expect.objectContaining({ type: 'tap', pi: false, vnet_hdr: true, persist: false }),
    });
    expect(d.flags).not.toContain('UP');

    // A kernel-named TAP without vnet header disappears with its fd.
    const anon = nat.tapOpen('', false);
    track(anon.fd);
    expect(anon.name).toMatch(/^tap\d+$/);
    const [ad] = JSON.parse(sh('ip', ['-j', '-d', 'link', 'show', 'dev', anon.name])) as IpLinkJson[];
    expect(ad.linkinfo.info_data).toMatchObject({ type: 'tap', vnet_hdr: false });
    closeTracked(anon.fd);
    expect(spawnSync('ip', ['link', 'show', 'dev', anon.name]).status).not.toBe(0);

    sh('ip', ['netns', 'add', ns('n1')]);
    sh('ip', ['link', 'set', tap.name, 'netns', ns('n1')]);
    ipns('n1', 'addr', 'add', '198.18.1.1/24', 'dev', tap.name);
    ipns('n1', 'link', 'set', tap.name, 'up');
    const tapMac = macOf('n1', tap.name);
    const me = mac('02:00:00:00:01:02');

    const port = new Port(tap.fd, IO_KIND_TAP, true).start();
    const r = port.send([Buffer.concat([vnetHdr(), arpRequest(me, '198.18.1.2', '198.18.1.1')])]);
    expect(r).toEqual({ sent: 1, info: [0, 0, 0] });
    await waitFor('the ARP reply through the moved TAP', () =>
      port.eth().some((f) => isArp(f, 2, '198.18.1.1', '198.18.1.2')),
    );
    const i = port.eth().findIndex((f) => isArp(f, 2, '198.18.1.1', '198.18.1.2'));
    const reply = port.frames[i];
    expect(reply.subarray(0, VNET)).toEqual(Buffer.alloc(VNET)); // a plain frame: no offload to finish
    expect(reply.subarray(VNET, VNET + 6)).toEqual(me);
    expect(reply.subarray(VNET + 6, VNET + 12)).toEqual(tapMac);
    expect(reply.subarray(VNET + 22, VNET + 28)).toEqual(tapMac); // sender hardware address
    expect(port.slots[i].off).toBe(port.slots[i].slot * port.slot); // TAP frames start at the slot base
    expect(port.events).toBeGreaterThan(0);

    // The ARP request taught the namespace our MAC, so an echo request is answered at once.
    const data = crypto.randomBytes(56);
    port.send([Buffer.concat([vnetHdr(), icmpEcho(tapMac, me, '198.18.1.2', '198.18.1.1', 0x4242, 7, data)])]);
    const isEchoReply = (f: Buffer) =>
      f.length >= 42 && f.readUInt16BE(12) === 0x0800 && f[23] === 1 && f[34] === 0 && f.readUInt16BE(38) === 0x4242;
    await waitFor('the ICMP echo reply', () => port.eth().some(isEchoReply));
    const echo = port.eth().find(isEchoReply)!;
    expect(echo.subarray(26, 30)).toEqual(ip4('198.18.1.1'));
    expect(echo.readUInt16BE(40)).toBe(7);
    expect(echo.subarray(42, 42 + 56)).toEqual(data);
    expect(csum16(echo.subarray(14, 34))).toBe(0);
    expect(rxPackets('n1', tap.name)).toBeGreaterThanOrEqual(2);

    // A bad virtio_net_hdr (hdr_len beyond the frame) is rejected alone; its neighbours are written.
    const good = Buffer.concat([vnetHdr(), arpRequest(me, '198.18.1.2', '198.18.1.1')]);
    const bad = Buffer.concat([
      vnetHdr({ gsoType: 1, hdrLen: 2000, gsoSize: 1000 }),
      arpRequest(me, '198.18.1.2', '198.18.1.1'),
    ]);
    const before = rxPackets('n1', tap.name);
    expect(port.send([good, bad, good])).toEqual({ sent: 2, info: [0, 1, EINVAL] });
    await waitFor('two more frames received by the namespace', () => rxPackets('n1', tap.name) >= before + 2);
    port.stop();
  });

  test('packetOpen: readiness and receive of frames from a namespace, send into it, own frames not looped back', async () => {
    const fd = track(nat.packetOpen(linkIndex(null, ns('pa')), { vnetHdr: false, promisc: true, bufBytes: 1 << 20 }));
    const [d] = JSON.parse(sh('ip', ['-j', '-d', 'link', 'show', 'dev', ns('pa')])) as IpLinkJson[];
    expect(d.promiscuity).toBe(1);
    const port = new Port(fd, IO_KIND_PACKET, false).start();
    portA = port;

    const ping = spawn('ip', ['netns', 'exec', ns('n2'), 'ping', '-c', '1', '-W', '1', '198.18.2.9'], {
      stdio: 'ignore',
    });
    children.add(ping);
    await waitFor('an ARP request from the namespace', () =>
      port.eth().some((f) => isArp(f, 1, '198.18.2.1', '198.18.2.9')),
    );
    ping.kill();
    expect(port.events).toBeGreaterThan(0);
    const i = port.eth().findIndex((f) => isArp(f, 1, '198.18.2.1', '198.18.2.9'));
    expect(port.frames[i].length).toBe(42);
    expect(port.slots[i].off).toBe(port.slots[i].slot * port.slot + 4); // untagged: 4 bytes of headroom

    // One batch: an ARP request the namespace answers and five frames of a local experimental EtherType.
    const me = mac('02:00:00:00:02:02');
    const marker = (k: number) => eth(BCAST, me, 0x88b5, Buffer.alloc(46, k));
    const before = rxPackets('n2', ns('pb'));
    const r = port.send([arpRequest(me, '198.18.2.2', '198.18.2.1'), ...[1, 2, 3, 4, 5].map(marker)]);
    expect(r).toEqual({ sent: 6, info: [0, 0, 0] });
    await waitFor('the ARP reply', () => port.eth().some((f) => isArp(f, 2, '198.18.2.1', '198.18.2.2')));
    expect(rxPackets('n2', ns('pb')) - before).toBe(6);
    // PACKET_IGNORE_OUTGOING: the socket never reads back what it sent.
    expect(port.eth().some((f) => f.readUInt16BE(12) === 0x88b5)).toBe(false);
  });

  test('recvBatch skips frames larger than a slot and compacts the rest into slots 0..n-1', () => {
    // A second socket on the same port, with vnet header and default buffers, that nobody drains.
    const fd = track(nat.packetOpen(linkIndex(null, ns('pa')), { vnetHdr: true, promisc: false, bufBytes: 0 }));
    const src = mac('02:00:00:00:03:02');
    const marker = (k: number, size: number) => eth(BCAST, src, 0x88b5, Buffer.alloc(size - 14, k));
    const sizes = [60, 300, 61, 1000, 62];
    expect(
      injectFrom(
        'n2',
        ns('pb'),
        sizes.map((sz, k) => marker(k + 1, sz)),
        false,
      ),
    ).toEqual({ sent: 5, info: [0, 0, 0] });
    const SLOT = 256; // room for the namespace's own IPv6 chatter (MLD reports), not for 300 or 1000 bytes
    const buf = Buffer.alloc(SLOT * 16, 0xee);
    const offs = new Uint32Array(16);
    const lens = new Uint32Array(16);
    const info = new Int32Array([9, 9, 9]);
    const n = nat.recvBatch(fd, IO_KIND_PACKET, buf, SLOT, 16, offs, lens, info);
    expect(info[0]).toBe(2); // 10 + 300 and 10 + 1000 bytes do not fit 252
    expect(info[1]).toBe(0);
    expect(info[2]).toBe(0);
    const frames = [];
    for (let i = 0; i < n; i++) {
      expect(offs[i]).toBe(i * SLOT + 4);
      expect(lens[i]).toBeLessThanOrEqual(SLOT - 4);
      frames.push(buf.subarray(offs[i], offs[i] + lens[i]));
    }
    const got = frames.filter((f) => f.subarray(VNET + 6, VNET + 12).equals(src));
    expect(got.map((f) => f.subarray(VNET))).toEqual([marker(1, 60), marker(3, 61), marker(5, 62)]);
    // None of the markers is left (the namespace's own IPv6 chatter may be), and no error.
    const rest = nat.recvBatch(fd, IO_KIND_PACKET, buf, SLOT, 16, offs, lens, info);
    for (let i = 0; i < rest; i++)
      expect(buf.subarray(offs[i] + VNET + 6, offs[i] + VNET + 12).equals(src)).toBe(false);
    expect([info[1], info[2]]).toEqual([0, 0]);
    closeTracked(fd);
  });

  test('packetDrops: what the kernel dropped on a full socket, counted once (reading zeroes it)', () => {
    // A 16 KB receive buffer holds a few frames; nobody reads while 300 arrive.
    const fd = track(nat.packetOpen(linkIndex(null, ns('pa')), { vnetHdr: false, promisc: false, bufBytes: 16384 }));
    expect(nat.packetDrops(fd)).toBe(0);
    const src = mac('02:00:00:00:03:07');
    const frames = Array.from({ length: 300 }, (_, k) => eth(BCAST, src, 0x88b5, Buffer.alloc(46, k & 0xff)));
    expect(injectFrom('n2', ns('pb'), frames, false).sent).toBe(300);
    const drops = nat.packetDrops(fd);
    expect(drops).toBeGreaterThan(200);
    expect(nat.packetDrops(fd)).toBe(0);
    // What was not dropped is there to read: together they are every frame sent (and any chatter).
    const SLOT = 256;
    const buf = Buffer.alloc(SLOT * 64);
    const offs = new Uint32Array(64);
    const lens = new Uint32Array(64);
    const info = new Int32Array(3);
    let markers = 0;
    for (let n; (n = nat.recvBatch(fd, IO_KIND_PACKET, buf, SLOT, 64, offs, lens, info)) > 0;)
      for (let i = 0; i < n; i++) if (buf.subarray(offs[i] + 6, offs[i] + 12).equals(src)) markers++;
    expect(markers).toBeGreaterThan(0);
    expect(markers + drops).toBeGreaterThanOrEqual(300);
    closeTracked(fd);
    throwsKind(() => nat.packetDrops('x' as unknown as number), 'TypeError');
  });

  test('VLAN tags the kernel moved to metadata are put back (802.1Q with PCP, 802.1ad, QinQ), csum_start follows', async () => {
    const fd = track(nat.packetOpen(linkIndex(null, ns('pa')), { vnetHdr: true, promisc: true, bufBytes: 1 << 20 }));
    const port = new Port(fd, IO_KIND_PACKET, true).start();
    const src = mac('02:00:00:00:0a:02');
    const dst = (k: number) => mac(`02:00:00:00:0a:0${k}`);
    const payload = Buffer.alloc(100, 7);
    // Tagged frames enter pa's receive path inline; the core untags the outer tag into metadata before AF_PACKET.
    // The first leaves its UDP checksum to finish: csum_start 38 counts the tag.
    const f1 = tagged(
      dst(1),
      src,
      [[0x8100, (5 << 13) | 10]],
      0x0800,
      udp4('198.18.10.1', '198.18.10.9', 4789, payload),
    );
    const f2 = tagged(dst(2), src, [[0x88a8, 20]], 0x0800, udp4('198.18.20.1', '198.18.20.9', 4789, payload));
    const f3 = tagged(
      dst(3),
      src,
      [
        [0x88a8, 20],
        [0x8100, 30],
      ],
      0x0800,
      udp4('198.18.30.1', '198.18.30.9', 4789, payload),
    );
    const h1 = vnetHdr({ flags: 1, csumStart: 18 + 20, csumOffset: 6 });
    const r = injectFrom(
      'n2',
      ns('pb'),
      [Buffer.concat([h1, f1]), Buffer.concat([vnetHdr(), f2]), Buffer.concat([vnetHdr(), f3])],
      true,
    );
    expect(r).toEqual({ sent: 3, info: [0, 0, 0] });
    const to = (k: number) => (f: Buffer) => f.subarray(0, 6).equals(dst(k));
    await waitFor('the three tagged frames', () => [1, 2, 3].every((k) => port.eth().some(to(k))));
    for (const [k, sent] of [
      [1, f1],
      [2, f2],
      [3, f3],
    ] as const) {
      const i = port.eth().findIndex(to(k));
      expect(port.eth()[i]).toEqual(sent); // byte for byte what was sent, tag(s) included
      expect(port.slots[i].off).toBe(port.slots[i].slot * port.slot); // grew into the 4-byte headroom
    }
    const v1 = port.frames[port.eth().findIndex(to(1))];
    expect(v1[0] & 1).toBe(1); // NEEDS_CSUM survived the trip
    expect(v1.readUInt16LE(6)).toBe(18 + 20); // csum_start: the kernel said 34 (untagged), +4
    expect(v1.readUInt16LE(8)).toBe(6);
    expect(v1.readUInt16BE(VNET + v1.readUInt16LE(6) + 2)).toBe(4789); // it points at the UDP header
    // The socket without vnet header (second test, still polling) sees the same frames, tag after the MACs.
    await waitFor('the tagged frames on the plain socket', () => [1, 2, 3].every((k) => portA.eth().some(to(k))));
    for (const [k, sent] of [
      [1, f1],
      [2, f2],
      [3, f3],
    ] as const)
      expect(portA.eth().find(to(k))).toEqual(sent);

    // Traffic of a real VLAN subinterface (tag added by veth's VLAN offload), when the kernel has 802.1Q.
    const vlan = spawnSync(
      'ip',
      ['-n', ns('n2'), 'link', 'add', 'link', ns('pb'), 'name', 'v10', 'type', 'vlan', 'id', '10'],
      { encoding: 'utf8' },
    );
    if (vlan.status === 0) {
      ipns('n2', 'addr', 'add', '198.18.11.1/24', 'dev', 'v10');
      ipns('n2', 'link', 'set', 'v10', 'up');
      ipns('n2', 'neigh', 'replace', '198.18.11.9', 'lladdr', '02:00:00:00:0b:09', 'dev', 'v10');
      sh('ip', [
        'netns',
        'exec',
        ns('n2'),
        process.execPath,
        '-e',
        `const d=require('dgram').createSocket('udp4');d.send(Buffer.alloc(100,7),4789,'198.18.11.9',()=>d.close())`,
      ]);
      const toV = (f: Buffer) => f.subarray(0, 6).equals(mac('02:00:00:00:0b:09')) && f.length >= 18 + 28;
      await waitFor('the VLAN subinterface frame', () => port.eth().some(toV));
      const i = port.eth().findIndex(toV);
      const f = port.eth()[i];
      expect(f.readUInt16BE(12)).toBe(0x8100);
      expect(f.readUInt16BE(14) & 0xfff).toBe(10);
      expect(f.readUInt16BE(16)).toBe(0x0800);
      const vh = port.frames[i];
      if (vh[0] & 1) expect(vh.readUInt16BE(VNET + vh.readUInt16LE(6) + 2)).toBe(4789);
    } else {
      // This kernel has no CONFIG_VLAN_8021Q; the injected frames above cover the same receive path.
      expect(vlan.stderr).toMatch(/Unknown device type|not supported/i);
    }
    port.stop();
    closeTracked(fd);
  });

  test('sendBatch accounting: bad virtio_net_hdr and out-of-bounds frames rejected, the rest sent; ENETDOWN per frame; polling survives a link flap', async () => {
    const fd = track(nat.packetOpen(linkIndex(null, ns('pa')), { vnetHdr: true, promisc: false, bufBytes: 0 }));
    const me = mac('02:00:00:00:05:02');
    const frame = (k: number) => eth(BCAST, me, 0x88b5, Buffer.alloc(46, k));
    const ok = (k: number) => Buffer.concat([vnetHdr(), frame(k)]);
    const badGso = Buffer.concat([vnetHdr({ gsoType: 1, hdrLen: 2000, gsoSize: 1000 }), frame(9)]);
    const badCsum = Buffer.concat([vnetHdr({ flags: 1, csumStart: 500, csumOffset: 6 }), frame(9)]);
    const { buf, offs, lens } = pack([ok(1), badGso, ok(2), ok(0), badCsum, ok(3)]);
    offs[3] = buf.length - 10; // out of bounds: must not be read
    lens[3] = 100;
    const info = new Int32Array(3);
    const before = rxPackets('n2', ns('pb'));
    expect(nat.sendBatch(fd, IO_KIND_PACKET, buf, offs, lens, 0, 6, info)).toBe(3);
    expect([...info]).toEqual([0, 3, EINVAL]);
    await waitFor('three frames in the namespace', () => rxPackets('n2', ns('pb')) - before >= 3);
    await sleep(50);
    expect(rxPackets('n2', ns('pb')) - before).toBe(3);
    // A sub-range only: frames 5.. of the same arrays.
    expect(nat.sendBatch(fd, IO_KIND_PACKET, buf, offs, lens, 5, 1, info)).toBe(1);
    expect([...info]).toEqual([0, 0, 0]);
    expect(nat.sendBatch(fd, IO_KIND_PACKET, buf, offs, lens, 6, 0, info)).toBe(0);

    // Link down: each frame is refused with ENETDOWN, nothing blocks; the polling socket sees the error once.
    const eventsBefore = portA.events;
    sh('ip', ['link', 'set', ns('pa'), 'down']);
    expect(
      nat.sendBatch(
        fd,
        IO_KIND_PACKET,
        buf,
        new Uint32Array([offs[0], offs[2]]),
        new Uint32Array([lens[0], lens[2]]),
        0,
        2,
        info,
      ),
    ).toBe(0);
    expect([...info]).toEqual([0, 2, ENETDOWN]);
    await waitFor('the ENETDOWN error event on the polling socket', () => portA.errors.includes(ENETDOWN));
    sh('ip', ['link', 'set', ns('pa'), 'up']);
    // The poll kept watching: an ARP exchange after the flap still arrives through it. Both ends must be UP (each
    // veth end's queue is activated asynchronously); the request is repeated until the namespace answers.
    const n0 = portA.frames.length;
    const operUp = (n: string | null, dev: string) =>
      JSON.parse(sh('ip', [...(n ? ['-n', ns(n)] : []), '-j', 'link', 'show', 'dev', dev]))[0].operstate === 'UP';
    await waitFor('both veth ends to be up', () => operUp(null, ns('pa')) && operUp('n2', ns('pb')));
    let lastProbe = 0;
    await waitFor('an ARP reply after the link flap', () => {
      if (Date.now() - lastProbe > 250) {
        lastProbe = Date.now();
        expect(portA.send([arpRequest(me, '198.18.2.5', '198.18.2.1')])).toEqual({ sent: 1, info: [0, 0, 0] });
      }
      return portA
        .eth()
        .slice(n0)
        .some((f) => isArp(f, 2, '198.18.2.1', '198.18.2.5'));
    });
    expect(portA.events).toBeGreaterThan(eventsBefore);
    closeTracked(fd);
  });

  test('a TAP deleted under its poll: the callback sees EBADFD once, no busy loop', async () => {
    const tap = nat.tapOpen(ns('tdel'), false);
    track(tap.fd);
    const port = new Port(tap.fd, IO_KIND_TAP, false).start();
    sh('ip', ['link', 'del', tap.name]);
    await waitFor('the error event', () => port.errors.length > 0);
    await sleep(100);
    expect(port.errors).toEqual([77]); // EBADFD
    expect(port.events).toBeLessThan(3);
    port.stop();
    port.stop();
    closeTracked(tap.fd);
  });

  test('virtio_net_hdr end to end: 1 MB each way over TCP through a batch relay (veth<->veth and veth<->TAP)', async () => {
    const SLOT = 65536 + 512;
    const MAX = 32;
    interface End {
      fd: number;
      kind: number;
      name: string;
    }
    interface Dir {
      from: string;
      frames: number;
      gso: number;
      csum: number;
      truncated: number;
      dropped: number;
      rejected: number;
      rxErr: number;
    }

    function relay(a: End, b: End) {
      const dirs: Dir[] = [];
      const handles: PollHandle[] = [];
      for (const [src, dst] of [
        [a, b],
        [b, a],
      ]) {
        const buf = Buffer.alloc(SLOT * MAX);
        const offs = new Uint32Array(MAX);
        const lens = new Uint32Array(MAX);
        const rinfo = new Int32Array(3);
        const sinfo = new Int32Array(3);
        const d: Dir = { from: src.name, frames: 0, gso: 0, csum: 0, truncated: 0, dropped: 0, rejected: 0, rxErr: 0 };
        dirs.push(d);
        handles.push(
          startPoll(src.fd, () => {
            for (let round = 0; round < 16; round++) {
              const n = nat.recvBatch(src.fd, src.kind, buf, SLOT, MAX, offs, lens, rinfo);
              d.truncated += rinfo[0];
              if (rinfo[1]) d.rxErr = rinfo[1];
              if (n === 0) break;
              for (let i = 0; i < n; i++) {
                if (buf[offs[i] + 1] !== 0) d.gso++;
                if (buf[offs[i]] & 1) d.csum++;
              }
              d.frames += n;
              nat.sendBatch(dst.fd, dst.kind, buf, offs, lens, 0, n, sinfo);
              d.dropped += sinfo[0];
              d.rejected += sinfo[1];
              if (n < MAX) break;
            }
          }),
        );
      }
      return { dirs, stop: () => handles.forEach(stopPoll) };
    }

    function nodeIn(n: string, script: string): { proc: ChildProcess; out: Promise<string>; ready: Promise<void> } {
      const proc = spawn('ip', ['netns', 'exec', ns(n), process.execPath, '-e', script], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.add(proc);
      let out = '';
      let err = '';
      let onReady: () => void;
      const ready = new Promise<void>((r) => (onReady = r));
      proc.stdout.on('data', (b: Buffer) => {
        out += b.toString();
        if (out.includes('ready')) onReady();
      });
      proc.stderr.on('data', (b: Buffer) => (err += b.toString()));
      const done = new Promise<string>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`${n}: timeout; stdout ${out} stderr ${err}`)), 10000);
        proc.on('exit', (code) => {
          clearTimeout(t);
          children.delete(proc);
          if (code === 0) resolve(out);
          else reject(new Error(`${n}: exit ${code}; stdout ${out} stderr ${err}`));
        });
      });
      return { proc, out: done, ready };
    }

    const N = 1 << 20;
    const pattern = Buffer.alloc(N);
    for (let i = 0; i < N; i++) pattern[i] = (i * 7 + (i >> 9)) & 255;
    const patternSha = crypto.createHash('sha256').update(pattern).digest('hex');

    async function transfer(client: string, server: string, addr: string) {
      const srv = nodeIn(
        server,
        `
        const net=require('net'),crypto=require('crypto');const N=${N};
        const srv=net.createServer({allowHalfOpen:true},s=>{const h=crypto.createHash('sha256');let n=0;
          s.on('data',d=>{h.update(d);n+=d.length});
          s.on('end',()=>{const out=Buffer.alloc(N);for(let i=0;i<N;i++)out[i]=(i*7+(i>>9))&255;
            s.end(out,()=>{console.log(JSON.stringify({n,sha:h.digest('hex')}));srv.close()})});
        });
        srv.listen(5001,'${addr}',()=>console.log('ready'));`,
      );
      await srv.ready;
      const cli = nodeIn(
        client,
        `
        const net=require('net'),crypto=require('crypto');const N=${N};
        const data=crypto.randomBytes(N);const sent=crypto.createHash('sha256').update(data).digest('hex');
        const h=crypto.createHash('sha256');let n=0;
        const s=net.connect({host:'${addr}',port:5001,allowHalfOpen:true},()=>s.end(data));
        s.on('data',d=>{h.update(d);n+=d.length});
        s.on('end',()=>{console.log(JSON.stringify({sent,n,sha:h.digest('hex')}));s.destroy()});`,
      );
      const [so, co] = await Promise.all([srv.out, cli.out]);
      const s = JSON.parse(so.split('\n').filter((l) => l.startsWith('{'))[0]);
      const c = JSON.parse(co.trim());
      expect(s.n).toBe(N);
      expect(s.sha).toBe(c.sent);
      expect(c.n).toBe(N);
      expect(c.sha).toBe(patternSha);
    }

    function vethPair(n: string, root: string, inner: string, cidr: string): End {
      sh('ip', ['link', 'add', ns(root), 'type', 'veth', 'peer', 'name', ns(inner)]);
      sh('ip', ['link', 'set', ns(inner), 'netns', ns(n)]);
      sh('ip', ['link', 'set', ns(root), 'addrgenmode', 'none']);
      sh('ip', ['link', 'set', ns(root), 'up']);
      ipns(n, 'addr', 'add', cidr, 'dev', ns(inner));
      ipns(n, 'link', 'set', ns(inner), 'up');
      const fd = track(nat.packetOpen(linkIndex(null, ns(root)), { vnetHdr: true, promisc: true, bufBytes: 4 << 20 }));
      return { fd, kind: IO_KIND_PACKET, name: ns(root) };
    }
    for (const n of ['n4a', 'n4b', 'n5a', 'n5b']) {
      sh('ip', ['netns', 'add', ns(n)]);
      ipns(n, 'link', 'set', 'lo', 'up');
    }

    // veth <-> veth
    const r1 = relay(vethPair('n4a', 'ca', 'cb', '198.18.4.1/24'), vethPair('n4b', 'da', 'db', '198.18.4.2/24'));
    try {
      await transfer('n4a', 'n4b', '198.18.4.2');
    } finally {
      r1.stop();
    }
    // veth <-> TAP (the TAP is moved into the server's namespace)
    const tap = nat.tapOpen(ns('t5'), true);
    track(tap.fd);
    sh('ip', ['link', 'set', tap.name, 'netns', ns('n5b')]);
    ipns('n5b', 'addr', 'add', '198.18.5.2/24', 'dev', tap.name);
    ipns('n5b', 'link', 'set', tap.name, 'up');
    const r2 = relay(vethPair('n5a', 'ea', 'eb', '198.18.5.1/24'), { fd: tap.fd, kind: IO_KIND_TAP, name: tap.name });
    try {
      await transfer('n5a', 'n5b', '198.18.5.2');
    } finally {
      r2.stop();
    }
    for (const d of [...r1.dirs, ...r2.dirs]) {
      // Both directions carry 1 MB: with offloads on, the kernel hands over unfinished super-frames.
      expect(d).toMatchObject({ truncated: 0, rejected: 0, rxErr: 0 });
      expect(d.gso).toBeGreaterThan(0);
      expect(d.csum).toBeGreaterThan(0);
    }
  });

  test('argument validation throws TypeError/RangeError; kernel errors carry errno names', () => {
    const fd = track(nat.packetOpen(linkIndex(null, ns('pa')), { vnetHdr: false, promisc: false, bufBytes: 0 }));
    const buf = Buffer.alloc(4096);
    const o = new Uint32Array(4);
    const l = new Uint32Array(4);
    const info = new Int32Array(3);
    const recv = (...a: unknown[]) => (nat.recvBatch as (...x: unknown[]) => number)(...a);
    const send = (...a: unknown[]) => (nat.sendBatch as (...x: unknown[]) => number)(...a);
    throwsKind(() => recv(fd, IO_KIND_PACKET, buf, 2048, 4, o, l, info), 'RangeError'); // 8192 > 4096
    throwsKind(() => recv(fd, IO_KIND_PACKET, buf, 16, 4, o, l, info), 'RangeError'); // slot too small
    throwsKind(() => recv(fd, IO_KIND_PACKET, buf, 1024, 4, new Uint32Array(3), l, info), 'RangeError');
    throwsKind(() => recv(fd, IO_KIND_PACKET, buf, 1024, 4, o, new Uint32Array(1), info), 'RangeError');
    throwsKind(() => recv(fd, IO_KIND_PACKET, buf, 1024, 4, o, l, new Int32Array(2)), 'RangeError');
    throwsKind(() => recv(fd, IO_KIND_PACKET, buf, 1024, -1, o, l, info), 'RangeError');
    throwsKind(() => recv(fd, 5, buf, 1024, 4, o, l, info), 'RangeError');
    throwsKind(() => recv(fd, IO_KIND_PACKET, 'not a buffer', 1024, 4, o, l, info), 'TypeError');
    throwsKind(() => recv(fd, IO_KIND_PACKET, buf, 1024, 4, new Int32Array(4), l, info), 'TypeError');
    throwsKind(() => recv(fd, IO_KIND_PACKET, buf, 1024, 4, o, l, new Uint32Array(3)), 'TypeError');
    throwsKind(() => recv(fd, IO_KIND_PACKET, buf, 1024, 4, o, l), 'TypeError');
    throwsKind(() => send(fd, IO_KIND_PACKET, buf, o, l, 2, 3, info), 'RangeError'); // 5 > 4 entries
    throwsKind(() => send(fd, IO_KIND_PACKET, buf, o, l, -1, 1, info), 'RangeError');
    throwsKind(() => send(fd, IO_KIND_PACKET, buf, o, l, 0, -1, info), 'RangeError');
    throwsKind(() => send(fd, IO_KIND_TAP + 7, buf, o, l, 0, 1, info), 'RangeError');
    throwsKind(() => send(fd, IO_KIND_PACKET, buf, o, new Uint32Array(4), 0, 1, new Int32Array(1)), 'RangeError');
    // Frames out of bounds, including offset+length overflowing 32 bits, are rejections, never reads.
    const sent = nat.sendBatch(
      fd,
      IO_KIND_PACKET,
      buf,
      new Uint32Array([4000, 0xffffff00]),
      new Uint32Array([200, 0x200]),
      0,
      2,
      info,
    );
    expect(sent).toBe(0);
    expect([...info]).toEqual([0, 2, EINVAL]);
    // maxFrames 0 is a valid empty batch, and info is reset.
    info.fill(5);
    expect(nat.recvBatch(fd, IO_KIND_PACKET, buf, 1024, 0, o, l, info)).toBe(0);
    expect([...info]).toEqual([0, 0, 0]);
    // A bad fd ends the batch with its errno in info[1] rather than throwing.
    expect(nat.recvBatch(-1, IO_KIND_PACKET, buf, 1024, 4, o, l, info)).toBe(0);
    expect(info[1]).toBe(9); // EBADF
    expect(nat.recvBatch(-1, IO_KIND_TAP, buf, 1024, 4, o, l, info)).toBe(0);
    expect(info[1]).toBe(9);

    const errOf = (f: () => unknown): NativeError => {
      try {
        f();
      } catch (e) {
        return e as NativeError;
      }
      throw new Error('did not throw');
    };
    const e = errOf(() => nat.packetOpen(0x7ffffff0, { vnetHdr: true, promisc: true, bufBytes: 1 << 20 }));
    expect(e).toMatchObject({ code: 'ENODEV', errno: 19, syscall: 'bind' });
    throwsKind(() => nat.packetOpen(0, { vnetHdr: false, promisc: false, bufBytes: 0 }), 'RangeError');
    throwsKind(() => (nat.packetOpen as (...x: unknown[]) => number)(1, { vnetHdr: true }), 'TypeError');
    throwsKind(() => (nat.packetOpen as (...x: unknown[]) => number)(1), 'TypeError');
    throwsKind(() => nat.tapOpen('x'.repeat(16), false), 'RangeError');
    throwsKind(() => (nat.tapOpen as (...x: unknown[]) => unknown)('x', 'yes'), 'TypeError');
    // A name taken by a device of another kind.
    expect(errOf(() => nat.tapOpen(ns('pa'), false))).toMatchObject({ code: 'EINVAL', syscall: 'ioctl' });
    expect(errOf(() => nat.closeFd(-1))).toMatchObject({ code: 'EBADF', errno: 9, syscall: 'close' });
    throwsKind(() => nat.pollStop({}), 'TypeError');
    throwsKind(() => (nat.pollStart as (...x: unknown[]) => unknown)(fd, 42), 'TypeError');
    closeTracked(fd);
    expect(errOf(() => nat.closeFd(fd))).toMatchObject({ code: 'EBADF' });
  });

  test('pollStart in a separate process: a throwing callback is an uncaught exception, ticks run, pollStop releases the loop, Worker teardown closes a live poll', () => {
    const script = `
      const a = require(${JSON.stringify(ADDON)});
      const { Worker } = require('worker_threads');
      const fd = a.packetOpen(1, { vnetHdr: false, promisc: false, bufBytes: 0 }); // lo of this namespace (n2)
      const buf = Buffer.alloc(2048 * 8), o = new Uint32Array(8), l = new Uint32Array(8), inf = new Int32Array(3);
      const r = { calls: 0, ticks: 0, micro: 0, caught: 0, worker: null };
      process.on('uncaughtException', (e) => { if (e.message === 'boom') r.caught++; else throw e; });
      const h = a.pollStart(fd, function () {
        r.calls++;
        process.nextTick(() => r.ticks++);
        Promise.resolve().then(() => r.micro++);
        if (r.calls === 1) throw new Error('boom'); // not drained: fires again
        a.recvBatch(fd, 1, buf, 2048, 8, o, l, inf);
        a.pollStop(h);
        a.pollStop(h); // idempotent, also inside the callback
        a.closeFd(fd);
        const w = new Worker(\`
          const a = require(${JSON.stringify(ADDON)});
          const fd = a.packetOpen(1, { vnetHdr: false, promisc: false, bufBytes: 0 });
          a.pollStart(fd, () => {});
          require('worker_threads').parentPort.postMessage('polling');\`, { eval: true });
        w.on('message', () => w.terminate());
        w.on('exit', (code) => { r.worker = code; global.gc(); setImmediate(() => console.log(JSON.stringify(r))); });
      });
      const u = require('dgram').createSocket('udp4');
      u.send('x', 9, '198.18.2.1', () => u.close()); // a local address: the datagram goes through lo`;
    const res = spawnSync('ip', ['netns', 'exec', ns('n2'), process.execPath, '--expose-gc', '-e', script], {
      encoding: 'utf8',
      timeout: 10000,
    });
    expect(res.stderr).toBe('');
    expect(res.status).toBe(0); // the loop emptied: no handle left behind, no abort at Worker teardown
    expect(JSON.parse(res.stdout)).toEqual({ calls: 2, ticks: 2, micro: 2, caught: 1, worker: 1 });
  });
});

let portA: Port;
