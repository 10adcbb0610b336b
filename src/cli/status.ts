/**
 * `netmgr status`: per object realised / pending / drifted / failed, the last apply, datapath and port counters,
 * and the host's interfaces. From netmgrd when it runs; else built here from the records and the kernel.
 */
import { sendIfRunning } from '../daemon/client';
import { RequestError } from '../daemon/errors';
import { StatusRequest } from '../daemon/protocol';
import { loadApplied, loadPendingConfirm } from '../daemon/records';
import { buildStatus } from '../daemon/report';
import { formatStatus, type StatusReport } from '../daemon/status';
import { readKernelBridges } from '../bridge';
import { readHostInterfaces } from '../live/host';
import { Command, EXIT_OK } from './command';
import { DIR_OPTION, JSON_OPTION, parseOptions, paths, printJson, requireRoot } from './common';
import { reportDaemonError } from './daemon-client';

export const statusCommand: Command = {
  name: 'status',
  summary: 'show whether the live system has what the units say, the last apply, counters and host NICs',
  usage: 'netmgr status [--json] [--dir DIR]',
  async run(ctx) {
    const { values } = parseOptions(ctx, { ...DIR_OPTION, ...JSON_OPTION });
    requireRoot('netmgr status');
    const p = paths(ctx, values.dir);
    let r: StatusReport | undefined;
    try {
      r = await sendIfRunning(p.socket, StatusRequest, { unitDir: p.unitDir });
    } catch (e) {
      if (e instanceof RequestError) return reportDaemonError(ctx, 'status', e.body);
      throw e;
    }
    let report: StatusReport;
    if (r === undefined) {
      report = buildStatus({
        unitDir: p.unitDir,
        stateDir: p.stateDir,
        bridges: readKernelBridges(p.stateDir),
        record: loadApplied(p.stateDir),
        pending: loadPendingConfirm(p.stateDir),
        daemon: null,
        counters: [],
      });
    } else report = r;
    report.host = await readHostInterfaces();
    if (values.json) printJson(ctx, report);
    else ctx.stdout(formatStatus(report));
    return EXIT_OK;
  },
};
