/**
 * netmgrd's DHCP clients: Debian's dhcpcd, one process per interface with `dhcp = true`, supervised here. dhcpcd
 * runs with `noconfigure`: it does the protocol (DISCOVER .. ACK, RENEWING at T1, REBINDING at T2, expiry, ARP
 * probe) and changes nothing on the system; its hook only reports each event. netmgrd keeps the leases (in memory
 * and in dhcp-leases.json) and applies units + leases through its own plan, journal, ownership and verify, so the
 * address and default route of a lease show in plan and status like a unit's own, and go when the lease does.
 */
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as readline from 'readline';
import { loadLeases, saveLeases } from '../apply/leases';
import { leaseKey, type DhcpInterface, type DhcpLease } from '../model/leases';
import { netnsPath } from '../util/paths';
import { applyHookEvent, DHCP_HOOK_SCRIPT, parseHookLine } from './dhcp-events';
import type { Logger } from './log';
import type { DhcpClientStatus } from './status';

/**
 * dhcpcd's configuration: IPv4 only, no changes to the system, no link-local fallback, our reporting hook, and the
 * name servers asked for (servers send option 6 only when asked; netmgr uses them where a unit says use-dns).
 */
const dhcpcdConf = (hook: string) => `# written by netmgrd: dhcpcd only reports leases; netmgrd applies them
noconfigure
ipv4only
noipv4ll
option domain_name_servers
script ${hook}
`;

/** How long a stopping dhcpcd gets to send its DHCPRELEASE and exit before the apply goes on. */
const STOP_WAIT_MS = 3000;

interface Client {
  iface: DhcpInterface;
  child: ChildProcess;
  status: DhcpClientStatus;
  stopping: boolean;
  /** dhcpcd's last lines on stderr (its very last is "dhcpcd exited"): why it exited, for the error that says so. */
  stderrTail: string[];
}

export interface DhcpSupervisorOptions {
  stateDir: string;
  log: Logger;
  /** The leases changed (a new address or router, or a lease lost): the units in force are to be applied again. */
  onLeasesChanged(): void;
  /** The dhcpcd binary (tests and packagers may point elsewhere). */
  dhcpcd?: string;
}

export class DhcpSupervisor {
  private readonly clients = new Map<string, Client>();
  private leases: Map<string, DhcpLease>;
  private readonly conf: string;

  constructor(private readonly opts: DhcpSupervisorOptions) {
    this.leases = new Map(loadLeases(opts.stateDir).map((l) => [leaseKey(l.namespace, l.link), l]));
    const dir = path.join(opts.stateDir, 'dhcp');
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const hook = path.join(dir, 'report-hook');
    fs.writeFileSync(hook, DHCP_HOOK_SCRIPT, { mode: 0o700 });
    this.conf = path.join(dir, 'dhcpcd.conf');
    fs.writeFileSync(this.conf, dhcpcdConf(hook), { mode: 0o600 });
  }

  /** The clients and their leases, for `netmgr status`. */
  status(): DhcpClientStatus[] {
    return [...this.clients.values()].map((c) => c.status);
  }

  /**
   * Before an apply of new units: the clients of interfaces the units no longer want DHCP on release their lease
   * (dhcpcd sends DHCPRELEASE while the address is still there) and stop; their leases are dropped, so the apply
   * removes the address and route.
   */
  stopUnwanted(wanted: readonly DhcpInterface[]): void {
    const keep = new Set(wanted.map((w) => `${leaseKey(w.namespace, w.link)} ${w.unit}`));
    for (const [key, c] of this.clients) {
      if (keep.has(`${key} ${c.iface.unit}`)) continue;
      this.stopClient(c, 'SIGALRM');
      this.clients.delete(key);
      this.opts.log.notice(`dhcp: ${describe(c.iface)}: lease released, client stopped (no longer in the units)`);
    }
    let dropped = false;
    for (const [key, l] of this.leases) if (!keep.has(`${key} ${l.unit}`)) dropped = this.leases.delete(key) || dropped;
    if (dropped) this.save();
  }

  /** After an apply: a client on every interface the units want DHCP on (the interface exists now). */
  startWanted(wanted: readonly DhcpInterface[]): void {
    for (const w of wanted) if (!this.clients.has(leaseKey(w.namespace, w.link))) this.startClient(w);
  }

  /** netmgrd stops: the clients stop without releasing (the lease and its address stay for the next netmgrd). */
  shutdown(): void {
    for (const c of this.clients.values()) this.stopClient(c, 'SIGTERM');
    this.clients.clear();
  }

  private startClient(iface: DhcpInterface): void {
    const bin = this.opts.dhcpcd ?? 'dhcpcd';
    const args = ['-B', '-4', '-f', this.conf, iface.link];
    const child =
      iface.namespace === null
        ? spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] })
        : spawn('nsenter', [`--net=${netnsPath(iface.namespace)}`, bin, ...args], {
            stdio: ['ignore', 'pipe', 'pipe'],
          });
    const lease = this.leases.get(leaseKey(iface.namespace, iface.link));
    const c: Client = {
      iface,
      child,
      stopping: false,
      stderrTail: [],
      status: { ...where(iface), state: lease ? 'bound' : 'requesting', event: 'START', eventAt: iso(Date.now()) },
    };
    if (lease) Object.assign(c.status, leaseStatus(lease));
    this.clients.set(leaseKey(iface.namespace, iface.link), c);
    this.opts.log.info(`dhcp: ${describe(iface)}: dhcpcd started (pid ${child.pid})`);
    readline.createInterface({ input: child.stdout }).on('line', (l) => this.onLine(c, l));
    readline.createInterface({ input: child.stderr }).on('line', (l) => {
      c.stderrTail = [...c.stderrTail.slice(-3), l];
      this.opts.log.debug(`dhcpcd ${iface.link}: ${l}`);
    });
    child.on('error', (e) => this.opts.log.error(`dhcp: ${describe(iface)}: cannot run dhcpcd: ${e.message}`));
    child.on('exit', (code, signal) => this.onExit(c, code, signal));
  }

  private onLine(c: Client, line: string): void {
    const e = parseHookLine(line);
    if (!e) return this.opts.log.debug(`dhcpcd ${c.iface.link}: ${line}`);
    if (c.stopping) return;
    const now = Date.now();
    Object.assign(c.status, { event: e.reason, eventAt: iso(now) });
    const key = leaseKey(c.iface.namespace, c.iface.link);
    const before = this.leases.get(key);
    const u = applyHookEvent(where(c.iface), e, now);
    if (u.kind === 'bound') {
      this.leases.set(key, u.lease);
      Object.assign(c.status, { state: 'bound' }, leaseStatus(u.lease));
      this.save();
      const changed =
        before?.address !== u.lease.address ||
        before?.router !== u.lease.router ||
        (before?.dns ?? []).join() !== (u.lease.dns ?? []).join();
      const what = `${u.lease.address}${u.lease.router ? ` router ${u.lease.router}` : ''} for ${u.lease.leaseSeconds} s`;
      this.opts.log.notice(`dhcp: ${describe(c.iface)}: ${e.reason} ${what} from ${u.lease.server ?? '?'}`);
      if (changed) this.opts.onLeasesChanged();
    } else if (u.kind === 'lost' && before) {
      this.leases.delete(key);
      c.status.state = 'lost';
      this.save();
      this.opts.log.warning(
        `dhcp: ${describe(c.iface)}: lease of ${before.address} lost (${e.reason}); its address and route are removed`,
      );
      this.opts.onLeasesChanged();
    } else this.opts.log.info(`dhcp: ${describe(c.iface)}: ${e.reason}`);
  }

  private onExit(c: Client, code: number | null, signal: NodeJS.Signals | null): void {
    c.status.state = 'stopped';
    if (c.stopping) return;
    const key = leaseKey(c.iface.namespace, c.iface.link);
    if (this.clients.get(key) === c) this.clients.delete(key);
    this.opts.log.error(
      `dhcp: ${describe(c.iface)}: dhcpcd exited (${signal ?? `status ${code}`}${c.stderrTail.length ? `: ${c.stderrTail.join('; ')}` : ''}); started again at the next apply`,
    );
  }

  /** Signals dhcpcd and waits (briefly, synchronously: the apply that follows needs the release sent) for its exit. */
  private stopClient(c: Client, signal: NodeJS.Signals): void {
    c.stopping = true;
    const pid = c.child.pid;
    if (pid === undefined || c.child.exitCode !== null || c.child.signalCode !== null) return;
    c.child.kill(signal);
    const until = Date.now() + STOP_WAIT_MS;
    while (Date.now() < until && running(pid)) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  }

  private save(): void {
    saveLeases(this.opts.stateDir, [...this.leases.values()]);
  }
}

/** Whether pid is still running: not gone and not a zombie waiting to be reaped. */
function running(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

const iso = (ms: number) => new Date(ms).toISOString();
const where = (i: DhcpInterface) => ({ unit: i.unit, namespace: i.namespace, link: i.link });
const describe = (i: DhcpInterface) => `${i.link}${i.namespace ? ` (namespace ${i.namespace})` : ''}`;
const leaseStatus = (l: DhcpLease) => ({
  address: l.address,
  ...(l.router ? { router: l.router } : {}),
  ...(l.server ? { server: l.server } : {}),
  ...(l.dns ? { dns: l.dns } : {}),
  expiresAt: iso(l.expiresAt),
});
