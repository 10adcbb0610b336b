/** How a row of the unit schema is written (schema-table.ts and the tables it includes). */
import type { SchemaEntry, UnitKey, UnitValues } from './schema-types';

/** A row as written in a table: its full name gives section and key, and its default has the key's type. */
export type Row<K extends UnitKey> = Omit<SchemaEntry, 'name' | 'section' | 'key' | 'default'> & {
  default?: UnitValues[K];
};

export function row<K extends UnitKey, R extends Row<K>>(name: K, r: R): R & { name: K; section: string; key: string } {
  const dot = name.lastIndexOf('.');
  return { name, section: name.slice(0, dot), key: name.slice(dot + 1), ...r };
}
