/**
 * Host isolation of the interfaces userspace bridges attach (a tc ingress drop, so the host's own stack does not
 * also answer their frames), recorded in `isolation.json` in the state directory: a netmgrd that died without
 * cleaning up (SIGKILL, power loss) leaves the record, and the next one removes what it names.
 */
import type { HostIsolation } from '../datapath/userspace/datapath';
import type { NamespaceSockets } from '../live/namespaces';
import { installIngressDrop, removeIngressDrop, type IngressDrop } from '../netlink/tc';
import { messageOf } from '../util/errors';
import { readStateFile, writeStateFile, type StateFileSpec } from '../util/state-file';

/**
 * A plain JSON array of IngressDrop, without a version field (the format netmgr always wrote). Not fsynced: the
 * drops it names are kernel state a reboot clears, and it is written on the forwarding thread once per port.
 */
const ISOLATION: StateFileSpec = { name: 'isolation.json', durable: false };

export class IsolationRecords implements HostIsolation {
  private readonly isolated: IngressDrop[];

  constructor(
    private readonly stateDir: string,
    private readonly sockets: NamespaceSockets,
    private readonly log: (line: string) => void,
  ) {
    this.isolated = readStateFile<IngressDrop[]>(stateDir, ISOLATION) ?? [];
  }

  isolate(ifindex: number, name: string): void {
    const rec = installIngressDrop(this.sockets.route(null), ifindex, name);
    this.isolated.push(rec);
    this.save();
  }

  release(ifindex: number, name: string): void {
    const i = this.isolated.findIndex((r) => r.ifindex === ifindex && r.name === name);
    if (i < 0) return;
    removeIngressDrop(this.sockets.route(null), this.isolated[i]);
    this.isolated.splice(i, 1);
    this.save();
  }

  /**
   * At start-up nothing is attached, so isolation left behind by an earlier netmgrd is removed: the interfaces go
   * back to the host until a bridge attaches them again.
   */
  releaseStale(): void {
    for (const rec of this.isolated) {
      try {
        removeIngressDrop(this.sockets.route(null), rec);
        this.log(`removed host isolation left on ${rec.name} by an earlier netmgrd`);
      } catch (e) {
        this.log(`could not remove stale host isolation from ${rec.name}: ${messageOf(e)}`);
      }
    }
    this.isolated.length = 0;
    this.save();
  }

  private save(): void {
    writeStateFile(this.stateDir, ISOLATION, this.isolated);
  }
}
