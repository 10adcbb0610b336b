/**
 * Loader for annotated hex golden files (test/golden/genl/*.hex): `#` starts a comment that runs to the end of
 * the line; everything else is hex digits and whitespace. The bytes are written by hand from the uAPI layouts
 * (struct offsets, nlattr = u16 len + u16 type in host order, payload padded to 4), never pasted from an encoder.
 */
import * as fs from 'fs';
import * as path from 'path';

export const GENL_GOLDEN_DIR = path.join(__dirname, '..', 'golden', 'genl');

/** Bytes of annotated hex text; throws on anything but hex digits, whitespace and comments. */
export function parseAnnotatedHex(text: string, what = 'hex'): Buffer {
  const digits = text.replace(/#.*$/gm, '').replace(/\s+/g, '');
  if (!/^[0-9a-fA-F]*$/.test(digits)) throw new Error(`${what}: non-hex characters outside comments`);
  if (digits.length % 2) throw new Error(`${what}: odd number of hex digits (${digits.length})`);
  return Buffer.from(digits, 'hex');
}

/** One golden message from test/golden/genl/NAME. */
export function loadGenlGolden(name: string): Buffer {
  return parseAnnotatedHex(fs.readFileSync(path.join(GENL_GOLDEN_DIR, name), 'utf8'), name);
}

/** Hex with a space every 4 bytes, so a failing comparison points at the attribute. */
export function hexWords(b: Uint8Array): string {
  const h = Buffer.from(b).toString('hex');
  return (h.match(/.{1,8}/g) ?? []).join(' ');
}
