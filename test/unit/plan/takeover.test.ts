/**
 * uplinkProblems, table-driven: a NIC about to join a bridge is refused (without take-over) when the host may be
 * reached through it: a static address, a route, or an address the kernel formed from router advertisements.
 */
import type { LiveLink, LiveRoute, LiveState } from '../../../src/live/state';
import { uplinkProblems } from '../../../src/plan/takeover';
import { parseUnits } from '../../../src/units';

const units = (takeOver: boolean) =>
  parseUnits([
    { file: 'br0.toml', text: '[unit]\ntype = "bridge"\n' },
    {
      file: 'eth9.toml',
      text: `[unit]\ntype = "port"\n[port]\nbridge = "br0"\nkind = "system"\n${takeOver ? 'take-over = true\n' : ''}`,
    },
  ]).state!;

const nic = (over: Partial<LiveLink>): LiveLink => ({
  namespace: null,
  index: 9,
  name: 'eth9',
  mtu: 1500,
  mac: '02:00:00:00:00:09',
  up: true,
  addresses: [],
  ...over,
});

const live = (link: LiveLink, routes: LiveRoute[] = []): LiveState => ({
  namespaces: [],
  links: new Map([['', [link]]]),
  routes: new Map([['', routes]]),
});

const RA_ROUTE: LiveRoute = {
  namespace: null,
  link: 'eth9',
  family: 6,
  to: '::/0',
  via: 'fe80::1',
  metric: 1024,
  table: 254,
  protocol: 9,
};

test.each<[string, LiveState, string | undefined]>([
  ['nothing on it: attached without a word', live(nic({ linkLocal: ['fe80::9/64'] })), undefined],
  ['a static address', live(nic({ addresses: ['198.18.90.9/24'] })), 'eth9 carries 198.18.90.9/24;'],
  [
    'an address from router advertisements, and their default route',
    live(nic({ kernelAddresses: ['2001:db8:90::9/64'] }), [RA_ROUTE]),
    'eth9 carries 2001:db8:90::9/64 and the default route via fe80::1;',
  ],
  [
    'an address from router advertisements alone',
    live(nic({ kernelAddresses: ['2001:db8:90::9/64'] })),
    'eth9 carries 2001:db8:90::9/64;',
  ],
])('%s', (_what, state, message) => {
  const errors = uplinkProblems(units(false), state, []);
  if (message === undefined) expect(errors).toEqual([]);
  else expect(errors.map((e) => e.message)).toEqual([expect.stringContaining(message)]);
  // With take-over = true the same NIC is not a problem: the apply moves what it carries.
  expect(uplinkProblems(units(true), state, [])).toEqual([]);
});
