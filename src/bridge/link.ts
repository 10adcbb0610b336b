/** Link settings of the interfaces a bridge creates (its port 0 and internal ports): MTU, MAC, state. */
import { nsLabel, type NamespaceSockets } from '../live/namespaces';
import type { LinkConfig } from '../model/bridges';
import type { NamespaceName } from '../model/types';
import { getLinkByName, moveLink, setLink } from '../netlink/rtnl';
import { DatapathError } from '../datapath/types';

/** Sets MTU, MAC and state of an interface this process created (a TAP or internal vport), in its namespace. */
export function configureLink(sockets: NamespaceSockets, ns: NamespaceName, name: string, link: LinkConfig): void {
  const sock = sockets.route(ns);
  const l = getLinkByName(sock, name);
  if (!l) throw new DatapathError('ENOENT', `interface ${name} in ${nsLabel(ns)} does not exist`);
  if (link.mtu !== undefined || link.mac !== undefined)
    setLink(sock, l.index, { mtu: link.mtu, mac: link.mac }, `${name} [${nsLabel(ns)}]`);
  if (link.up) setLink(sock, l.index, { up: true }, `${name} [${nsLabel(ns)}]`);
}

/** Moves an internal port's interface, created in the root namespace, into the namespace of its unit. */
export function moveToNamespace(sockets: NamespaceSockets, name: string, ns: string): void {
  const root = sockets.route(null);
  const l = getLinkByName(root, name);
  if (!l) throw new DatapathError('ENOENT', `TAP ${name} does not exist`);
  moveLink(root, l.index, sockets.nsFd(ns), `${name} to namespace ${ns}`);
}
