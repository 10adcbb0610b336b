/** An example's unit set, copied with its names under a test run's prefix (examples-e2e, overlay-mesh). */
import * as fs from 'fs';
import * as path from 'path';
import { parseUnits, readUnitDir } from '../../src/units';
import type { DesiredState } from '../../src/model/types';

/** Every interface and namespace name the units declare: bridges, ports, veth peers, namespaces. */
export function declaredNames(state: DesiredState): { links: string[]; namespaces: string[] } {
  const links = [...state.bridges.keys(), ...state.ports.keys()];
  for (const p of state.ports.values()) if (p.peer) links.push(p.peer);
  return { links: [...new Set(links)].sort(), namespaces: [...state.namespaces].sort() };
}

export function parseDir(dir: string): DesiredState {
  const r = parseUnits(readUnitDir(dir));
  if (!r.state) throw new Error(`${dir}: ${JSON.stringify(r.errors)}`);
  return r.state;
}

/**
 * Copies the unit files of `src` into `dst` with each declared name N replaced by P+N as an exact token (not
 * inside a longer name such as sw-h1 in sw-h1-eth0), and each file name prefixed too (the unit name defaults to
 * it). One common prefix keeps the unit names' order, so the port numbers of the flows stay what they were.
 * Returns the rewrite of one declared name.
 */
export function rewriteUnits(src: string, dst: string, P: string): (name: string) => string {
  const { links, namespaces } = declaredNames(parseDir(src));
  const names = [...new Set([...links, ...namespaces])].sort((a, b) => b.length - a.length);
  for (const l of links) if (Buffer.byteLength(P + l) > 15) throw new Error(`${src}: ${P + l} exceeds 15 bytes`);
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const token = new RegExp(`(?<![A-Za-z0-9_-])(${names.map(esc).join('|')})(?![A-Za-z0-9_-])`, 'g');
  for (const f of fs.readdirSync(src).filter((x) => x.endsWith('.toml'))) {
    fs.writeFileSync(
      path.join(dst, P + f),
      fs.readFileSync(path.join(src, f), 'utf8').replace(token, (m) => P + m),
    );
  }
  return (name: string) => {
    if (!names.includes(name)) throw new Error(`${name} is not a name the units of ${src} declare`);
    return P + name;
  };
}
