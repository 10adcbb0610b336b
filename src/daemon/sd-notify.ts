/**
 * systemd's readiness protocol (sd_notify(3)) for netmgrd under `Type=notify`: 'READY=1\nSTATUS=...' once the
 * socket answers and the units are applied, 'RELOADING=1' and 'STOPPING=1' around a reload and a stop. Outside
 * systemd (no NOTIFY_SOCKET) every call is a no-op.
 */
import { native } from '../native';

/**
 * Sends state (newline-separated VARIABLE=value assignments) to $NOTIFY_SOCKET. Returns false, sending nothing,
 * when NOTIFY_SOCKET is unset or empty, true once the datagram is sent; throws the errno error when it cannot be
 * sent (a socket that is gone: ENOENT or ECONNREFUSED).
 */
export function sdNotify(state: string): boolean {
  const socketPath = process.env.NOTIFY_SOCKET;
  if (!socketPath) return false;
  native().sdNotify(socketPath, Buffer.from(state, 'utf8'));
  return true;
}
