/**
 * Reading a kernel datapath's upcalls (OVS_PACKET_CMD_MISS and _ACTION on this process's upcall socket) and
 * handing them to the upcall handler in batches, as OVS's recv_upcalls: up to UPCALL_BATCH datagrams are read
 * one after the other into one arena, then the handler gets them all at once (their packets are views into it).
 */
import { native, type NativeError } from '../../native';
import { parseMessages, type NetlinkSocket } from '../../netlink/socket';
import { OVS_PACKET_CMD } from './abi';
import { decodeUpcall } from './messages';
import type { Upcall, UpcallHandler } from '../types';

/** Room for the largest upcall datagram. */
const UPCALL_BUFFER = 1 << 17;
/** Datagrams read per readiness callback, so forwarding work of other bridges interleaves under a miss storm. */
const UPCALL_READS = 256;
/** Upcalls handed to the handler at once (OVS's UPCALL_MAX_BATCH). */
const UPCALL_BATCH = 64;
/** Where a batch of upcalls is read: datagrams one after the other, reused once the batch is handled. */
const UPCALL_ARENA = 1 << 20;
export class UpcallReader {
  /** Allocated at the first read (a datapath opened only to be inspected never reads). */
  private arena: Buffer | undefined;
  /** Upcalls this process could not read (socket overrun: ENOBUFS) - the kernel counts them as lost too. */
  overruns = 0;

  constructor(
    private readonly name: string,
    private readonly sock: NetlinkSocket,
    private readonly packetFamily: number,
    /** The handler in force (it changes while the reader lives). */
    private readonly handler: () => UpcallHandler | undefined,
    /** True once the datapath stopped serving: reading ends. */
    private readonly closed: () => boolean,
    private readonly log: (line: string) => void,
  ) {}

  /**
   * Reads upcalls into the arena, one datagram after the other, and hands them to the handler in batches of up
   * to UPCALL_BATCH (the arena is reused after each batch: the packets are views into it).
   */
  read(): void {
    const n = native();
    const arena = (this.arena ??= Buffer.allocUnsafe(UPCALL_ARENA));
    const batch: Upcall[] = [];
    let used = 0;
    for (let i = 0; i < UPCALL_READS && !this.closed(); i++) {
      if (batch.length >= UPCALL_BATCH || arena.length - used < UPCALL_BUFFER) {
        this.dispatch(batch);
        batch.length = 0;
        used = 0;
      }
      const rx = arena.subarray(used);
      let len: number;
      try {
        len = n.nlRecv(this.sock.fd, rx, 0);
      } catch (e) {
        const code = (e as NativeError).code;
        if (code === 'ENOBUFS') {
          this.overruns++;
          continue;
        }
        if (code !== 'ETIMEDOUT') this.log(`${this.name}: reading upcalls: ${(e as Error).message}`);
        break; // ETIMEDOUT: drained
      }
      used += (len + 7) & ~7;
      for (const m of parseMessages(rx, len)) {
        if (m.type !== this.packetFamily) continue;
        const u = this.decodeUpcall(m.payload[0], m.payload.subarray(4));
        if (u) batch.push(u);
      }
    }
    this.dispatch(batch);
  }

  private dispatch(batch: Upcall[]): void {
    const h = this.handler();
    if (!batch.length || !h) return;
    try {
      h(batch);
    } catch (e) {
      this.log(`${this.name}: the upcall handler failed on ${batch.length} upcall(s): ${(e as Error).message}`);
    }
  }

  private decodeUpcall(cmd: number, body: Uint8Array): Upcall | undefined {
    if (cmd !== OVS_PACKET_CMD.MISS && cmd !== OVS_PACKET_CMD.ACTION) return undefined;
    if (!this.handler()) return undefined;
    try {
      const up = decodeUpcall(body);
      const type = cmd === OVS_PACKET_CMD.MISS ? 'miss' : 'action';
      return {
        type,
        inPort: up.key.inPort ?? -1,
        key: up.key,
        packet: up.packet,
        userdata: up.userdata,
        rawKey: up.keyBytes,
      };
    } catch (e) {
      this.log(`${this.name}: dropped an upcall netmgr cannot decode: ${(e as Error).message}`);
      return undefined;
    }
  }
}
