/** A host interface in the root namespace as `netmgr status` reports it (read by src/live/host.ts). */
export interface HostInterface {
  name: string;
  mac: string | null;
  operstate: string;
  mtu: number | null;
  /** Mbit/s, null when unknown (virtual interfaces, link down). */
  speed: number | null;
  duplex: string | null;
  driver: string | null;
  virtual: boolean;
}
