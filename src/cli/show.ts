import { observe } from '../apply/observe';
import { nsLabel } from '../live/namespaces';
import { findLink, isOwnRoute, LiveLink } from '../live/state';
import { DesiredState } from '../model/types';
import { formatChange, formatRoute } from '../plan/format';
import { Change } from '../plan/types';
import { Command, EXIT_OK, UsageError } from './command';
import { formatDot } from '../daemon/dot';
import { ask, bridgesToPlan } from './daemon-client';
import { StpRequest, type StpShowResult } from '../daemon/protocol';
import { heldPorts } from '../daemon/report';
import { readUnits } from '../daemon/config';
import { DIR_OPTION, JSON_OPTION, parseOptions, paths, printJson, requireRoot } from './common';

const emptyDesired = (): DesiredState => ({ bridges: new Map(), ports: new Map(), namespaces: [] });

function linkJson(l: LiveLink | undefined) {
  if (!l) return null;
  return { index: l.index, mtu: l.mtu, mac: l.mac ?? null, state: l.up ? 'up' : 'down', addresses: l.addresses };
}

function linkText(name: string, l: LiveLink | undefined): string {
  if (!l) return `${name}: missing`;
  return `${name}: index ${l.index}, mtu ${l.mtu}, mac ${l.mac ?? '-'}, ${l.up ? 'up' : 'down'}${l.addresses.length ? ', ' + l.addresses.join(' ') : ''}`;
}

/** Per learning bridge netmgrd runs, the ports its loop protection holds (name -> why), as `status` lists them. */
async function heldByBridge(socket: string): Promise<Map<string, Map<string, string>>> {
  const r = await ask(socket, StpRequest, { command: 'show' });
  if (!r.ok) return new Map();
  return new Map((r.result as StpShowResult).map((v) => [v.bridge, new Map(heldPorts(v).map((h) => [h.name, h.why]))]));
}

export const showCommand: Command = {
  name: 'show',
  summary: 'show the live state of everything netmgr manages, and drift from the units',
  usage: 'netmgr show [--json | --dot] [--dir DIR]',
  async run(ctx) {
    const { values } = parseOptions(ctx, { ...DIR_OPTION, ...JSON_OPTION, dot: { type: 'boolean' } });
    if (values.json && values.dot) throw new UsageError('--json and --dot cannot be used together');
    requireRoot('netmgr show');
    const p = paths(ctx, values.dir);
    const units = readUnits(p.unitDir);
    const desired = units.state ?? emptyDesired();
    const { bridges, daemonRunning } = await bridgesToPlan(p.socket, p.stateDir);
    const { world, plan } = observe(desired, { stateDir: p.stateDir, bridges });
    const { live, owned } = world;
    if (values.dot) {
      const held = daemonRunning ? await heldByBridge(p.socket) : undefined;
      const notes = [
        ...(daemonRunning ? [] : ['netmgrd is not running: kernel bridges only']),
        ...(units.state ? [] : [`the units in ${p.unitDir} have errors: nothing drawn as pending`]),
      ];
      ctx.stdout(
        formatDot({ desired: units.state, live, owned, bridges, portNumbers: world.portNumbers, notes, held }),
      );
      return EXIT_OK;
    }
    // Drift: what apply would change; null when the units are invalid or conflict with the live system.
    const drift: Change[] | null = units.state && plan ? plan.changes : null;
    const veths = owned.veths.map((v) => ({
      unit: v.unit,
      ends: [
        { namespace: v.namespace, name: v.name, live: linkJson(findLink(live, v.namespace, v.name)) },
        { namespace: v.peerNamespace, name: v.peer, live: linkJson(findLink(live, v.peerNamespace, v.peer)) },
      ],
    }));
    const namespaces = owned.namespaces.map((n) => ({ name: n, present: live.namespaces.includes(n) }));
    const routes = [...(live.routes?.values() ?? [])].flat().filter(isOwnRoute);
    if (values.json) {
      printJson(ctx, {
        schema: 'netmgr.show/1',
        namespaces,
        veths,
        routes,
        bridges,
        unitsValid: units.errors.length === 0,
        drift,
      });
      return EXIT_OK;
    }
    const out: string[] = [];
    out.push(
      `Namespaces created by netmgr: ${namespaces.length ? namespaces.map((n) => n.name + (n.present ? '' : ' (missing)')).join(', ') : 'none'}`,
    );
    out.push(`Veth pairs created by netmgr: ${veths.length || 'none'}`);
    for (const v of owned.veths) {
      out.push(`  ${v.name} [${nsLabel(v.namespace)}] <-> ${v.peer} [${nsLabel(v.peerNamespace)}]  (unit ${v.unit})`);
      out.push(`    ${linkText(v.name, findLink(live, v.namespace, v.name))}`);
      out.push(`    ${linkText(v.peer, findLink(live, v.peerNamespace, v.peer))}`);
    }
    out.push(`Routes added by netmgr: ${routes.length || 'none'}`);
    for (const r of routes) out.push(`  ${formatRoute(r)} dev ${r.link} [${nsLabel(r.namespace)}]`);
    out.push(
      `Bridges${daemonRunning ? ' run by netmgrd' : ' (netmgrd is not running: kernel bridges only)'}: ${bridges.length || 'none'}`,
    );
    for (const b of bridges) {
      out.push(`  ${b.name} (datapath ${b.datapath}, policy ${b.policy}, ${b.flows.length} flow(s))`);
      for (const port of b.ports)
        out.push(
          `    port ${port.no}: ${port.name} (${port.kind}${port.namespace ? `, namespace ${port.namespace}` : ''})`,
        );
    }
    if (!units.state) out.push(`Drift: not computed, the units in ${p.unitDir} have errors (netmgr validate)`);
    else if (drift === null) out.push('Drift: not computed, the units conflict with the live system (netmgr validate)');
    else if (!drift.length) out.push('Drift: none, the live state matches the units.');
    else {
      out.push('Drift (what `netmgr apply` would change):');
      for (const c of drift) out.push('  ' + formatChange(c).replace(/\n/g, '\n  '));
    }
    ctx.stdout(out.join('\n') + '\n');
    return EXIT_OK;
  },
};
