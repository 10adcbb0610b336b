/**
 * `netmgr flow check|encode`: parse, normalise and validate an ODP flow (and actions) without a datapath, or show
 * the netlink bytes a kernel datapath would be sent.
 */
import { EXIT_INVALID, EXIT_OK, UsageError, type CliContext, type Command } from './command';
import { renderFlowError } from './flow-error';
import { portTable } from '../model/ports';
import {
  FlowError,
  FlowDecodeError,
  KEY_ATTR_BY_NUMBER,
  OVS_ACTION_ATTR,
  OVS_FLOW_ATTR,
  OVS_KEY_ATTR,
  encodeActions,
  encodeKey,
  encodeMask,
  formatActions,
  formatFlowKey,
  parseActions,
  parseFlow,
  validateFlow,
} from '../flow';
import * as nlattr from '../netlink/attr';

const USAGE = 'netmgr flow check|encode [--port NAME=NUMBER]... "<flow>" ["<actions>"]';

const FLOW_ATTR_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(OVS_FLOW_ATTR).map(([k, v]) => [v, `OVS_FLOW_ATTR_${k}`]),
);
const KEY_ATTR_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(OVS_KEY_ATTR).map(([k, v]) => [v, `OVS_KEY_ATTR_${k}`]),
);
const ACTION_ATTR_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(OVS_ACTION_ATTR).map(([k, v]) => [v, `OVS_ACTION_ATTR_${k}`]),
);

const hex = (b: Uint8Array): string => [...b].map((x) => x.toString(16).padStart(2, '0')).join(' ');

/** Hex dump of nested attributes, one line per attribute: header bytes | payload, annotated with the name. */
function annotate(
  bytes: Uint8Array,
  names: Record<number, string>,
  indent: string,
  nested: (type: number) => Record<number, string> | undefined,
): string[] {
  const out: string[] = [];
  for (const a of nlattr.readAttrs(bytes)) {
    const header = bytes.subarray(a.offset, a.offset + nlattr.NLA_HDRLEN);
    const name = names[a.type] ?? `type ${a.type}`;
    const inner = nested(a.type);
    if (inner) {
      out.push(`${indent}${hex(header)}  ${name} (nested, ${a.payload.length} bytes)`);
      out.push(...annotate(a.payload, inner, indent + '  ', nested === nestedKeys ? nestedKeys : nestedActions));
    } else {
      const def = names === KEY_ATTR_NAMES ? KEY_ATTR_BY_NUMBER.get(a.type) : undefined;
      out.push(
        `${indent}${hex(header)} | ${hex(a.payload)}  ${name}${def ? ` (${def.odp}, ${a.payload.length} bytes)` : ''}`,
      );
    }
  }
  return out;
}
const nestedKeys = (t: number): Record<number, string> | undefined =>
  t === OVS_KEY_ATTR.ENCAP ? KEY_ATTR_NAMES : undefined;
const nestedActions = (t: number): Record<number, string> | undefined =>
  t === OVS_ACTION_ATTR.CLONE
    ? ACTION_ATTR_NAMES
    : t === OVS_ACTION_ATTR.SET || t === OVS_ACTION_ATTR.SET_MASKED
      ? KEY_ATTR_NAMES
      : t === OVS_ACTION_ATTR.SAMPLE
        ? { 1: 'OVS_SAMPLE_ATTR_PROBABILITY', 2: 'OVS_SAMPLE_ATTR_ACTIONS' }
        : t === OVS_ACTION_ATTR.USERSPACE
          ? {
              1: 'OVS_USERSPACE_ATTR_PID',
              2: 'OVS_USERSPACE_ATTR_USERDATA',
              3: 'OVS_USERSPACE_ATTR_EGRESS_TUN_PORT',
              4: 'OVS_USERSPACE_ATTR_ACTIONS',
            }
          : undefined;

function encodeReport(
  flow: ReturnType<typeof parseFlow>,
  actions: ReturnType<typeof parseActions> | undefined,
): string {
  const lines: string[] = [];
  const section = (type: number, payload: Uint8Array, body: string[]): void => {
    const hdr = new nlattr.NlAttrWriter().put(type, payload).finish().subarray(0, nlattr.NLA_HDRLEN);
    lines.push(`${hex(hdr)}  ${FLOW_ATTR_NAMES[type]} (nested, ${payload.length} bytes)`);
    lines.push(...body);
  };
  const key = encodeKey(flow.key);
  section(OVS_FLOW_ATTR.KEY, key, annotate(key, KEY_ATTR_NAMES, '  ', nestedKeys));
  const mask = encodeMask(flow.key, flow.mask);
  section(OVS_FLOW_ATTR.MASK, mask, annotate(mask, KEY_ATTR_NAMES, '  ', nestedKeys));
  if (actions) {
    const acts = encodeActions(actions.actions);
    section(OVS_FLOW_ATTR.ACTIONS, acts, annotate(acts, ACTION_ATTR_NAMES, '  ', nestedActions));
  }
  return lines.join('\n') + '\n';
}

export const flowCommand: Command = {
  name: 'flow',
  summary: 'check or encode an ODP flow (ovs-dpctl syntax) without a datapath',
  usage: USAGE,
  async run(ctx: CliContext): Promise<number> {
    const args = [...ctx.args];
    const sub = args.shift();
    if (sub !== 'check' && sub !== 'encode')
      throw new UsageError(`expected 'check' or 'encode', got ${sub === undefined ? 'nothing' : `'${sub}'`}`);
    const ports = new Map<string, number>();
    const positional: string[] = [];
    for (let i = 0; i < args.length; i++) {
      const a = args[i];
      if (a === '--port' || a.startsWith('--port=')) {
        const spec = a === '--port' ? args[++i] : a.slice(7);
        const m = spec === undefined ? null : /^([^=]+)=([0-9]+)$/.exec(spec);
        if (!m) throw new UsageError(`--port takes NAME=NUMBER, got '${spec ?? ''}'`);
        ports.set(m[1], Number(m[2]));
      } else if (a.startsWith('--')) {
        throw new UsageError(`unknown option ${a}`);
      } else {
        positional.push(a);
      }
    }
    if (positional.length < 1 || positional.length > 2) throw new UsageError('expected a flow and optionally actions');
    const [flowText, actionsText] = positional;
    const table = portTable(ports);
    try {
      const flow = parseFlow(flowText, { ports: table });
      const actions = actionsText === undefined ? undefined : parseActions(actionsText, { ports: table });
      const problems = validateFlow(flow, actions);
      if (problems.length) {
        ctx.stderr(problems.map((p) => renderFlowError(p, flowText, actionsText ?? '')).join(''));
        return EXIT_INVALID;
      }
      if (sub === 'check') {
        const shown = formatFlowKey(flow.key, flow.mask, { ports: ports.size ? table : undefined });
        ctx.stdout(
          actions
            ? `${shown}, actions:${formatActions(actions.actions, { ports: ports.size ? table : undefined })}\n`
            : `${shown}\n`,
        );
      } else {
        ctx.stdout(encodeReport(flow, actions));
      }
      return EXIT_OK;
    } catch (e) {
      if (e instanceof FlowError) {
        ctx.stderr(renderFlowError(e, flowText, actionsText ?? ''));
        return EXIT_INVALID;
      }
      if (e instanceof FlowDecodeError) {
        ctx.stderr(`flow: error: ${e.message}\n`);
        return EXIT_INVALID;
      }
      throw e;
    }
  },
};

export default flowCommand;
