/**
 * The dhcpcd hook's report lines and what each event does to a lease: table-driven. The hook script itself is run
 * with dhcpcd's variables to check that it prints exactly the line parseHookLine reads.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { applyHookEvent, DHCP_HOOK_SCRIPT, parseHookLine, type HookEvent } from '../../../src/daemon/dhcp-events';

const WHERE = { unit: 'br0', namespace: null, link: 'br0' };
const NOW = 1_764_806_400_000;

describe('parseHookLine', () => {
  test.each<[string, string, HookEvent | undefined]>([
    ['not a hook line', 'br0: leased 198.18.154.57 for 120 seconds', undefined],
    [
      'a bound lease with two routers',
      'NETMGR-DHCP reason=BOUND ip=198.18.154.57 cidr=24 routers=198.18.154.1,198.18.154.2 server=198.18.154.1 lease=120 dns=198.18.154.1,198.18.154.3',
      {
        reason: 'BOUND',
        ip: '198.18.154.57',
        cidr: 24,
        routers: ['198.18.154.1', '198.18.154.2'],
        server: '198.18.154.1',
        leaseSeconds: 120,
        dns: ['198.18.154.1', '198.18.154.3'],
      },
    ],
    [
      'no router option',
      'NETMGR-DHCP reason=RENEW ip=198.18.154.57 cidr=24 routers= server=198.18.154.1 lease=120',
      {
        reason: 'RENEW',
        ip: '198.18.154.57',
        cidr: 24,
        routers: [],
        server: '198.18.154.1',
        leaseSeconds: 120,
        dns: [],
      },
    ],
    [
      'an event without a lease',
      'NETMGR-DHCP reason=EXPIRE ip= cidr= routers= server= lease=',
      { reason: 'EXPIRE', routers: [], dns: [] },
    ],
    [
      'values that are not what they should be are dropped',
      'NETMGR-DHCP reason=BOUND ip=198.18.154.57;rm cidr=33 routers=x server=evil lease=-5 dns=a;b',
      { reason: 'BOUND', routers: [], dns: [] },
    ],
  ])('%s', (_what, line, want) => {
    expect(parseHookLine(line)).toEqual(want);
  });
});

describe('applyHookEvent', () => {
  const lease = (reason: string, routers: string[] = ['198.18.154.1']): HookEvent => ({
    reason,
    ip: '198.18.154.57',
    cidr: 24,
    routers,
    server: '198.18.154.1',
    leaseSeconds: 120,
    dns: ['198.18.154.1'],
  });
  test.each<[string, HookEvent, string, Record<string, unknown> | undefined]>([
    ['BOUND gives a lease', lease('BOUND'), 'bound', { address: '198.18.154.57/24', router: '198.18.154.1' }],
    ['RENEW renews it', lease('RENEW'), 'bound', { event: 'RENEW', expiresAt: NOW + 120_000 }],
    ['REBIND renews it', lease('REBIND'), 'bound', { event: 'REBIND' }],
    ['REBOOT (a remembered lease confirmed)', lease('REBOOT'), 'bound', { event: 'REBOOT' }],
    ['no router: no router field', lease('BOUND', []), 'bound', { router: undefined }],
    ['name servers kept', lease('BOUND'), 'bound', { dns: ['198.18.154.1'] }],
    ['EXPIRE loses it', { reason: 'EXPIRE', routers: [], dns: [] }, 'lost', undefined],
    ['NAK loses it', { reason: 'NAK', routers: [], dns: [] }, 'lost', undefined],
    ['RELEASE loses it', { reason: 'RELEASE', routers: [], dns: [] }, 'lost', undefined],
    ['STOP loses it', { reason: 'STOP', routers: [], dns: [] }, 'lost', undefined],
    ['CARRIER changes nothing', { reason: 'CARRIER', routers: [], dns: [] }, 'none', undefined],
    [
      'NOCARRIER changes nothing (the lease is still valid)',
      { reason: 'NOCARRIER', routers: [], dns: [] },
      'none',
      undefined,
    ],
    ['BOUND without an address changes nothing', { reason: 'BOUND', routers: [], dns: [] }, 'none', undefined],
  ])('%s', (_what, e, kind, fields) => {
    const u = applyHookEvent(WHERE, e, NOW);
    expect(u.kind).toBe(kind);
    if (u.kind === 'bound') {
      expect(u.lease).toMatchObject({ ...WHERE, leaseSeconds: 120, boundAt: NOW, server: '198.18.154.1' });
      for (const [k, v] of Object.entries(fields ?? {}))
        expect([k, (u.lease as unknown as Record<string, unknown>)[k]]).toEqual([k, v]);
    }
  });
});

test('the hook script prints the line parseHookLine reads, from dhcpcd variables', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netmgr-hook-'));
  try {
    const hook = path.join(dir, 'hook');
    fs.writeFileSync(hook, DHCP_HOOK_SCRIPT, { mode: 0o700 });
    const r = spawnSync(hook, [], {
      encoding: 'utf8',
      env: {
        reason: 'BOUND',
        new_ip_address: '198.18.154.57',
        new_subnet_cidr: '24',
        new_routers: '198.18.154.1 198.18.154.2',
        new_dhcp_server_identifier: '198.18.154.1',
        new_dhcp_lease_time: '120',
        new_domain_name_servers: '198.18.154.1 198.18.154.3',
      },
    });
    expect(r.status).toBe(0);
    expect(parseHookLine(r.stdout.trim())).toEqual(
      parseHookLine(
        'NETMGR-DHCP reason=BOUND ip=198.18.154.57 cidr=24 routers=198.18.154.1,198.18.154.2 server=198.18.154.1 lease=120 dns=198.18.154.1,198.18.154.3',
      ),
    );
    expect(parseHookLine(r.stdout.trim())?.dns).toEqual(['198.18.154.1', '198.18.154.3']);
    expect(parseHookLine(r.stdout.trim())?.ip).toBe('198.18.154.57');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
