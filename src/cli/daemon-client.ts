/** CLI helpers around netmgrd's socket: ask for live bridges, turn error answers into output and exit codes. */
import { request, requestIfRunning } from '../daemon/client';
import type { ErrorBody, LiveResult, Request } from '../daemon/protocol';
import { CliContext, EXIT_BUSY, EXIT_FAILURE, EXIT_INVALID } from './command';
import { printErrors } from './common';
import { renderFlowError } from './flow-error';
import { readKernelBridges } from '../bridge';
import type { LiveBridge } from '../live/bridges';

/** The bridges netmgrd runs, or undefined when it is not running. */
export async function liveBridges(socketPath: string): Promise<LiveResult | undefined> {
  const r = await requestIfRunning<LiveResult>(socketPath, { op: 'live' });
  if (r === undefined) return undefined;
  if (!r.ok) throw new Error(`netmgrd: ${r.error.message}`);
  return r.result;
}

/**
 * The bridges to plan against: netmgrd's when it runs, else the kernel bridges netmgr recorded, read from the
 * kernel (they outlive netmgrd; userspace bridges do not).
 */
export async function bridgesToPlan(socketPath: string, stateDir: string): Promise<{ bridges: LiveBridge[]; daemonRunning: boolean }> {
  const running = await liveBridges(socketPath);
  if (running !== undefined) return { bridges: running, daemonRunning: true };
  return { bridges: readKernelBridges(stateDir), daemonRunning: false };
}

/** Prints an error answer the way the local command would, and returns its exit code. */
export function reportDaemonError(ctx: CliContext, command: string, e: ErrorBody, texts: { flow?: string; actions?: string } = {}): number {
  switch (e.kind) {
    case 'invalid':
      if (e.errors?.length) printErrors(ctx, e.errors);
      else ctx.stderr(`netmgr ${command}: ${e.message}\n`);
      return EXIT_INVALID;
    case 'flow':
      for (const f of e.flowErrors ?? []) ctx.stderr(renderFlowError(f, texts.flow ?? '', texts.actions ?? ''));
      return EXIT_INVALID;
    case 'busy':
      ctx.stderr(`netmgr ${command}: ${e.message}\n`);
      return EXIT_BUSY;
    default:
      ctx.stderr(`netmgr ${command}: ${e.message}\n`);
      return EXIT_FAILURE;
  }
}

export { request };
export type { Request };
