/**
 * planSteps turns a plan into primitive, reversible steps in dependency order; invertStep gives each step's
 * undo. Both are pure: the executor only runs them.
 */
import type { BridgeConfig, LinkConfig, PortConfig } from '../model/bridges';
import { Change, Plan, PlanLink, Step, StepVethEnd } from './types';
import { takeoverSteps } from './takeover';

const linkConfig = (l: PlanLink): LinkConfig => ({ mtu: l.mtu, mac: l.mac, up: l.state === 'up' });

/**
 * Execution phases: containers before contents, takedowns before the deletes that free names for replacements,
 * settings before addresses, links up only once fully configured, routes once their links are up (the kernel refuses
 * a next hop on a link that is down) and removed before anything they depend on, containers deleted last. A port's VLAN
 * settings change right after the ports are added, and a learning bridge's settings after that: its static MACs
 * may name ports this plan adds.
 */
const PHASE = {
  nsCreate: 0,
  routeDel: 1,
  addrDel: 2,
  flowDel: 4,
  portRemove: 5,
  bridgeDelete: 6,
  vethDelete: 7,
  vethCreate: 8,
  bridgeCreate: 9,
  portAdd: 10,
  portSet: 11,
  bridgeSet: 12,
  linkSettings: 13,
  addrAdd: 14,
  flowAdd: 15,
  linkState: 16,
  routeAdd: 17,
  nsDelete: 18,
} as const;

export function planSteps(plan: Plan): Step[] {
  const steps: [number, Step][] = [];
  const push = (phase: number, s: Step) => steps.push([phase, s]);
  for (const c of plan.changes) stepsFor(c, push);
  return steps
    .map((s, i) => [s, i] as const)
    .sort((x, y) => x[0][0] - y[0][0] || x[1] - y[1])
    .map(([[, s]]) => s);
}

function stepsFor(c: Change, push: (phase: number, s: Step) => void): void {
  switch (c.object) {
    case 'namespace':
      push(c.action === 'create' ? PHASE.nsCreate : PHASE.nsDelete, {
        op: c.action === 'create' ? 'ns.create' : 'ns.delete',
        name: c.name,
      });
      return;
    case 'veth':
      vethSteps(c, push);
      return;
    case 'link': {
      const { mtu, mac, state } = c.fields;
      if (mtu || mac) {
        push(PHASE.linkSettings, {
          op: 'link.set',
          namespace: c.namespace,
          name: c.name,
          to: { mtu: mtu?.to, mac: mac?.to },
          from: { mtu: mtu?.from, mac: mac?.from || undefined },
        });
      }
      if (state)
        push(PHASE.linkState, {
          op: 'link.set',
          namespace: c.namespace,
          name: c.name,
          to: { up: state.to === 'up' },
          from: { up: state.from === 'up' },
        });
      return;
    }
    case 'address':
      if (c.action === 'create')
        push(PHASE.addrAdd, { op: 'addr.add', namespace: c.namespace, link: c.link, address: c.address });
      else push(PHASE.addrDel, { op: 'addr.del', namespace: c.namespace, link: c.link, address: c.address });
      return;
    case 'dns':
      push(PHASE.routeAdd, { op: 'dns.set', to: c.to, from: c.from });
      return;
    case 'ipv6':
      push(PHASE.linkSettings, {
        op: 'ipv6.set',
        namespace: c.namespace,
        link: c.link,
        to: c.set.to,
        from: c.set.from,
      });
      return;
    case 'takeover':
      takeoverSteps(c, (phase, s) => push(PHASE[phase], s));
      return;
    case 'route':
      if (c.action === 'create')
        push(PHASE.routeAdd, { op: 'route.add', namespace: c.namespace, link: c.link, route: c.route });
      else push(PHASE.routeDel, { op: 'route.del', namespace: c.namespace, link: c.link, route: c.route });
      return;
    case 'bridge':
      bridgeSteps(c, push);
      return;
    case 'port':
      portSteps(c, push);
      return;
    case 'flow': {
      const flow = { match: c.match, actions: c.actions };
      push(c.action === 'create' ? PHASE.flowAdd : PHASE.flowDel, {
        op: c.action === 'create' ? 'flow.add' : 'flow.del',
        bridge: c.bridge,
        flow,
      });
      return;
    }
  }
}

/** A veth pair created, or deleted with what undo needs to give back the very same pair. */
function vethSteps(c: Extract<Change, { object: 'veth' }>, push: (phase: number, s: Step) => void): void {
  if (c.action === 'create') {
    const [a, b] = c.ends;
    push(PHASE.vethCreate, {
      op: 'veth.create',
      a: { namespace: a.namespace, name: a.name, mtu: a.mtu, mac: a.mac },
      b: { namespace: b.namespace, name: b.name, mtu: b.mtu, mac: b.mac },
    });
    for (const e of c.ends)
      if (e.state === 'up')
        push(PHASE.linkState, {
          op: 'link.set',
          namespace: e.namespace,
          name: e.name,
          to: { up: true },
          from: { up: false },
        });
  } else {
    // One step per pair, deleted as it is (up, with its addresses): taking each address and the up flag away
    // first would cost the kernel a grace period per link brought down, and the restore gives them back anyway.
    const [a, b] = c.ends;
    const restore = (e: (typeof c.ends)[number]): StepVethEnd => ({
      namespace: e.namespace,
      name: e.name,
      mtu: e.mtu,
      mac: e.mac,
      index: e.index,
      ...(e.addresses.length ? { addresses: e.addresses } : {}),
      ...(e.state === 'up' ? { up: true } : {}),
    });
    push(PHASE.vethDelete, {
      op: 'veth.delete',
      namespace: a.namespace,
      name: a.name,
      restore: { a: restore(a), b: restore(b) },
    });
  }
}

/** A bridge created, deleted (addresses first) or its learning settings replaced. */
function bridgeSteps(c: Extract<Change, { object: 'bridge' }>, push: (phase: number, s: Step) => void): void {
  if (c.action === 'modify') {
    push(PHASE.bridgeSet, { op: 'bridge.set', name: c.name, to: c.learning.to, from: c.learning.from });
    return;
  }
  const bridge: BridgeConfig = {
    name: c.name,
    datapath: c.datapath as BridgeConfig['datapath'],
    policy: c.policy as BridgeConfig['policy'],
    link: linkConfig(c.link),
    ...(c.learning ? { learning: c.learning } : {}),
  };
  if (c.action === 'create') {
    push(PHASE.bridgeCreate, { op: 'bridge.create', bridge });
  } else {
    // Addresses go first so that undo re-adds them to the re-created interface one by one.
    for (const address of c.addresses) push(PHASE.addrDel, { op: 'addr.del', namespace: null, link: c.name, address });
    push(PHASE.bridgeDelete, { op: 'bridge.delete', name: c.name, restore: bridge });
  }
}

/** A port added, removed (addresses first) or its VLAN settings replaced. */
function portSteps(c: Extract<Change, { object: 'port' }>, push: (phase: number, s: Step) => void): void {
  if (c.action === 'modify') {
    push(PHASE.portSet, { op: 'port.set', bridge: c.bridge, name: c.name, to: c.vlans.to, from: c.vlans.from });
    return;
  }
  const port: PortConfig = {
    name: c.name,
    no: c.no,
    kind: c.kind as PortConfig['kind'],
    namespace: c.namespace,
    link: linkConfig(c.link),
    ...(c.vlans ? { vlans: c.vlans } : {}),
    ...(c.tunnel ? { tunnel: c.tunnel } : {}),
  };
  if (c.action === 'create') {
    push(PHASE.portAdd, { op: 'port.add', bridge: c.bridge, port });
  } else {
    for (const address of c.addresses)
      push(PHASE.addrDel, { op: 'addr.del', namespace: c.namespace, link: c.name, address });
    push(PHASE.portRemove, { op: 'port.remove', bridge: c.bridge, name: c.name, restore: port });
  }
}

export function invertStep(s: Step): Step {
  switch (s.op) {
    case 'ns.create':
      return { op: 'ns.delete', name: s.name };
    case 'ns.delete':
      return { op: 'ns.create', name: s.name };
    case 'veth.create':
      return { op: 'veth.delete', namespace: s.a.namespace, name: s.a.name, restore: { a: s.a, b: s.b } };
    case 'veth.delete':
      return { op: 'veth.create', a: s.restore.a, b: s.restore.b };
    case 'link.set':
      return { op: 'link.set', namespace: s.namespace, name: s.name, to: s.from, from: s.to };
    case 'addr.add':
      return { op: 'addr.del', namespace: s.namespace, link: s.link, address: s.address };
    case 'addr.del':
      return { op: 'addr.add', namespace: s.namespace, link: s.link, address: s.address };
    case 'route.add':
      return { op: 'route.del', namespace: s.namespace, link: s.link, route: s.route };
    case 'route.del':
      return { op: 'route.add', namespace: s.namespace, link: s.link, route: s.route };
    case 'dns.set':
      return { op: 'dns.set', to: s.from, from: s.to };
    case 'ipv6.set':
      return { op: 'ipv6.set', namespace: s.namespace, link: s.link, to: s.from, from: s.to };
    case 'bridge.create':
      return { op: 'bridge.delete', name: s.bridge.name, restore: s.bridge };
    case 'bridge.delete':
      return { op: 'bridge.create', bridge: s.restore };
    case 'port.add':
      return { op: 'port.remove', bridge: s.bridge, name: s.port.name, restore: s.port };
    case 'port.remove':
      return { op: 'port.add', bridge: s.bridge, port: s.restore };
    case 'bridge.set':
      return { op: 'bridge.set', name: s.name, to: s.from, from: s.to };
    case 'port.set':
      return { op: 'port.set', bridge: s.bridge, name: s.name, to: s.from, from: s.to };
    case 'flow.add':
      return { op: 'flow.del', bridge: s.bridge, flow: s.flow };
    case 'flow.del':
      return { op: 'flow.add', bridge: s.bridge, flow: s.flow };
  }
}

/** The object a step changes, as a key: two steps with the same key must not share a journal batch. */
function stepTarget(s: Step): string {
  switch (s.op) {
    case 'ns.create':
    case 'ns.delete':
      return `ns ${s.name}`;
    case 'veth.create':
      return `link ${s.a.namespace}/${s.a.name}`;
    case 'veth.delete':
    case 'link.set':
      return `link ${s.namespace}/${s.name}`;
    case 'addr.add':
    case 'addr.del':
    case 'route.add':
    case 'route.del':
    case 'ipv6.set':
      return `link ${s.namespace}/${s.link}`;
    case 'dns.set':
      return 'dns';
    case 'bridge.create':
      return `bridge ${s.bridge.name}`;
    case 'bridge.delete':
    case 'bridge.set':
      return `bridge ${s.name}`;
    case 'port.add':
      return `port ${s.bridge}/${s.port.name}`;
    case 'port.remove':
    case 'port.set':
      return `port ${s.bridge}/${s.name}`;
    case 'flow.add':
    case 'flow.del':
      return `flow ${s.bridge}/${s.flow.match}`;
  }
}

/** Steps written to the journal with one sync at most. */
export const MAX_STEP_BATCH = 256;

/**
 * Splits steps (in order) into the batches the journal writes ahead with one sync each (pure): runs of one op on
 * distinct objects. Within such a run no step depends on another, so a crash that leaves some of a batch begun
 * but not run is undone exactly as a lone begun step is: the undo of a step that never ran finds its object as
 * the plan saw it and is a no-op ("already undone", EEXIST). Steps of different ops (a namespace and the veth
 * created in it) or on one object (its MTU, then up) are never in one batch.
 */
export function stepBatches(steps: readonly Step[]): Step[][] {
  const batches: Step[][] = [];
  let batch: Step[] = [];
  let targets = new Set<string>();
  for (const s of steps) {
    const target = stepTarget(s);
    if (batch.length && (batch[0].op !== s.op || targets.has(target) || batch.length >= MAX_STEP_BATCH)) {
      batches.push(batch);
      batch = [];
      targets = new Set();
    }
    batch.push(s);
    targets.add(target);
  }
  if (batch.length) batches.push(batch);
  return batches;
}
