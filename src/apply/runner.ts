/** Executes one primitive step against the kernel. The only place apply writes to netlink. */
import * as fs from 'fs';
import { native } from '../native';
import { NamespaceSockets, nsLabel } from '../live/namespaces';
import { NamespaceName } from '../model/types';
import {
  addAddress,
  createVeth,
  deleteAddress,
  deleteLink,
  getLinkByName,
  setLink,
  VethEndSpec,
} from '../netlink/rtnl';
import { formatRoute, formatVlans } from '../plan/format';
import { addRoute, deleteRoute } from '../netlink/route';
import { DatapathStep, isDatapathStep, Step, StepVethEnd } from '../plan/types';
import { NetmgrError } from '../util/errors';
import { describeIpv6, setIpv6 } from './ipv6';
import { writeResolvConf } from './resolv';
import { NETNS_DIR, netnsPath } from '../util/paths';

/** What the undo of a veth.delete gives back to an end besides the link: " (198.18.0.1/24, up)". */
function restored(e: StepVethEnd): string {
  const parts = [...(e.addresses ?? []), ...(e.up ? ['up'] : [])];
  return parts.length ? ` (${parts.join(', ')})` : '';
}

export function describeStep(s: Step): string {
  const at = (ns: NamespaceName, name: string) => `${name} [${nsLabel(ns)}]`;
  switch (s.op) {
    case 'ns.create':
      return `create namespace ${s.name}`;
    case 'ns.delete':
      return `delete namespace ${s.name}`;
    case 'veth.create':
      return `create veth ${at(s.a.namespace, s.a.name)}${restored(s.a)} <-> ${at(s.b.namespace, s.b.name)}${restored(s.b)}`;
    case 'veth.delete':
      return `delete veth ${at(s.namespace, s.name)}`;
    case 'link.set': {
      const t = s.to;
      const parts = [
        t.mtu !== undefined && `mtu ${t.mtu}`,
        t.mac !== undefined && `mac ${t.mac}`,
        t.up !== undefined && (t.up ? 'up' : 'down'),
      ].filter(Boolean);
      return `set ${at(s.namespace, s.name)} ${parts.join(', ')}`;
    }
    case 'addr.add':
      return `add ${s.address} to ${at(s.namespace, s.link)}`;
    case 'addr.del':
      return `remove ${s.address} from ${at(s.namespace, s.link)}`;
    case 'route.add':
      return `add route ${formatRoute(s.route)} dev ${at(s.namespace, s.link)}`;
    case 'route.del':
      return `remove route ${formatRoute(s.route)} dev ${at(s.namespace, s.link)}`;
    case 'dns.set':
      return `write resolv.conf name servers: ${s.to.join(' ') || '(none: remove the file)'}`;
    case 'ipv6.set':
      return `set ipv6 of ${at(s.namespace, s.link)}: ${describeIpv6(s.to)}`;
    case 'bridge.create':
      return `create bridge ${s.bridge.name} (${s.bridge.datapath}, ${s.bridge.policy})`;
    case 'bridge.delete':
      return `delete bridge ${s.name}`;
    case 'port.add':
      return `add port ${s.port.no} ${at(s.port.namespace, s.port.name)} (${s.port.kind}${s.port.vlans ? `, ${formatVlans(s.port.vlans)}` : ''}) to ${s.bridge}`;
    case 'port.remove':
      return `remove port ${s.restore.no} ${s.name} from ${s.bridge}`;
    case 'bridge.set': {
      const n = s.to.staticMacs.length;
      const stp = s.to.stp
        ? `, stp ${s.to.stp.mode}, loop-detect ${s.to.stp.loopDetect ? 'on' : 'off'}, ${s.to.stp.ports.length} port setting${s.to.stp.ports.length === 1 ? '' : 's'}`
        : '';
      return `set bridge ${s.name} mac-aging ${s.to.macAging}, mac-table-size ${s.to.macTableSize}, ${n} static MAC${n === 1 ? '' : 's'}${stp}`;
    }
    case 'port.set':
      return `set port ${s.name} of ${s.bridge} ${formatVlans(s.to)}`;
    case 'flow.add':
      return `add flow to ${s.bridge}: ${s.flow.match} actions:${s.flow.actions}`;
    case 'flow.del':
      return `delete flow from ${s.bridge}: ${s.flow.match}`;
  }
}

/** Carries out datapath steps: netmgrd's BridgeManager. The CLI alone has none. */
export interface DatapathStepExecutor {
  run(step: DatapathStep): void;
}

export class StepRunner {
  constructor(
    private readonly sockets: NamespaceSockets,
    private readonly datapaths?: DatapathStepExecutor,
    /** Where netmgr's own files (the resolver file) are written. */
    private readonly stateDir?: string,
  ) {}

  private index(ns: NamespaceName, name: string): number {
    const l = getLinkByName(this.sockets.route(ns), name);
    if (!l) throw new NetmgrError('not-found', `interface ${name} not found in namespace ${nsLabel(ns)}`, 'ENODEV');
    return l.index;
  }

  private vethEnd(e: StepVethEnd, socketNs: NamespaceName): VethEndSpec {
    return {
      name: e.name,
      mtu: e.mtu,
      mac: e.mac,
      index: e.index,
      nsFd:
        e.namespace === socketNs ? undefined : e.namespace === null ? this.rootNsFd() : this.sockets.nsFd(e.namespace),
    };
  }

  private rootFd: number | undefined;
  private rootNsFd(): number {
    // The namespace this process started in; /proc/1 would be wrong inside containers.
    this.rootFd ??= fs.openSync('/proc/self/ns/net', 'r');
    return this.rootFd;
  }

  private createVeth(a: StepVethEnd, b: StepVethEnd): void {
    createVeth(this.sockets.route(a.namespace), this.vethEnd(a, a.namespace), this.vethEnd(b, a.namespace));
    this.restoreVethEnd(a);
    this.restoreVethEnd(b);
  }

  /** The undo of a veth.delete: the addresses the end had, then up (a plain veth.create has neither). */
  private restoreVethEnd(e: StepVethEnd): void {
    if (!e.addresses?.length && !e.up) return;
    const sock = this.sockets.route(e.namespace);
    const index = this.index(e.namespace, e.name);
    const what = `${e.name} [${nsLabel(e.namespace)}]`;
    for (const address of e.addresses ?? []) addAddress(sock, index, address, what);
    if (e.up) setLink(sock, index, { up: true }, what);
  }

  run(s: Step): void {
    if (isDatapathStep(s)) {
      if (!this.datapaths)
        throw new NetmgrError('unavailable', `${describeStep(s)} needs netmgrd, which runs the bridges`, 'ENOTCONN');
      this.datapaths.run(s);
      return;
    }
    switch (s.op) {
      case 'ns.create': {
        native().netnsCreate(NETNS_DIR, s.name);
        try {
          // A namespace's loopback starts down; hosts expect it up (as docker and podman do).
          const sock = this.sockets.route(s.name);
          setLink(sock, this.index(s.name, 'lo'), { up: true }, `lo [${s.name}]`);
        } catch (e) {
          this.sockets.drop(s.name);
          native().netnsRemove(netnsPath(s.name));
          throw e;
        }
        return;
      }
      case 'ns.delete':
        this.sockets.drop(s.name);
        native().netnsRemove(netnsPath(s.name));
        return;
      case 'veth.create':
        this.createVeth(s.a, s.b);
        return;
      case 'veth.delete':
        deleteLink(
          this.sockets.route(s.namespace),
          this.index(s.namespace, s.name),
          `veth ${s.name} [${nsLabel(s.namespace)}]`,
        );
        return;
      case 'link.set':
        setLink(
          this.sockets.route(s.namespace),
          this.index(s.namespace, s.name),
          s.to,
          `${s.name} [${nsLabel(s.namespace)}]`,
        );
        return;
      case 'addr.add':
        addAddress(
          this.sockets.route(s.namespace),
          this.index(s.namespace, s.link),
          s.address,
          `${s.link} [${nsLabel(s.namespace)}]`,
        );
        return;
      case 'route.add':
      case 'route.del': {
        const route = { ...s.route, oif: this.index(s.namespace, s.link) };
        const what = `${s.link} [${nsLabel(s.namespace)}]`;
        if (s.op === 'route.add') addRoute(this.sockets.route(s.namespace), route, what);
        else deleteRoute(this.sockets.route(s.namespace), route, what);
        return;
      }
      case 'dns.set':
        if (!this.stateDir) throw new NetmgrError('invalid', 'dns.set needs the state directory', 'EINVAL');
        writeResolvConf(this.stateDir, s.to);
        return;
      case 'ipv6.set':
        setIpv6(this.sockets, s, this.index(s.namespace, s.link));
        return;
      case 'addr.del':
        deleteAddress(
          this.sockets.route(s.namespace),
          this.index(s.namespace, s.link),
          s.address,
          `${s.link} [${nsLabel(s.namespace)}]`,
        );
        return;
    }
  }

  close(): void {
    if (this.rootFd !== undefined) fs.closeSync(this.rootFd);
    this.rootFd = undefined;
  }
}
