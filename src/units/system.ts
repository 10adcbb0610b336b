/**
 * Checks of a validated DesiredState against facts about the running system. Pure: the caller supplies the facts,
 * so this can be tested without root and reused by the planner.
 */
import type { DesiredState, UnitError } from '../model/types';

export interface SystemFacts {
  /** Whether interface `name` exists in `namespace` (null: the root namespace). */
  interfaceExists(namespace: string | null, name: string): boolean;
  namespaceExists(name: string): boolean;
}

/**
 * A `system` port attaches an interface netmgr does not create, so it must already exist where the unit says.
 * Errors point at the unit's `kind` value.
 */
export function checkAgainstSystem(state: DesiredState, facts: SystemFacts): UnitError[] {
  const errors: UnitError[] = [];
  for (const port of state.ports.values()) {
    if (port.kind !== 'system') continue;
    const at = port.kindSource ?? port.source;
    const ns = port.namespace;
    const show = ns === null ? 'ip link show' : `ip -n ${ns} link show`;
    if (ns !== null && !facts.namespaceExists(ns)) {
      errors.push({
        file: at.file,
        line: at.line,
        col: at.col,
        message: `system port \`${port.name}\` is in namespace \`${ns}\`, which does not exist`,
        hint:
          `a system port attaches an existing interface; check \`ip netns list\` and the \`namespace\` key, or move ` +
          `the interface there first (ip link set ${port.name} netns ${ns})`,
      });
    } else if (!facts.interfaceExists(ns, port.name)) {
      errors.push({
        file: at.file,
        line: at.line,
        col: at.col,
        message: `system port \`${port.name}\`: no such interface in ${ns === null ? 'the root namespace' : `namespace \`${ns}\``}`,
        hint:
          `check the name with \`${show}\`; kind = "system" attaches an existing interface, use kind = "internal" ` +
          'or "veth" to have netmgr create one',
      });
    }
  }
  return errors.sort(compareErrors);
}

/** File name, then line, then column; plain code-unit order so output does not depend on the locale. */
export function compareErrors(a: UnitError, b: UnitError): number {
  if (a.file !== b.file) return a.file < b.file ? -1 : 1;
  return a.line - b.line || a.col - b.col;
}
