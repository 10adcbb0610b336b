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

/**
 * Opens sockets and namespace fds on first use; close() releases them all. A long-lived instance (netmgrd's bridge
 * worker) outlives namespaces: one deleted and created again under the same name is a new namespace, so each use
 * checks that the name still leads to the namespace the cached fd holds (one stat) and reopens when it does not;
 * otherwise an interface would be moved into the old namespace, kept alive by nothing but that fd.
 */
export class NamespaceSockets {
  private readonly sockets = new Map<string, NetlinkSocket>();
  private readonly fds = new Map<string, { fd: number; dev: number; ino: number }>();

  nsFd(ns: string): number {
    const cached = this.fds.get(ns);
    const now = fs.statSync(netnsPath(ns));
    if (cached && cached.dev === now.dev && cached.ino === now.ino) return cached.fd;
    if (cached) this.drop(ns);
    const fd = fs.openSync(netnsPath(ns), 'r');
    const st = fs.fstatSync(fd);
    this.fds.set(ns, { fd, dev: st.dev, ino: st.ino });
    return fd;
  }

  route(ns: NamespaceName): NetlinkSocket {
    const key = nsKey(ns);
    // The namespace's fd first: a namespace created again under the name drops the stale socket with it.
    const nsFd = ns === null ? -1 : this.nsFd(ns);
    let s = this.sockets.get(key);
    if (!s) {
      s = new NetlinkSocket(NETLINK_ROUTE, nsFd);
      this.sockets.set(key, s);
    }
    return s;
  }

  /** Forget a namespace (after deleting it), closing what was open in it. */
  drop(ns: string): void {
    this.sockets.get(ns)?.close();
    this.sockets.delete(ns);
    const cached = this.fds.get(ns);
    if (cached) fs.closeSync(cached.fd);
    this.fds.delete(ns);
  }

  close(): void {
    for (const s of this.sockets.values()) s.close();
    for (const { fd } of this.fds.values()) fs.closeSync(fd);
    this.sockets.clear();
    this.fds.clear();
  }
}
