/**
 * The status listener's address (netmgrd.conf `http-listen`): an IP literal and a port. Pure. A host name is
 * refused: what it resolves to can change under netmgrd, and the loopback check must hold for the address bound.
 */
import { isIP } from 'net';

/** Where the listener binds. */
export interface ListenAddress {
  /** An IPv4 or IPv6 literal (IPv6 without brackets). */
  host: string;
  /** 1..65535. */
  port: number;
}

/** The port netmgrd's documentation and examples use: in the 9100-9999 range Prometheus exporters take. */
export const DEFAULT_HTTP_PORT = 9477;

/** 127.0.0.0/8 and ::1 (also written as an IPv4-mapped address): reachable from this host's root namespace only. */
export function isLoopback(host: string): boolean {
  const v4 = host.replace(/^::ffff:/i, '');
  if (isIP(v4) === 4) return v4.startsWith('127.');
  return isIP(host) === 6 && /^(0{0,4}:){2,7}0{0,3}1$|^::1$/i.test(host);
}

/** "127.0.0.1:9477" or "[::1]:9477" -> the address; a string saying what is wrong otherwise. */
export function parseListenAddress(text: string): ListenAddress | string {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:[\]]+):(\d+)$/.exec(text);
  if (!m) return 'must be ADDRESS:PORT, e.g. "127.0.0.1:9477" or "[::1]:9477"';
  const [, host, portText] = m;
  if (!isIP(host)) return `${host} is not an IP address (a host name is not accepted: give the address to bind)`;
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return `port ${portText} is not in 1..65535`;
  return { host, port };
}

/** "127.0.0.1:9477", "[::1]:9477": as written in netmgrd.conf and in URLs. */
export const formatListenAddress = (a: ListenAddress): string =>
  isIP(a.host) === 6 ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
