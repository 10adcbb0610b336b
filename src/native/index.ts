/** Typed access to the C addon (src/native/netmgr_native.c), built by node-gyp on `npm ci`. */
import * as path from 'path';

export interface NativeError extends Error {
  code: string;
  errno: number;
  syscall: string;
}

export interface NativeAddon {
  nlOpen(protocol: number, nsFd: number, rcvbuf: number): number;
  nlPortId(fd: number): number;
  nlSend(fd: number, buf: Buffer, length: number): number;
  nlRecv(fd: number, buf: Buffer, timeoutMs: number): number;
  netnsCreate(dir: string, name: string): void;
  netnsRemove(path: string): void;
  flockExclusive(fd: number, wait: boolean): boolean;
}

let loaded: NativeAddon | undefined;

export function native(): NativeAddon {
  if (!loaded) {
    const file = path.resolve(__dirname, '..', '..', 'build', 'Release', 'netmgr_native.node');
    try {
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      loaded = require(file) as NativeAddon;
    } catch (e) {
      throw new Error(
        `netmgr's native addon is missing or broken (${file}): ${(e as Error).message}\n` +
          `  hint: rebuild it with \`npm rebuild\` (needs python3, make and a C compiler)`,
      );
    }
  }
  return loaded;
}
