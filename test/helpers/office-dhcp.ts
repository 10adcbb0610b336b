/** examples/office-dhcp's surroundings for examples-e2e.test.ts: the office network with dnsmasq, and a desk PC. */
import * as fs from 'fs';
import * as path from 'path';
import { sh, tempDir } from './sys';

/**
 * office-dhcp: the office network is a namespace behind the veth whose root end plays uplink0, where dnsmasq
 * (started by PID, its own pid and lease files) serves 198.18.154.128/25 with no router option, so the test box's
 * own default route is never touched; a desk PC sits behind desk0 with a static address.
 */
export const office = {
  lan: '',
  lanDev: '',
  desk: '',
  deskDev: '',
  dir: '',
  pid: 0,
  /** The bridge that takes the lease (dhcpcd keeps a lease file per interface, removed at teardown). */
  bridge: '',
};

export function officeSetup(P: string, n: (name: string) => string): void {
  Object.assign(office, { lan: `${P}odl`, lanDev: `${P}odl0`, desk: `${P}odd`, deskDev: `${P}odd0` });
  office.dir = tempDir('ex-office-dhcp-dnsmasq');
  office.bridge = n('office0');
  for (const [ns, dev, nic, addr] of [
    [office.lan, office.lanDev, n('uplink0'), '198.18.154.129/25'],
    [office.desk, office.deskDev, n('desk0'), '198.18.154.230/25'],
  ]) {
    sh('ip', ['netns', 'add', ns]);
    sh('ip', ['link', 'add', nic, 'type', 'veth', 'peer', 'name', dev, 'netns', ns]);
    sh('sysctl', ['-qw', `net.ipv6.conf.${nic}.disable_ipv6=1`]);
    sh('ip', ['-n', ns, 'addr', 'add', addr, 'dev', dev]);
    sh('ip', ['-n', ns, 'link', 'set', dev, 'up']);
  }
  const pidFile = path.join(office.dir, 'dnsmasq.pid');
  sh('ip', [
    'netns',
    'exec',
    office.lan,
    'dnsmasq',
    '--port=0',
    `--pid-file=${pidFile}`,
    `--dhcp-leasefile=${path.join(office.dir, 'leases')}`,
    `--interface=${office.lanDev}`,
    '--bind-interfaces',
    '--dhcp-range=198.18.154.150,198.18.154.190,255.255.255.128,2m',
    '--dhcp-option=3',
  ]);
  office.pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
}

export function officeTeardown(): void {
  if (office.pid) {
    try {
      process.kill(office.pid, 'SIGTERM');
    } catch {
      // already gone
    }
    office.pid = 0;
  }
  if (office.dir) fs.rmSync(office.dir, { recursive: true, force: true });
  if (office.bridge) fs.rmSync(`/var/lib/dhcpcd/${office.bridge}.lease`, { force: true });
}
