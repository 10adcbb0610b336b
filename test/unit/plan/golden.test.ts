/**
 * Plan golden files: each folder under test/golden/plan/ holds units/*.toml (desired), live.json (the live
 * state as netmgr reads it), owned.json (the ownership record), bridges.json (the bridges netmgrd runs), leases.json
 * (netmgrd's DHCP leases), port-numbers.json (netmgrd's record of its bridges' port numbers) and the expected plan.txt,
 * plan.json and
 * steps.txt. UPDATE_GOLDEN=1 rewrites the expectations; review the diff before committing.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Ownership, emptyOwnership } from '../../../src/model/ownership';
import { describeStep } from '../../../src/apply/runner';
import { LiveLink, LiveRoute, LiveState } from '../../../src/live/state';
import type { LiveBridge } from '../../../src/model/bridges';
import { withLeases, type DhcpLease } from '../../../src/model/leases';
import { planChanges } from '../../../src/plan/diff';
import { RTPROT_NETMGR } from '../../../src/netlink/route';
import { markLeaseChanges } from '../../../src/plan/leases';
import { formatPlan, planToJson } from '../../../src/plan/format';
import { invertStep, planSteps } from '../../../src/plan/steps';
import { parseUnits, readUnitDir } from '../../../src/units';

const ROOT = path.resolve(__dirname, '..', '..', 'golden', 'plan');
const update = process.env.UPDATE_GOLDEN === '1';

interface LiveFile {
  namespaces: string[];
  /** Links per namespace; "" is the root namespace. Omitted fields default to a down veth with no addresses. */
  links: Record<string, (Partial<LiveLink> & { name: string; index: number })[]>;
  /** The openvswitch module is loaded (what datapath = "auto" picks by); false when omitted. */
  kernelDatapath?: boolean;
  /** netmgr's routes per namespace ("" is the root namespace); none when omitted. */
  routes?: Record<string, (Omit<LiveRoute, 'namespace' | 'protocol'> & { protocol?: number })[]>;
}

function loadLive(dir: string): LiveState {
  const f = path.join(dir, 'live.json');
  const data: LiveFile = fs.existsSync(f) ? JSON.parse(fs.readFileSync(f, 'utf8')) : { namespaces: [], links: {} };
  const links = new Map<string, LiveLink[]>();
  links.set('', []);
  for (const [ns, list] of Object.entries(data.links)) {
    links.set(
      ns,
      list.map((l) => ({ namespace: ns === '' ? null : ns, kind: 'veth', mtu: 1500, up: false, addresses: [], ...l })),
    );
  }
  for (const ns of data.namespaces)
    if (!links.has(ns))
      links.set(ns, [
        { namespace: ns, index: 1, name: 'lo', kind: undefined, mtu: 65536, up: true, addresses: ['127.0.0.1/8'] },
      ]);
  const routes = new Map<string, LiveRoute[]>(
    Object.entries(data.routes ?? {}).map(([ns, list]) => [
      ns,
      list.map((r) => ({ namespace: ns === '' ? null : ns, protocol: RTPROT_NETMGR, ...r })),
    ]),
  );
  return { namespaces: data.namespaces, links, routes, kernelDatapath: data.kernelDatapath === true };
}

function loadOwned(dir: string): Ownership {
  const f = path.join(dir, 'owned.json');
  return fs.existsSync(f) ? { ...emptyOwnership(), ...JSON.parse(fs.readFileSync(f, 'utf8')) } : emptyOwnership();
}

function check(file: string, actual: string): void {
  if (update) fs.writeFileSync(file, actual);
  expect(actual).toBe(fs.readFileSync(file, 'utf8'));
}

const cases = fs
  .readdirSync(ROOT)
  .filter((d) => fs.statSync(path.join(ROOT, d)).isDirectory())
  .sort();

test('there are plan golden cases', () => {
  expect(cases.length).toBeGreaterThanOrEqual(10);
});

describe.each(cases)('plan golden case %s', (name) => {
  const dir = path.join(ROOT, name);
  test('plan text, JSON and steps match', () => {
    // git keeps no empty folders: a case without units/ is an empty unit set.
    const unitDir = path.join(dir, 'units');
    const sources = fs.existsSync(unitDir) ? readUnitDir(unitDir) : [];
    const parsed = parseUnits(sources.map((s) => ({ ...s, file: path.relative(ROOT, s.file) })));
    expect(parsed.errors).toEqual([]);
    const bridgesFile = path.join(dir, 'bridges.json');
    const bridges: LiveBridge[] = fs.existsSync(bridgesFile) ? JSON.parse(fs.readFileSync(bridgesFile, 'utf8')) : [];
    // leases.json: netmgrd's DHCP leases, planned with the units as observe plans them.
    const leasesFile = path.join(dir, 'leases.json');
    const leases: DhcpLease[] = fs.existsSync(leasesFile) ? JSON.parse(fs.readFileSync(leasesFile, 'utf8')) : [];
    const numbersFile = path.join(dir, 'port-numbers.json');
    const numbers = fs.existsSync(numbersFile) ? JSON.parse(fs.readFileSync(numbersFile, 'utf8')) : {};
    const plan = planChanges(withLeases(parsed.state!, leases), loadLive(dir), loadOwned(dir), bridges, numbers);
    markLeaseChanges(plan.changes, leases);
    check(path.join(dir, 'plan.txt'), formatPlan(plan));
    check(path.join(dir, 'plan.json'), JSON.stringify(planToJson(plan), null, 2) + '\n');
    const steps = planSteps(plan);
    check(
      path.join(dir, 'steps.txt'),
      steps.map((s, i) => `${i + 1}. ${describeStep(s)}   [undo: ${describeStep(invertStep(s))}]`).join('\n') + '\n',
    );
    // Every step's inverse inverts back to itself: undo is exact.
    for (const s of steps) expect(invertStep(invertStep(s))).toEqual(s);
  });
});
