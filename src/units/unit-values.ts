/**
 * The values validation found in one table of a unit file, typed by the schema (UnitValues): what the per-file
 * rules, the cross-file checks and the assembly of the DesiredState read, by full key name, without casts.
 */
import type { Loc } from './locate';
import { entryOf, type DefaultedKey, type UnitKey, type UnitValues } from './schema';

/** A parsed, valid value with the positions of its key and value. */
export interface Located<T = unknown> {
  value: T;
  at: Loc;
  keyAt: Loc;
}

/**
 * The values of one table (a unit file's sections, or one `[[section]]` element) by full key name, typed by
 * UnitValues; keys present but invalid (already reported) are remembered apart, so rules can stay quiet on them.
 */
export class Values {
  private readonly valid = new Map<UnitKey, Located>();
  private readonly invalid = new Set<UnitKey>();

  /** Records a value the walker accepted by the key's schema row. */
  set(key: UnitKey, value: Located): void {
    this.valid.set(key, value);
  }

  /** Records a key that was present but invalid. */
  markBad(key: UnitKey): void {
    this.invalid.add(key);
  }

  /** The valid value given in the file, with its positions. */
  given<K extends UnitKey>(key: K): Located<UnitValues[K]> | undefined {
    // The walker stores under a key only what that key's row accepted, which is the key's type.
    return this.valid.get(key) as Located<UnitValues[K]> | undefined;
  }

  /** A required key's value, when building from a unit that passed every check (anything else is a bug). */
  required<K extends UnitKey>(key: K): Located<UnitValues[K]> {
    const hit = this.given(key);
    if (!hit) throw new Error(`${key} is required, yet missing from a unit that passed validation`);
    return hit;
  }

  /** The key was given, but its value is invalid. */
  isBad(key: UnitKey): boolean {
    return this.invalid.has(key);
  }

  /** The key was given (valid or not). */
  has(key: UnitKey): boolean {
    return this.valid.has(key) || this.invalid.has(key);
  }

  /** The value given, else the schema default (arrays copied, so no caller can change the table). */
  get<K extends DefaultedKey>(key: K): UnitValues[K];
  get<K extends UnitKey>(key: K): UnitValues[K] | undefined;
  get<K extends UnitKey>(key: K): UnitValues[K] | undefined {
    const hit = this.given(key);
    if (hit) return hit.value;
    const d = entryOf(key).default;
    // row() checked each default against its key's type when the table was built.
    return (Array.isArray(d) ? [...(d as unknown[])] : d) as UnitValues[K] | undefined;
  }
}

/** One `[[section]]` table: which array section it belongs to, where its header is, and its valid values. */
export interface ArrayElement {
  /** Section path, e.g. `bridge.flow`. */
  section: string;
  at: Loc;
  values: Values;
}
