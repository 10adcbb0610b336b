/** CLI helpers around netmgrd's socket: ask for live bridges, turn refusals into output and exit codes. */
import { send, sendIfRunning } from '../daemon/client';
import { RequestError } from '../daemon/errors';
import { LiveRequest, type ErrorBody, type RequestType, type Response } from '../daemon/protocol';
import { CliContext, EXIT_BUSY, EXIT_FAILURE, EXIT_INVALID } from './command';
import { printErrors } from './common';
import { renderFlowError } from './flow-error';
import { readKernelBridges } from '../bridge';
import type { LiveBridge } from '../model/bridges';
import { NetmgrError } from '../util/errors';

/** Sends a request; netmgrd's refusal comes back as the answer (for reportDaemonError), other failures throw. */
export async function ask<P, R>(socketPath: string, type: RequestType<P, R>, params: P): Promise<Response<R>> {
  try {
    return { ok: true, result: await send(socketPath, type, params) };
  } catch (e) {
    if (e instanceof RequestError) return { ok: false, error: e.body };
    throw e;
  }
}

/** The bridges netmgrd runs, or undefined when it is not running. */
export async function liveBridges(socketPath: string): Promise<LiveBridge[] | undefined> {
  try {
    return await sendIfRunning(socketPath, LiveRequest, {});
  } catch (e) {
    if (e instanceof RequestError) throw new NetmgrError(e.kind, `netmgrd: ${e.message}`);
    throw e;
  }
}

/**
 * The bridges to plan against: netmgrd's when it runs, else the kernel bridges netmgr recorded, read from the
 * kernel (they outlive netmgrd; userspace bridges do not).
 */
export async function bridgesToPlan(
  socketPath: string,
  stateDir: string,
): Promise<{ bridges: LiveBridge[]; daemonRunning: boolean }> {
  const running = await liveBridges(socketPath);
  if (running !== undefined) return { bridges: running, daemonRunning: true };
  return { bridges: readKernelBridges(stateDir), daemonRunning: false };
}

/** Prints an error answer the way the local command would, and returns its exit code. */
export function reportDaemonError(
  ctx: CliContext,
  command: string,
  e: ErrorBody,
  texts: { flow?: string; actions?: string } = {},
): number {
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
