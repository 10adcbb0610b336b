/**
 * The forwarding worker's scheduling priority: nice -10 for its thread alone, as ovs-ctl starts ovs-vswitchd (its
 * --ovs-vswitchd-priority default), so a packet waiting for the worker is not queued behind netmgrd's own control
 * work (parsing a 5 MB unit set, planning, netlink dumps) or any other busy process on a small box. The control
 * thread keeps the process's nice.
 *
 * Linux applies setpriority(PRIO_PROCESS, tid) to the one thread; the thread's id is read from /proc/thread-self.
 * Lowering nice needs CAP_SYS_NICE (netmgrd as root; the systemd unit keeps it in the bounding set). Without it
 * forwarding still works, at the process's priority: the reason is returned for the log.
 */
import * as fs from 'fs';
import * as os from 'os';
import { messageOf } from '../util/errors';

/** The forwarding thread's nice value (ovs-ctl's default for ovs-vswitchd). */
export const FORWARDING_NICE = -10;

/** The calling thread's id (not the process's): "PID/task/TID" is what /proc/thread-self links to. */
export function currentThreadId(): number {
  const link = fs.readlinkSync('/proc/thread-self');
  const tid = Number(link.split('/').pop());
  if (!Number.isInteger(tid) || tid <= 0) throw new Error(`unexpected /proc/thread-self link ${link}`);
  return tid;
}

/** Gives the calling thread FORWARDING_NICE; undefined when done, else why not (it keeps running either way). */
export function raiseForwardingPriority(): string | undefined {
  try {
    os.setPriority(currentThreadId(), FORWARDING_NICE);
    return undefined;
  } catch (e) {
    return `the forwarding thread keeps netmgrd's scheduling priority (nice ${FORWARDING_NICE} refused: ${messageOf(e)})`;
  }
}
