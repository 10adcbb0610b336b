/** The listener netmgrd.conf asks for, brought about at start and at each reload (as the watcher is). */
import { messageOf } from '../../util/errors';
import type { Logger } from '../log';
import { formatListenAddress, type ListenAddress } from './address';
import type { SnapshotSources } from './gather';
import { StatusListener } from './listener';

const same = (a: ListenAddress, b: ListenAddress) => a.host === b.host && a.port === b.port;

/**
 * Keeps `current` when it listens where `want` says; else closes it and, when `want` is set, starts one there.
 * A listener that cannot bind is logged as an error and netmgrd goes on without it: forwarding and applying
 * matter more than the status page, and the next reload tries again.
 */
export async function reconcileListener(
  current: StatusListener | undefined,
  want: ListenAddress | null,
  sources: SnapshotSources,
  log: Logger,
): Promise<StatusListener | undefined> {
  if (current && want && same(current.address, want)) return current;
  if (current) {
    current.close();
    log.info(`status listener on ${formatListenAddress(current.address)} closed`);
  }
  if (!want) return undefined;
  const listener = new StatusListener(want, sources, (l) => log.warning(l));
  try {
    await listener.start();
  } catch (e) {
    log.error(`${messageOf(e)}; netmgrd runs without its status listener (http-listen in netmgrd.conf)`);
    return undefined;
  }
  log.notice(`status listener on ${listener.url} (metrics at ${listener.url}metrics)`);
  return listener;
}
