/** Text forms of numbers and addresses as OVS scans (`%i`, inet_pton) and prints (`%#x`, glibc inet_ntop) them. */

/**
 * `scanf %i` on a prefix of `s` from `pos`: decimal, 0x hex, leading-0 octal. Returns the value and the end
 * position, or undefined when no digits are there. Sign is rejected (OVS would wrap it).
 */
export function scanInt(s: string, pos: number): { value: number; end: number } | undefined {
  let i = pos;
  let base = 10;
  if (s[i] === '0' && (s[i + 1] === 'x' || s[i + 1] === 'X') && isHex(s.charCodeAt(i + 2))) {
    base = 16;
    i += 2;
  } else if (s[i] === '0') {
    base = 8;
  }
  const start = i;
  let value = 0;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const d = base === 16 ? hexVal(c) : c >= 48 && c <= 57 ? c - 48 : -1;
    if (d < 0 || d >= base) break;
    value = value * base + d;
  }
  if (i === start) return undefined;
  return { value, end: i };
}

export function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
}
export function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** `%#x`: "0" for zero, "0x.." otherwise. */
export function hexAlt(n: number): string {
  return n === 0 ? '0' : '0x' + n.toString(16);
}

export function scanMac(s: string, pos: number): { value: number; end: number } | undefined {
  let value = 0;
  let i = pos;
  for (let b = 0; b < 6; b++) {
    if (b > 0) {
      if (s[i] !== ':') return undefined;
      i++;
    }
    const h1 = hexVal(s.charCodeAt(i));
    if (h1 < 0) return undefined;
    i++;
    let byte = h1;
    const h2 = hexVal(s.charCodeAt(i));
    if (h2 >= 0) {
      byte = byte * 16 + h2;
      i++;
    }
    value = value * 256 + byte;
  }
  return { value, end: i };
}

export function formatMac(mac: number): string {
  let out = '';
  for (let b = 5; b >= 0; b--) {
    const byte = Math.floor(mac / 2 ** (8 * b)) & 0xff;
    out += (byte < 16 ? '0' : '') + byte.toString(16) + (b > 0 ? ':' : '');
  }
  return out;
}

export function scanIpv4(s: string, pos: number): { value: number; end: number } | undefined {
  let value = 0;
  let i = pos;
  for (let b = 0; b < 4; b++) {
    if (b > 0) {
      if (s[i] !== '.') return undefined;
      i++;
    }
    const start = i;
    let octet = 0;
    while (i < s.length && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57 && i - start < 3) {
      octet = octet * 10 + s.charCodeAt(i) - 48;
      i++;
    }
    if (i === start || octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return { value, end: i };
}

export function formatIpv4(ip: number): string {
  return `${(ip >>> 24) & 0xff}.${(ip >>> 16) & 0xff}.${(ip >>> 8) & 0xff}.${ip & 0xff}`;
}

/** Characters IPV6_SCAN_FMT accepts before handing the text to inet_pton. */
function isIpv6Char(c: number): boolean {
  return isHex(c) || c === 58 /* : */ || c === 46; /* . */
}

export function scanIpv6(s: string, pos: number): { value: Uint8Array; end: number } | undefined {
  let end = pos;
  while (end < s.length && isIpv6Char(s.charCodeAt(end)) && end - pos < 46) end++;
  const value = parseIpv6(s.slice(pos, end));
  return value ? { value, end } : undefined;
}

/** inet_pton(AF_INET6). */
export function parseIpv6(text: string): Uint8Array | undefined {
  const out = new Uint8Array(16);
  const dbl = text.indexOf('::');
  if (dbl !== text.lastIndexOf('::')) return undefined;
  const parseGroups = (part: string, allowV4Tail: boolean): number[] | undefined => {
    if (part === '') return [];
    const groups: number[] = [];
    const items = part.split(':');
    for (let k = 0; k < items.length; k++) {
      const it = items[k];
      if (allowV4Tail && k === items.length - 1 && it.includes('.')) {
        const v4 = scanIpv4(it, 0);
        if (!v4 || v4.end !== it.length) return undefined;
        groups.push(v4.value >>> 16, v4.value & 0xffff);
        continue;
      }
      if (it.length < 1 || it.length > 4) return undefined;
      let g = 0;
      for (let c = 0; c < it.length; c++) {
        const h = hexVal(it.charCodeAt(c));
        if (h < 0) return undefined;
        g = g * 16 + h;
      }
      groups.push(g);
    }
    return groups;
  };
  let groups: number[];
  if (dbl >= 0) {
    const head = parseGroups(text.slice(0, dbl), false);
    const tail = parseGroups(text.slice(dbl + 2), true);
    if (!head || !tail || head.length + tail.length > 7) return undefined;
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    const all = parseGroups(text, true);
    if (!all || all.length !== 8) return undefined;
    groups = all;
  }
  for (let g = 0; g < 8; g++) {
    out[2 * g] = groups[g] >> 8;
    out[2 * g + 1] = groups[g] & 0xff;
  }
  return out;
}

/**
 * An IP address as this module writes it: IPv6 text re-formatted by formatIpv6 (so an address from a config and
 * one from a flow key compare equal as text), anything else as it is.
 */
export function canonicalIpText(text: string): string {
  const v6 = text.includes(':') ? parseIpv6(text) : undefined;
  return v6 === undefined ? text : formatIpv6(v6);
}

/** inet_ntop(AF_INET6) as glibc prints it: longest zero run (≥2 groups) as "::", embedded IPv4 for ::a.b.c.d and ::ffff:a.b.c.d. */
export function formatIpv6(a: Uint8Array): string {
  const w: number[] = [];
  for (let g = 0; g < 8; g++) w.push((a[2 * g] << 8) | a[2 * g + 1]);
  let bestBase = -1;
  let bestLen = 0;
  let curBase = -1;
  let curLen = 0;
  for (let g = 0; g < 8; g++) {
    if (w[g] === 0) {
      if (curBase < 0) {
        curBase = g;
        curLen = 1;
      } else curLen++;
      if (curLen > bestLen) {
        bestBase = curBase;
        bestLen = curLen;
      }
    } else {
      curBase = -1;
    }
  }
  if (bestLen < 2) bestBase = -1;
  let out = '';
  for (let g = 0; g < 8; g++) {
    if (bestBase >= 0 && g >= bestBase && g < bestBase + bestLen) {
      if (g === bestBase) out += ':';
      continue;
    }
    if (g !== 0) out += ':';
    if (g === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && w[5] === 0xffff))) {
      out += `${a[12]}.${a[13]}.${a[14]}.${a[15]}`;
      break;
    }
    out += w[g].toString(16);
  }
  if (bestBase >= 0 && bestBase + bestLen === 8) out += ':';
  return out;
}

export function formatHexBytes(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += (b[i] < 16 ? '0' : '') + b[i].toString(16);
  return s;
}

export function formatUuid(b: Uint8Array): string {
  const h = formatHexBytes(b);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

export function parseUuid(text: string): Uint8Array | undefined {
  if (!/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(text)) return undefined;
  const hex = text.replace(/-/g, '');
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}
