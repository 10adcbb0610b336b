/**
 * What this version of netmgr can run. Units may ask for more (the schema is the finished product's); whatever is
 * not implemented yet is refused before anything is applied, with the unit it comes from.
 */
import type { DesiredState, UnitError } from '../model/types';

export function checkSupported(desired: DesiredState): UnitError[] {
  const errors: UnitError[] = [];
  for (const b of desired.bridges.values()) {
    const at = { file: b.source.file, line: b.source.line, col: b.source.col };
    if (b.datapath === 'kernel') {
      errors.push({ ...at, message: `bridge ${b.name}: datapath = "kernel" is not implemented in this version of netmgr`, hint: 'use datapath = "userspace" (or "auto", which picks it)' });
    }
  }
  return errors;
}
