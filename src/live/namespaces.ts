/** Network namespaces and a netlink socket per namespace, opened lazily and shared by readers and the executor. */
import * as fs from 'fs';
import { NamespaceName } from '../model/types';
import { NETLINK_ROUTE, NetlinkSocket } from '../netlink/socket';
import { isNotFound } from '../util/errors';
import { NETNS_DIR, netnsPath } from '../util/paths';

/** Named namespaces as `ip netns list` shows them. */
export function listNamespaces(): string[] {
  try {
    return fs.readdirSync(NETNS_DIR).sort();
  } catch (e) {
    if (isNotFound(e)) return [];
    throw e;
  }
}

export const nsLabel = (ns: NamespaceName): string => ns ?? '(root)';
/** Map key for a namespace; the root namespace is the empty string. */
export const nsKey = (ns: NamespaceName): string => ns ?? '';

/** Opens sockets and namespace fds on first use; close() releases them all. */
export class NamespaceSockets {
  private readonly sockets = new Map<string, NetlinkSocket>();
  private readonly fds = new Map<string, number>();

  nsFd(ns: string): number {
    let fd = this.fds.get(ns);
    if (fd === undefined) {
      fd = fs.openSync(netnsPath(ns), 'r');
      this.fds.set(ns, fd);
    }
    return fd;
  }

  route(ns: NamespaceName): NetlinkSocket {
    const key = nsKey(ns);
    let s = this.sockets.get(key);
    if (!s) {
      s = new NetlinkSocket(NETLINK_ROUTE, ns === null ? -1 : this.nsFd(ns));
      this.sockets.set(key, s);
    }
    return s;
  }

  /** Forget a namespace (after deleting it), closing what was open in it. */
  drop(ns: string): void {
    this.sockets.get(ns)?.close();
    this.sockets.delete(ns);
    const fd = this.fds.get(ns);
    if (fd !== undefined) fs.closeSync(fd);
    this.fds.delete(ns);
  }

  close(): void {
    for (const s of this.sockets.values()) s.close();
    for (const fd of this.fds.values()) fs.closeSync(fd);
    this.sockets.clear();
    this.fds.clear();
  }
}
