/**
 * The bridge layer: composes one datapath with one policy per bridge (the registry and plan-step executor, the
 * upcall pipeline, host isolation records, the records and adoption of persistent bridges).
 */
export { BridgeManager } from './manager';
export { UpcallPipeline } from './upcall';
export { readKernelBridges, kernelLiveBridge } from './live';
export { KERNEL_BRIDGES_FILE, loadKernelBridges, saveKernelBridges, type KernelBridgeRecord } from './records';
export type { BridgeControl } from './control';
export { RemoteBridgeManager, type RemoteBridgeOptions, type WorkerLog } from './remote';
