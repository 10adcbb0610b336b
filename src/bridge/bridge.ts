/**
 * One running bridge: a datapath, its policy, and the upcall pipeline between them, with the settings and ports
 * the bridge layer gave them. The registry (manager.ts) and adoption (adopt.ts) build and stop them here.
 */
import type { Datapath } from '../datapath/types';
import type { BridgeConfig, PortConfig } from '../model/bridges';
import { createPolicy, type LearnedMac, type Policy } from '../policy';
import { completeBridgeConfig } from './config';
import { UpcallPipeline } from './upcall';

export interface ManagedBridge {
  config: BridgeConfig;
  dp: Datapath;
  policy: Policy;
  pipeline: UpcallPipeline;
  /** Ports other than port 0, by name. */
  ports: Map<string, PortConfig>;
}

export const sortedPorts = (b: ManagedBridge): PortConfig[] => [...b.ports.values()].sort((x, y) => x.no - y.no);

/** Tells the bridge's policy its settings and ports (ordered by number) after any change to them. */
export function configurePolicy(b: ManagedBridge): void {
  b.policy.configure(b.config, sortedPorts(b));
}

/**
 * Puts a policy on a datapath: attached, configured, then (after `adopt`, which runs before the first upcall
 * is taken) the pipeline becomes the datapath's upcall handler. The settings are completed here, once.
 */
export function startBridge(
  config: BridgeConfig,
  dp: Datapath,
  ports: Map<string, PortConfig>,
  log: (line: string) => void,
  adopt?: { learned?: readonly LearnedMac[] },
): ManagedBridge {
  const policy = createPolicy(config.policy, log);
  policy.attach(dp);
  const b: ManagedBridge = {
    config: completeBridgeConfig(config),
    dp,
    policy,
    pipeline: new UpcallPipeline(dp, policy, log),
    ports,
  };
  try {
    configurePolicy(b);
    if (adopt) policy.adopt?.(adopt.learned);
  } catch (e) {
    policy.detach();
    throw e;
  }
  b.pipeline.connect();
  return b;
}

/** Disconnects the policy from the datapath (the datapath itself is left as it is). */
export function stopPolicy(b: ManagedBridge): void {
  b.pipeline.disconnect();
  b.policy.detach();
}
