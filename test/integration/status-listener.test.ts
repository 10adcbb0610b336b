/**
 * netmgrd's status listener (issue 19) against real tools, as root, on a userspace learning bridge with three hosts
 * in namespaces: a scrape taken while traffic flows passes Debian's `promtool check metrics`; the port counters
 * rise by the pings sent and equal `netmgr dpctl show -s`; a real `prometheus` scraping 127.0.0.1 every second
 * reports `up == 1` and a port counter within 15 s; `netmgr status` prints the URL; the listener refuses what it
 * must (a non-loopback bind without http-allow-remote, unknown paths, other methods, bodies, oversized and
 * malformed requests), survives 1,000 connections opened and dropped at once, and cannot be reached from another
 * namespace.
 */
import { spawn, spawnSync, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { freePort, httpRequest, parseMetrics, rawExchange } from '../helpers/http';
import { startStatusSwitch, type StatusSwitch } from '../helpers/status-switch';
import { haveTool, isRoot, netmgr, sh, tempDir } from '../helpers/sys';

const it = isRoot() ? test : test.skip;
jest.setTimeout(120_000);
haveTool('promtool', ['--version'], 'prometheus');

let sw: StatusSwitch;
let prometheus: ChildProcess | undefined;
const promDir = tempDir('prometheus');

beforeAll(async () => {
  if (isRoot()) sw = await startStatusSwitch('status-listener');
});

afterAll(async () => {
  if (prometheus?.pid && prometheus.exitCode === null) {
    const exited = new Promise((r) => prometheus!.once('exit', r));
    process.kill(prometheus.pid, 'SIGTERM');
    await exited;
  }
  fs.rmSync(promDir, { recursive: true, force: true });
  await sw?.close();
});

const scrape = async (): Promise<string> => {
  const r = await httpRequest(`${sw.url}metrics`);
  expect(r.status).toBe(200);
  expect(r.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
  return r.body;
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const series = (name: string, port: string) => `netmgr_port_${name}_total{bridge="${sw.bridge}",port="${port}"}`;

/** Port counters as `netmgr dpctl show -s --json` reports them. */
function dpctlPort(port: string): { rxPackets: number; txPackets: number } {
  const r = netmgr(['dpctl', 'show', '-s', sw.bridge, '--json'], sw.daemon.env);
  if (r.code !== 0) throw new Error(r.stderr);
  const [b] = JSON.parse(r.stdout) as { ports: { name: string; stats: { rxPackets: number; txPackets: number } }[] }[];
  return b.ports.find((p) => p.name === port)!.stats;
}

function pingFrom(host: number, to: number, count: number): void {
  const r = spawnSync('ip', [
    'netns',
    'exec',
    sw.namespaces[host],
    'ping',
    '-q',
    '-c',
    String(count),
    '-i',
    '0.02',
    '-W',
    '1',
    sw.addresses[to],
  ]);
  expect(r.status).toBe(0);
}

it('netmgr status prints the URL of the status page; /status.json is netmgr status --json', async () => {
  const r = netmgr(['status', '--dir', sw.unitDir], sw.daemon.env);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain(`Status page: ${sw.url} (Prometheus metrics: ${sw.url}metrics)`);
  const json = JSON.parse(netmgr(['status', '--json', '--dir', sw.unitDir], sw.daemon.env).stdout);
  expect(json.daemon.statusUrl).toBe(sw.url);
  const served = await httpRequest(`${sw.url}status.json`);
  expect([served.status, served.headers['content-type']]).toEqual([200, 'application/json']);
  const body = JSON.parse(served.body);
  expect(Object.keys(body).sort()).toEqual(Object.keys(json).sort());
  for (const key of ['schema', 'daemon', 'unitDir', 'unitsValid', 'objects', 'lastApply', 'counters', 'confirm'])
    expect([key, body[key]]).toEqual([key, json[key]]);
  expect(body.bridges.map((b: { name: string }) => b.name)).toEqual([sw.bridge]);
});

it('a scrape taken while traffic flows passes promtool check metrics and has every port', async () => {
  const flood = spawn('ip', [
    'netns',
    'exec',
    sw.namespaces[0],
    'ping',
    '-q',
    '-c',
    '150',
    '-i',
    '0.01',
    sw.addresses[1],
  ]);
  const done = new Promise<number | null>((r) => flood.once('exit', r));
  await new Promise((r) => setTimeout(r, 700));
  const first = parseMetrics(await scrape());
  await new Promise((r) => setTimeout(r, 300));
  const text = await scrape();
  expect(flood.exitCode).toBeNull(); // still flowing when the second scrape was taken
  const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  expect({ status: check.status, out: check.stdout + check.stderr }).toEqual({ status: 0, out: '' });
  const m = parseMetrics(text);
  expect(m.get(series('receive_packets', sw.ports[0]))!).toBeGreaterThan(
    first.get(series('receive_packets', sw.ports[0]))!,
  );
  for (const port of [sw.bridge, ...sw.ports]) {
    expect(m.get(`netmgr_port_link_up{bridge="${sw.bridge}",port="${port}"}`)).toBe(1);
    expect(m.has(series('transmit_bytes', port))).toBe(true);
  }
  expect(m.get(`netmgr_mac_table_entries{bridge="${sw.bridge}"}`)).toBeGreaterThanOrEqual(2);
  // Loop detection is on by default: every port forwards, and says so.
  for (const port of sw.ports)
    expect(m.get(`netmgr_port_loop_protection_state{bridge="${sw.bridge}",port="${port}",state="forwarding"}`)).toBe(1);
  expect(m.get('netmgr_applies_total{result="applied"}')).toBe(1);
  expect(m.get('netmgr_objects{state="realised"}')).toBeGreaterThanOrEqual(4);
  expect(await done).toBe(0);
});

it('after N pings the port counters rose by at least N and equal netmgr dpctl show -s', async () => {
  const N = 25;
  const [p1, p2] = sw.ports;
  const before = parseMetrics(await scrape());
  pingFrom(0, 1, N);
  // The scrape between two reads of `netmgr dpctl show -s`: no ping is sent in between, but loop detection's
  // probes (one a second out of each port) are, so each counter of the scrape lies between the two reads.
  const dpBefore = [dpctlPort(p1), dpctlPort(p2)];
  const after = parseMetrics(await scrape());
  const dpAfter = [dpctlPort(p1), dpctlPort(p2)];
  const rise = (name: string, port: string) => after.get(series(name, port))! - before.get(series(name, port))!;
  // p1 receives the echo requests and sends the replies; p2 the other way round.
  for (const port of [p1, p2])
    for (const name of ['receive_packets', 'transmit_packets']) expect(rise(name, port)).toBeGreaterThanOrEqual(N);
  [p1, p2].forEach((port, i) => {
    for (const [name, field] of [
      ['receive_packets', 'rxPackets'],
      ['transmit_packets', 'txPackets'],
    ] as const) {
      const m = after.get(series(name, port))!;
      expect([port, name, dpBefore[i][field] <= m && m <= dpAfter[i][field]]).toEqual([port, name, true]);
      expect(dpAfter[i][field] - dpBefore[i][field]).toBeLessThan(N);
    }
  });
});

it('a real prometheus scraping every second reports up == 1 and a port counter within 15 s', async () => {
  const promPort = await freePort();
  const config = path.join(promDir, 'prometheus.yml');
  fs.writeFileSync(
    config,
    `global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: netmgr\n` +
      `    static_configs:\n      - targets: ["127.0.0.1:${sw.httpPort}"]\n`,
  );
  const started = Date.now();
  prometheus = spawn(
    'prometheus',
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${path.join(promDir, 'data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  prometheus.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const query = async (q: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> => {
    try {
      const r = await httpRequest(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(q)}`);
      return r.status === 200 ? JSON.parse(r.body).data.result : [];
    } catch {
      return []; // not listening yet
    }
  };
  const counter = `netmgr_port_receive_packets_total{port="${sw.ports[0]}"}`;
  let up: string | undefined;
  let packets: string | undefined;
  while (Date.now() - started < 15_000 && (up !== '1' || packets === undefined)) {
    up = (await query(`up{job="netmgr"}`))[0]?.value[1];
    packets = (await query(counter))[0]?.value[1];
    await new Promise((r) => setTimeout(r, 250));
  }
  expect({ up, log: up === '1' ? '' : log.slice(-2000) }).toEqual({ up: '1', log: '' });
  expect(Number(packets)).toBeGreaterThan(0);
  expect(Date.now() - started).toBeLessThan(15_000);
});

describe('the listener refuses what it must', () => {
  it('unknown paths 404, other methods 405, a body 413, a long URL 414', async () => {
    expect((await httpRequest(`${sw.url}nope`)).status).toBe(404);
    expect((await httpRequest(`${sw.url}metrics/../etc/passwd`)).status).toBe(404);
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      const r = await httpRequest(`${sw.url}metrics`, { method });
      expect([method, r.status, r.headers.allow]).toEqual([method, 405, 'GET, HEAD']);
    }
    // With its Content-Length: a GET's body without one is the next request's bytes (malformed: 400, below).
    const body = await httpRequest(`${sw.url}metrics`, {
      body: 'x'.repeat(100_000),
      headers: { 'Content-Length': '100000' },
    });
    expect(body.status).toBe(413);
    expect((await httpRequest(`${sw.url}?${'a'.repeat(3000)}`)).status).toBe(414);
  });

  it('malformed requests 400, oversized headers 431', async () => {
    expect(await rawExchange(sw.httpPort, 'GARBAGE\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 /);
    expect(await rawExchange(sw.httpPort, 'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n')).toMatch(
      /^HTTP\/1\.1 400 /,
    );
    const big = `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`;
    expect(await rawExchange(sw.httpPort, big)).toMatch(/^HTTP\/1\.1 431 /);
  });

  it('survives 1,000 connections opened at once and dropped', async () => {
    const script = `
      const net = require('net');
      let open = 0, done = 0;
      for (let i = 0; i < 1000; i++) {
        const s = net.connect(${sw.httpPort}, '127.0.0.1');
        s.on('connect', () => { open++; if (i % 2) s.write('GET /metr'); setTimeout(() => s.destroy(), 50); });
        s.on('error', () => {});
        s.on('close', () => { if (++done === 1000) console.log(JSON.stringify({ open })); });
      }`;
    const r = spawnSync('bash', ['-c', `ulimit -n 4096 && exec "${process.execPath}" -e "$0"`, script], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout).open).toBeGreaterThan(0);
    expect(sw.daemon.alive()).toBe(true);
    const after = await httpRequest(`${sw.url}metrics`);
    expect(after.status).toBe(200);
  });

  it('is not reachable from another namespace', () => {
    const r = spawnSync('ip', [
      'netns',
      'exec',
      sw.namespaces[0],
      process.execPath,
      '-e',
      `require('net').connect(${sw.httpPort}, '127.0.0.1').on('connect', () => process.exit(0))
        .on('error', (e) => { console.log(e.code); process.exit(3); })`,
    ]);
    expect(r.status).toBe(3);
    expect(r.stdout.toString().trim()).toMatch(/^(ECONNREFUSED|ENETUNREACH|EADDRNOTAVAIL)$/);
  });

  it('a non-loopback http-listen is refused with the reason unless http-allow-remote = true', async () => {
    const conf = path.join(sw.unitDir, 'netmgrd.conf');
    const good = fs.readFileSync(conf, 'utf8');
    const other = await freePort();
    // A non-loopback address of this host that no other host can reach: on a veth pair of the run's own (this
    // kernel has no dummy module); deleting one end deletes both.
    const dummy = `${sw.prefix}-x0`;
    const addr = '198.19.78.1';
    sh('ip', ['link', 'add', dummy, 'type', 'veth', 'peer', 'name', `${sw.prefix}-x1`]);
    sh('ip', ['addr', 'add', `${addr}/32`, 'dev', dummy]);
    sh('ip', ['link', 'set', dummy, 'up']);
    try {
      fs.writeFileSync(conf, `watch = false\nhttp-listen = "${addr}:${other}"\n`);
      expect(netmgr(['reload'], sw.daemon.env).code).toBe(0);
      // netmgrd's stderr reaches this process through a pipe: give the event loop time to read it.
      for (let i = 0; i < 50 && !sw.daemon.log().includes('not a loopback'); i++) await sleep(100);
      expect(sw.daemon.log()).toContain(
        `netmgrd.conf:2:15: error: \`http-listen\` ${addr} is not a loopback address: the status listener has no authentication`,
      );
      await expect(httpRequest(`http://${addr}:${other}/metrics`)).rejects.toThrow(/ECONNREFUSED/);
      // The settings in force stay: the listener is where it was.
      expect((await httpRequest(`${sw.url}metrics`)).status).toBe(200);
      // With the key, the listener moves there at the reload.
      fs.writeFileSync(conf, `watch = false\nhttp-listen = "${addr}:${other}"\nhttp-allow-remote = true\n`);
      expect(netmgr(['reload'], sw.daemon.env).code).toBe(0);
      expect((await httpRequest(`http://${addr}:${other}/metrics`)).status).toBe(200);
      await expect(httpRequest(`${sw.url}metrics`)).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      fs.writeFileSync(conf, good);
      netmgr(['reload'], sw.daemon.env);
      sh('ip', ['link', 'del', dummy]);
    }
    expect((await httpRequest(`${sw.url}metrics`)).status).toBe(200);
  });
});
