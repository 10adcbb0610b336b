/**
 * Typed parsers for the string-valued config types: CIDR addresses, MAC addresses, interface and namespace names.
 * Each returns either the normalised value or a message plus hint; positions are added by the caller.
 */

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string; hint?: string };

function fail(message: string, hint?: string): { ok: false; message: string; hint?: string } {
  return hint === undefined ? { ok: false, message } : { ok: false, message, hint };
}

// ---------------------------------------------------------------------------------------------------------------
// IP addresses

/** Four octets, or null. Leading zeros are read as decimal (never octal) and dropped in the normal form. */
export function parseIPv4(text: string): number[] | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return null;
  const octets = m.slice(1, 5).map((x) => parseInt(x, 10));
  return octets.every((o) => o <= 255) ? octets : null;
}

/** Eight 16-bit groups, or null. Accepts `::` compression and a trailing dotted quad; rejects zone ids. */
export function parseIPv6(text: string): number[] | null {
  if (!/^[0-9A-Fa-f:.]+$/.test(text)) return null;
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const parseGroups = (part: string, allowV4: boolean): number[] | null => {
    if (part === '') return [];
    const groups = part.split(':');
    const out: number[] = [];
    for (let k = 0; k < groups.length; k++) {
      const g = groups[k];
      if (allowV4 && k === groups.length - 1 && g.includes('.')) {
        const v4 = parseIPv4(g);
        if (!v4) return null;
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else if (/^[0-9A-Fa-f]{1,4}$/.test(g)) out.push(parseInt(g, 16));
      else return null;
    }
    return out;
  };
  if (halves.length === 1) {
    const all = parseGroups(halves[0], true);
    return all && all.length === 8 ? all : null;
  }
  const head = parseGroups(halves[0], false);
  const tail = parseGroups(halves[1], true);
  if (!head || !tail || head.length + tail.length > 7) return null;
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

/** RFC 5952 text form: lower case, no leading zeros, longest (first on tie) run of >= 2 zero groups as `::`. */
export function formatIPv6(groups: readonly number[]): string {
  // IPv4-mapped addresses keep the dotted quad (RFC 5952 section 5).
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${groups[6] >> 8}.${groups[6] & 255}.${groups[7] >> 8}.${groups[7] & 255}`;
  }
  let bestStart = -1;
  let bestLen = 1;
  for (let k = 0; k < 8;) {
    if (groups[k] !== 0) {
      k++;
      continue;
    }
    let j = k;
    while (j < 8 && groups[j] === 0) j++;
    if (j - k > bestLen) {
      bestStart = k;
      bestLen = j - k;
    }
    k = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

export interface CidrValue {
  family: 4 | 6;
  /** The normalised address without prefix, for duplicate detection. */
  address: string;
  prefix: number;
  /** `address/prefix`. */
  cidr: string;
}

/** An address with prefix length, e.g. `198.18.0.1/24` or `2001:db8::1/64`; host bits are kept. */
export function parseCidr(text: string): Parsed<CidrValue> {
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const v4 = parseIPv4(addrText);
  const v6 = v4 ? null : parseIPv6(addrText);
  if (!v4 && !v6) {
    if (addrText.includes('%')) {
      return fail(
        `\`${text}\` has a zone index (%...), which interface addresses cannot have`,
        'drop the `%zone` part',
      );
    }
    const looksV6 = addrText.includes(':');
    return fail(
      `\`${text}\` is not a valid ${looksV6 ? 'IPv6' : addrText.includes('.') ? 'IPv4' : 'IPv4 or IPv6'} address`,
      'write an address with its prefix length, e.g. "198.18.0.1/24" or "2001:db8::1/64"',
    );
  }
  const family: 4 | 6 = v4 ? 4 : 6;
  const max = family === 4 ? 32 : 128;
  const address = v4 ? v4.join('.') : formatIPv6(v6 as number[]);
  if (slash < 0) {
    return fail(
      `address \`${text}\` has no prefix length`,
      `write it in CIDR form, e.g. "${address}/${family === 4 ? 24 : 64}" (use /${max} for a single host)`,
    );
  }
  const prefixText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText)) {
    return fail(`prefix length \`/${prefixText}\` in \`${text}\` is not a number`, `use 1..${max} for IPv${family}`);
  }
  const prefix = parseInt(prefixText, 10);
  if (prefix < 1 || prefix > max) {
    return fail(`prefix length /${prefix} in \`${text}\` is out of range for IPv${family}`, `use 1..${max}`);
  }
  return { ok: true, value: { family, address, prefix, cidr: `${address}/${prefix}` } };
}

/** An address without prefix (a gateway, a route's `via`), normalised; of `family` when given. */
export function parseIp(text: string, family?: 4 | 6): Parsed<string> {
  const v4 = parseIPv4(text);
  const v6 = v4 ? null : parseIPv6(text);
  if (!v4 && !v6) {
    if (text.includes('/'))
      return fail(`\`${text}\` has a prefix length; a gateway is one address`, `write "${text.split('/')[0]}"`);
    return fail(`\`${text}\` is not a valid IP address`, 'for example "198.18.0.1" or "2001:db8::1"');
  }
  const found: 4 | 6 = v4 ? 4 : 6;
  if (family !== undefined && found !== family)
    return fail(`\`${text}\` is an IPv${found} address`, `IPv${found} gateways and routes belong in [ipv${found}]`);
  return { ok: true, value: v4 ? v4.join('.') : formatIPv6(v6 as number[]) };
}

/** The address with its host bits (beyond `prefix`) cleared: the network a CIDR is in. */
export function networkOf(address: string, prefix: number): string {
  const v4 = parseIPv4(address);
  const words = v4 ?? (parseIPv6(address) as number[]);
  const bits = v4 ? 8 : 16;
  const masked = words.map((w, i) => {
    const keep = Math.max(0, Math.min(bits, prefix - i * bits));
    return keep === 0 ? 0 : w & (((1 << bits) - 1) ^ ((1 << (bits - keep)) - 1));
  });
  return v4 ? masked.join('.') : formatIPv6(masked);
}

/** Whether `address` lies in the subnet `cidr` (same family, network bits equal). */
/** fe80::/10, as an address or a CIDR. */
export const isIPv6LinkLocal = (address: string): boolean => /^fe[89ab][0-9a-f]:/i.test(address);

export function inSubnet(address: string, cidr: string): boolean {
  const [net, len] = cidr.split('/');
  if (address.includes(':') !== net.includes(':')) return false;
  return networkOf(address, Number(len)) === networkOf(net, Number(len));
}

/**
 * A route's destination: a network in CIDR form with no host bits set ("198.18.0.0/15"), or "default" (0.0.0.0/0,
 * ::/0). The kernel refuses host bits in a route's prefix; the fix names the network they belong to.
 */
export function parseRouteTo(text: string, family: 4 | 6): Parsed<string> {
  if (text === 'default') return { ok: true, value: family === 4 ? '0.0.0.0/0' : '::/0' };
  const slash = text.indexOf('/');
  const ip = parseIp(slash < 0 ? text : text.slice(0, slash), family);
  if (!ip.ok) return ip;
  const max = family === 4 ? 32 : 128;
  const prefixText = slash < 0 ? String(max) : text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max)
    return fail(`prefix length \`/${prefixText}\` in \`${text}\` is not 0..${max}`, `use 0..${max} for IPv${family}`);
  const prefix = Number(prefixText);
  const net = networkOf(ip.value, prefix);
  if (net !== ip.value)
    return fail(`route destination \`${text}\` has host bits set`, `write the network: "${net}/${prefix}"`);
  return { ok: true, value: `${net}/${prefix}` };
}

// ---------------------------------------------------------------------------------------------------------------
// MAC addresses

const MAC_HINT =
  'use a locally administered unicast address: first octet with its two low bits 10, e.g. "02:00:00:00:00:01"';

const MAC_SYNTAX = /^[0-9A-Fa-f]{2}([:-])[0-9A-Fa-f]{2}(\1[0-9A-Fa-f]{2}){4}$/;
const isMulticastText = (mac: string): boolean => (parseInt(mac.slice(0, 2), 16) & 1) === 1;

/** Six hex pairs separated by ':' or '-' (one separator throughout); normalised to lower-case colons. */
export function parseMac(text: string): Parsed<string> {
  if (!MAC_SYNTAX.test(text)) {
    return fail(`\`${text}\` is not a MAC address`, 'write six hex pairs separated by ":", e.g. "02:00:00:00:00:01"');
  }
  const mac = text.toLowerCase().replace(/-/g, ':');
  if (mac === '00:00:00:00:00:00') return fail('the all-zero MAC address cannot be assigned to an interface', MAC_HINT);
  if (isMulticastText(mac)) {
    return fail(
      `\`${text}\` is a multicast MAC address (the low bit of the first octet is set); an interface needs a unicast address`,
      MAC_HINT,
    );
  }
  return { ok: true, value: mac };
}

const STATION_HINT =
  'a static entry names the unicast MAC of one station reached through the port, e.g. "02:00:00:00:01:01"';

/**
 * The MAC of a station in a static MAC table entry: parseMac's syntax and rules, with the refusals explained for
 * a station: multicast and broadcast frames are flooded within their VLAN, never looked up in the table.
 */
export function parseStationMac(text: string): Parsed<string> {
  const r = parseMac(text);
  if (r.ok || !MAC_SYNTAX.test(text)) return r;
  const mac = text.toLowerCase().replace(/-/g, ':');
  if (mac === '00:00:00:00:00:00')
    return fail('the all-zero MAC address is not the address of a station', STATION_HINT);
  if (mac === 'ff:ff:ff:ff:ff:ff') {
    return fail(
      `\`${text}\` is the broadcast address: broadcast frames are always flooded within their VLAN`,
      STATION_HINT,
    );
  }
  return fail(
    `\`${text}\` is a multicast MAC address (the low bit of the first octet is set): multicast frames are always ` +
      'flooded within their VLAN, so a static entry needs a unicast address',
    STATION_HINT,
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Names

/** IFNAMSIZ is 16 in the kernel, including the terminating NUL. */
export const IFNAME_MAX_BYTES = 15;
export const NSNAME_MAX_BYTES = 64;

// eslint-disable-next-line no-control-regex -- control characters are what names must not hold
const CONTROL = /[\u0000-\u001f\u007f]/;

export function byteLength(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** A Linux interface name, checked the way the kernel's dev_valid_name() does (plus no control characters). */
export function parseIfName(text: string): Parsed<string> {
  if (text === '') return fail('an interface name cannot be empty');
  const bytes = byteLength(text);
  if (bytes > IFNAME_MAX_BYTES) {
    return fail(
      `interface name \`${text}\` is ${bytes} bytes; Linux limits interface names to ${IFNAME_MAX_BYTES} bytes ` +
        '(IFNAMSIZ is 16 including the terminating NUL)',
      'choose a shorter name',
    );
  }
  if (text === '.' || text === '..') return fail(`\`${text}\` is not a valid interface name`, 'choose another name');
  if (/[/:]/.test(text)) {
    return fail(
      `interface name \`${text}\` contains \`${/[/:]/.exec(text)?.[0]}\`, which Linux does not allow`,
      'remove it',
    );
  }
  if (/\s/.test(text) || CONTROL.test(text)) {
    return fail(`interface name ${JSON.stringify(text)} contains whitespace or a control character`, 'remove it');
  }
  return { ok: true, value: text };
}

/** A network namespace name as `ip netns` uses it: a file name under /run/netns. */
export function parseNsName(text: string): Parsed<string> {
  if (text === '') return fail('a namespace name cannot be empty', 'omit `namespace` for the root namespace');
  const bytes = byteLength(text);
  if (bytes > NSNAME_MAX_BYTES) {
    return fail(
      `namespace name \`${text}\` is ${bytes} bytes; the limit is ${NSNAME_MAX_BYTES}`,
      'choose a shorter name',
    );
  }
  if (text === '.' || text === '..') {
    return fail(`\`${text}\` is not a valid namespace name`, 'namespace names are file names under /run/netns');
  }
  if (text.includes('/')) {
    return fail(`namespace name \`${text}\` contains \`/\``, 'namespace names are file names under /run/netns');
  }
  if (/\s/.test(text) || CONTROL.test(text)) {
    return fail(`namespace name ${JSON.stringify(text)} contains whitespace or a control character`, 'remove it');
  }
  return { ok: true, value: text };
}

// ---------------------------------------------------------------------------------------------------------------
// Tunnel underlay addresses

export interface UnderlayIp {
  family: 4 | 6;
  /** Normalised text (dotted quad, RFC 5952). */
  address: string;
}

/** Why an underlay address cannot be a tunnel endpoint, or undefined when it can: unicast, routable, no zone. */
function underlayRefusal(family: 4 | 6, words: number[]): string | undefined {
  const zero = words.every((w) => w === 0);
  if (family === 4) {
    if (zero) return 'the unspecified address';
    if (words[0] >= 224 && words[0] <= 239) return 'a multicast address';
    if (words.every((w) => w === 255)) return 'the broadcast address';
    if (words[0] === 127) return 'a loopback address (it never leaves this host)';
    return undefined;
  }
  if (zero) return 'the unspecified address';
  if (words[0] >> 8 === 0xff) return 'a multicast address';
  if (words.slice(0, 7).every((w) => w === 0) && words[7] === 1) return 'the loopback address';
  if ((words[0] & 0xffc0) === 0xfe80) return 'a link-local address (it would need an interface to go out of)';
  return undefined;
}

/** One unicast tunnel endpoint address (`remotes`, `local`): IPv4 or IPv6, no prefix length, no zone. */
export function parseUnderlayIp(text: string): Parsed<UnderlayIp> {
  const v4 = parseIPv4(text);
  const v6 = v4 ? null : parseIPv6(text);
  if (!v4 && !v6) {
    if (text.includes('/'))
      return fail(`\`${text}\` has a prefix length; a tunnel endpoint is one address`, `write "${text.split('/')[0]}"`);
    return fail(`\`${text}\` is not a valid IP address`, 'for example "198.18.0.2" or "2001:db8::2"');
  }
  const family: 4 | 6 = v4 ? 4 : 6;
  const words = (v4 ?? v6) as number[];
  const address = v4 ? v4.join('.') : formatIPv6(words);
  const refusal = underlayRefusal(family, words);
  if (refusal)
    return fail(
      `\`${text}\` is ${refusal}; a tunnel endpoint is a unicast address of a host on the underlay`,
      'give the underlay address of the host (for example the address of its uplink NIC)',
    );
  return { ok: true, value: { family, address } };
}
