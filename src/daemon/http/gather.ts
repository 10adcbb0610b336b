/**
 * Gathers what the status listener serves, at request time, from netmgrd's running bridges and the kernel: the
 * I/O edge of the listener (the renderers are pure functions of what this returns).
 */
import { observe } from '../../apply/observe';
import type { LiveBridge } from '../../model/bridges';
import type { DesiredState } from '../../model/types';
import { NamespaceSockets, nsKey } from '../../live/namespaces';
import { readHostInterfaces } from '../../live/host';
import { readNamespaceLinks } from '../../live/state';
import { readUnits } from '../config';
import { formatDot } from '../dot';
import { isLearning, type PolicyBridges } from '../fdb';
import { heldPorts } from '../report';
import type { StatusReport } from '../status';
import type { BridgeDetail, BuildInfo, SwitchSnapshot } from './snapshot';

/** What netmgrd gives the listener to read from. */
export interface SnapshotSources {
  /** `netmgr status --json` for netmgrd's own unit directory. */
  status(): StatusReport;
  /** The bridges netmgrd runs: their datapaths, policies and configuration. */
  bridges: PolicyBridges & { live(): LiveBridge[] };
  /** When a reload last applied successfully (ISO time), or null. */
  lastReloadAt(): string | null;
  stateDir: string;
  unitDir: string;
  build: BuildInfo;
}

/** Per bridge, port name -> administratively up, read from the namespaces the ports' interfaces live in. */
function readLinkStates(bridges: LiveBridge[]): Map<string, Record<string, boolean>> {
  const sockets = new NamespaceSockets();
  try {
    const byNs = new Map<string, Map<string, boolean>>();
    const linksOf = (ns: string | null) => {
      let m = byNs.get(nsKey(ns));
      if (!m) {
        m = new Map<string, boolean>();
        // A namespace deleted under netmgrd: its ports' link state is unknown (absent), not an error of the page.
        try {
          for (const l of readNamespaceLinks(sockets, ns)) m.set(l.name, l.up);
        } catch {
          /* absent */
        }
        byNs.set(nsKey(ns), m);
      }
      return m;
    };
    const out = new Map<string, Record<string, boolean>>();
    for (const b of bridges) {
      const up: Record<string, boolean> = {};
      const own = linksOf(null).get(b.name);
      if (own !== undefined) up[b.name] = own;
      for (const p of b.ports) {
        const state = linksOf(p.kind === 'internal' ? p.namespace : null).get(p.name);
        if (state !== undefined) up[p.name] = state;
      }
      out.set(b.name, up);
    }
    return out;
  } finally {
    sockets.close();
  }
}

/** Everything /metrics, /status.json and the page show, read now. */
export function gatherSnapshot(src: SnapshotSources): SwitchSnapshot {
  const status = src.status();
  const links = readLinkStates(src.bridges.live());
  const details: BridgeDetail[] = status.bridges.map((b) => {
    const policy = src.bridges.policy(b.name);
    const learning = isLearning(policy)
      ? { fdb: { stats: policy.fdbStats(), entries: policy.fdbShow() }, loop: policy.loopProtectionView() }
      : {};
    return { name: b.name, linkUp: links.get(b.name) ?? {}, ...learning };
  });
  return { status, details, lastReloadAt: src.lastReloadAt(), build: src.build, takenAt: new Date().toISOString() };
}

/** What `netmgr status --json` prints: netmgrd's status and the host's interfaces in the root namespace. */
export async function gatherStatusJson(src: SnapshotSources): Promise<StatusReport> {
  return { ...src.status(), host: await readHostInterfaces() };
}

const emptyDesired = (): DesiredState => ({ bridges: new Map(), ports: new Map(), namespaces: [] });

/** The topology as `netmgr show --dot` draws it for netmgrd's unit directory. */
export function gatherDot(src: SnapshotSources, snapshot: SwitchSnapshot): string {
  const units = readUnits(src.unitDir);
  const bridges = src.bridges.live();
  const { world } = observe(units.state ?? emptyDesired(), { stateDir: src.stateDir, bridges });
  const held = new Map(
    snapshot.details.flatMap((d) => (d.loop ? [[d.name, new Map(heldPorts(d.loop).map((h) => [h.name, h.why]))]] : [])),
  );
  const notes = units.state ? [] : [`the units in ${src.unitDir} have errors: nothing drawn as pending`];
  return formatDot({
    desired: units.state,
    live: world.live,
    owned: world.owned,
    bridges,
    portNumbers: world.portNumbers,
    notes,
    held,
  });
}
