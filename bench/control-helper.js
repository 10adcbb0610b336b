'use strict';
/**
 * Small pieces of bench/control-isolation.sh that are easier in Node than in bash:
 *   huge-invalid FILE BYTES     write a flows-bridge unit of about BYTES whose last flow is invalid, so the whole
 *                               file is parsed and validated before the error is found
 *   send-apply DIR              hand the unit files of DIR to netmgrd ($NETMGR_SOCKET) as `netmgr apply` does, but
 *                               without validating them first: the CLI refuses an invalid set itself and never
 *                               sends it, and the point here is the daemon's parsing. Prints the answer's kind;
 *                               exits 0 applied, 2 refused as invalid, 1 anything else
 *   iperf-gbps FILE             the receiver's Gbit/s from an `iperf3 -J` result
 * Uses the built project (dist/), so the request is exactly the one the CLI sends.
 */
const fs = require('node:fs');
const path = require('node:path');

const dist = path.join(__dirname, '..', 'dist');

function hugeInvalid(file, bytes) {
  const name = path.basename(file, '.toml');
  const parts = [`[unit]\ntype = "bridge"\n[bridge]\ndatapath = "userspace"\npolicy = "flows"\n`];
  let size = parts[0].length;
  // Distinct flows (one source MAC each), all valid: the parser and the flow validator see every one of them.
  for (let i = 0; size < bytes; i++) {
    const mac = [16, 8, 0].map((s) => ((i >>> s) & 255).toString(16).padStart(2, '0')).join(':');
    const flow =
      `[[bridge.flow]]\nmatch = "in_port(0),eth(src=02:00:00:${mac},dst=02:00:01:00:00:01),` +
      `eth_type(0x0806),arp()"\nactions = "drop"\n`;
    parts.push(flow);
    size += flow.length;
  }
  // The one error, at the very end: an IPv4 protocol match without its L4 key (the kernel's "Missing key").
  parts.push(
    `# ${name}: the error is here\n[[bridge.flow]]\nmatch = "in_port(0),eth(),eth_type(0x0800),ipv4(proto=6)"\nactions = "drop"\n`,
  );
  fs.writeFileSync(file, parts.join(''));
}

async function sendApply(dir) {
  const { readUnitDir } = require(path.join(dist, 'units'));
  const { send } = require(path.join(dist, 'daemon', 'client'));
  const { ApplyRequest } = require(path.join(dist, 'daemon', 'protocol'));
  const socket = process.env.NETMGR_SOCKET;
  if (!socket) throw new Error('NETMGR_SOCKET is not set');
  try {
    await send(socket, ApplyRequest, { sources: readUnitDir(dir), dir: path.resolve(dir) });
    console.log('applied');
    return 0;
  } catch (e) {
    const kind = e && e.body ? e.body.kind : undefined;
    console.log(`${kind ?? 'error'}: ${e.message}`);
    return kind === 'invalid' ? 2 : 1;
  }
}

function iperfGbps(file) {
  const r = JSON.parse(fs.readFileSync(file, 'utf8'));
  const bps = r.end && r.end.sum_received && r.end.sum_received.bits_per_second;
  if (!bps) throw new Error(`${file}: no receiver rate (${r.error ?? 'unknown result'})`);
  console.log((bps / 1e9).toFixed(2));
}

async function main([cmd, ...args]) {
  switch (cmd) {
    case 'huge-invalid':
      hugeInvalid(args[0], Number(args[1]));
      return 0;
    case 'send-apply':
      return sendApply(args[0]);
    case 'iperf-gbps':
      iperfGbps(args[0]);
      return 0;
    default:
      console.error('usage: node bench/control-helper.js huge-invalid FILE BYTES | send-apply DIR | iperf-gbps FILE');
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    console.error(`bench/control-helper.js: ${e.message}`);
    process.exit(1);
  },
);
