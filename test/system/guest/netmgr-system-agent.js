#!/usr/bin/node
'use strict';
/**
 * The guest side of test/system: runs the harness's shell commands and answers with their output and exit status.
 * Installed in the system test's disk image as /usr/local/lib/netmgr-system/agent.js and started at every boot by
 * netmgr-system-agent.service. The harness drives the guest through this (not eth0 or a login on the console):
 * it works before and after netmgr touches any NIC, and across reboots (qemu keeps the host end of the port).
 *
 * Channel: the virtio-serial port /dev/virtio-ports/netmgr.agent, one JSON document per line each way.
 *   harness -> agent  {"id": N, "sh": "bash script", "stdin": "base64" (optional), "timeout": seconds}
 *   agent -> harness  {"id": N, "rc": exit status (128+signal if killed), "out": stdout, "err": stderr, "ms": N}
 *   at start          {"hello": boot id, "uptime": seconds since the kernel started}
 * Commands run concurrently, each in its own process group, killed (the group) on their timeout.
 */
const fs = require('fs');
const { spawn } = require('child_process');

const PORT = '/dev/virtio-ports/netmgr.agent';
const fd = fs.openSync(PORT, 'r+');
const send = (doc) => {
  const buf = Buffer.from(JSON.stringify(doc) + '\n');
  for (let off = 0; off < buf.length;) off += fs.writeSync(fd, buf, off);
};

function run(req) {
  const started = Date.now();
  const child = spawn('/bin/bash', ['-c', req.sh], {
    cwd: '/root',
    detached: true, // its own process group, so a timeout ends whatever it started too
    env: {
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      HOME: '/root',
      LANG: 'C.UTF-8',
      TERM: 'dumb',
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const out = [];
  const err = [];
  child.stdout.on('data', (d) => out.push(d));
  child.stderr.on('data', (d) => err.push(d));
  child.stdin.on('error', () => {}); // a command that does not read its input
  child.stdin.end(req.stdin ? Buffer.from(req.stdin, 'base64') : undefined);
  const timer = setTimeout(
    () => {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    },
    (req.timeout || 120) * 1000,
  );
  child.on('close', (code, signal) => {
    clearTimeout(timer);
    send({
      id: req.id,
      rc: code ?? 128 + (require('os').constants.signals[signal] || 0),
      out: Buffer.concat(out).toString(),
      err: Buffer.concat(err).toString(),
      ms: Date.now() - started,
    });
  });
}

let pending = '';
const input = fs.createReadStream('', { fd, autoClose: false, highWaterMark: 1 << 16 });
input.on('data', (chunk) => {
  pending += chunk.toString();
  let nl;
  while ((nl = pending.indexOf('\n')) >= 0) {
    const line = pending.slice(0, nl);
    pending = pending.slice(nl + 1);
    let req;
    try {
      req = JSON.parse(line);
    } catch {
      continue; // a line cut by a reboot of either end: the harness times it out and says so
    }
    if (typeof req.id === 'number' && typeof req.sh === 'string') run(req);
  }
});
input.on('error', (e) => {
  console.error(`netmgr-system-agent: ${PORT}: ${e.message}`);
  process.exit(1);
});

send({
  hello: fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(),
  uptime: Number(fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]),
});
