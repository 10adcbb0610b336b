/** Shared by the golden test and the OVS cross-check: what netmgr says about each corpus line. */
import { parseFlow, parseActions } from '../../../src/flow/parse';
import { formatFlowKey, formatActions } from '../../../src/flow/format';
import { validateFlow } from '../../../src/flow/validate';
import { FlowError, type Flow, type ParsedActions } from '../../../src/flow/types';
import { goldenLines } from './helpers';

export interface CorpusLine {
  flow: string;
  actions: string;
}

export function corpus(): CorpusLine[] {
  return goldenLines('corpus.txt').map((l) => {
    const [flow, actions = ''] = l.split('\t');
    return { flow, actions };
  });
}

export type Verdict =
  { ok: true; flow: Flow; actions: ParsedActions; text: string } | { ok: false; error: FlowError; text: string };

export function judge(line: CorpusLine): Verdict {
  try {
    const flow = parseFlow(line.flow);
    const actions = parseActions(line.actions);
    const problems = validateFlow(flow, actions);
    if (problems.length) return { ok: false, error: problems[0], text: errText(problems[0]) };
    return {
      ok: true,
      flow,
      actions,
      text: `OK ${formatFlowKey(flow.key, flow.mask)}, actions:${formatActions(actions.actions)}`,
    };
  } catch (e) {
    if (e instanceof FlowError) return { ok: false, error: e, text: errText(e) };
    throw e;
  }
}

const errText = (e: FlowError): string => `ERR ${e.source}:${e.column}: [${e.token}] ${e.message}`;
