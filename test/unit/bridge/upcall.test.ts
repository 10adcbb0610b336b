/**
 * The upcall pipeline: a batch of upcalls becomes one batch of datapath operations (puts before the execute of
 * their packet, in upcall order), and each install's outcome goes back to the policy, failures included. With
 * the learning policy: an install invalidated by a later upcall of the same batch does not stay in the datapath.
 */
import {
  extractPacked,
  formatActions,
  newPacketKey,
  parseActions,
  parseFlow,
  unpackPacketKey,
  type FlowKey,
} from '../../../src/flow';
import type { Datapath, DpOp, FlowInstall, Upcall, UpcallResult } from '../../../src/datapath/types';
import { DatapathError } from '../../../src/datapath/types';
import type { Policy } from '../../../src/policy';
import { LearningPolicy } from '../../../src/policy/learning';
import { UpcallPipeline } from '../../../src/bridge/upcall';
import { buildFrame } from '../flow/frames';
import { FakeDatapath } from '../policy/fake-datapath';

const flow = (text: string) => parseFlow(text);
const packet = new Uint8Array(60);

function upcall(inPort: number): Upcall {
  return { type: 'miss', inPort, key: flow(`in_port(${inPort}),eth(),eth_type(0x0800)`).key, packet };
}

/** Answers by in_port: 1 = install + actions, 2 = actions only, 3 = drop, 4 = the policy throws. */
class ScriptedPolicy implements Policy {
  readonly kind = 'learning' as const;
  readonly outcomes: Array<[FlowInstall, string | undefined]> = [];
  attach(): void {}
  configure(): void {}
  detach(): void {}
  upcall(u: Upcall): UpcallResult | undefined {
    const f = flow(`in_port(${u.inPort}),eth(),eth_type(0x0800)`);
    const actions = parseActions(`${u.inPort + 10}`).actions;
    switch (u.inPort) {
      case 1:
        return { actions, install: { key: f.key, mask: f.mask, actions } };
      case 2:
        return { actions };
      case 4:
        throw new Error('policy bug');
      default:
        return undefined;
    }
  }
  installed(install: FlowInstall, error: Error | undefined): void {
    this.outcomes.push([install, error?.message]);
  }
}

/** Records operate() batches; the results are scripted per call. */
function recordingDatapath(results: (ops: readonly DpOp[]) => Array<Error | undefined>): {
  dp: Datapath;
  batches: DpOp[][];
} {
  const batches: DpOp[][] = [];
  const dp = {
    name: 'br0',
    setUpcallHandler() {},
    operate(ops: readonly DpOp[]) {
      batches.push([...ops]);
      return results(ops);
    },
  } as unknown as Datapath;
  return { dp, batches };
}

const describeOp = (op: DpOp): string =>
  op.type === 'put'
    ? `put in_port ${op.flow.key.inPort} -> ${formatActions(op.actions)}`
    : `execute from ${op.inPort}: ${formatActions(op.actions)}`;

describe('the upcall pipeline', () => {
  test('a batch becomes one operate() call: each put before its packet execute, in upcall order; drops add nothing', () => {
    const { dp, batches } = recordingDatapath((ops) => ops.map(() => undefined));
    const policy = new ScriptedPolicy();
    new UpcallPipeline(dp, policy, () => undefined).handle([upcall(1), upcall(3), upcall(2), upcall(1)]);
    expect(batches.map((b) => b.map(describeOp))).toEqual([
      ['put in_port 1 -> 11', 'execute from 1: 11', 'execute from 2: 12', 'put in_port 1 -> 11', 'execute from 1: 11'],
    ]);
    const put = batches[0][0];
    expect(put.type === 'put' && put.opts).toEqual({ mode: 'modify', mayCreate: true });
    expect(policy.outcomes.map(([, e]) => e)).toEqual([undefined, undefined]);
  });

  test('a batch with nothing to do does not call operate()', () => {
    const { dp, batches } = recordingDatapath((ops) => ops.map(() => undefined));
    new UpcallPipeline(dp, new ScriptedPolicy(), () => undefined).handle([upcall(3), upcall(3)]);
    expect(batches).toEqual([]);
  });

  test('a failed put is reported to the policy with its error, the others as installed', () => {
    const { dp } = recordingDatapath((ops) =>
      ops.map((op, i) => (i === 2 ? new DatapathError('EINVAL', 'refused') : undefined)),
    );
    const policy = new ScriptedPolicy();
    new UpcallPipeline(dp, policy, () => undefined).handle([upcall(1), upcall(1)]);
    expect(policy.outcomes.map(([, e]) => e)).toEqual([undefined, 'refused']);
  });

  test('a policy that throws drops only that packet; the failure is logged', () => {
    const { dp, batches } = recordingDatapath((ops) => ops.map(() => undefined));
    const logs: string[] = [];
    new UpcallPipeline(dp, new ScriptedPolicy(), (l) => logs.push(l)).handle([upcall(4), upcall(2)]);
    expect(batches.map((b) => b.map(describeOp))).toEqual([['execute from 2: 12']]);
    expect(logs).toEqual(['br0: the policy failed on an upcall: policy bug']);
  });

  test('when operate() itself throws, every install of the batch is reported failed', () => {
    const { dp } = recordingDatapath(() => {
      throw new Error('socket closed');
    });
    const policy = new ScriptedPolicy();
    new UpcallPipeline(dp, policy, () => undefined).handle([upcall(1), upcall(2), upcall(1)]);
    expect(policy.outcomes.map(([, e]) => e)).toEqual(['socket closed', 'socket closed']);
  });

  test("connect() makes it the datapath's upcall handler; disconnect() removes it", () => {
    const dp = new FakeDatapath('br0');
    const policy = new ScriptedPolicy();
    const pipeline = new UpcallPipeline(dp, policy, () => undefined);
    pipeline.connect();
    expect(
      formatActions(
        dp.receive(
          1,
          buildFrame({
            src: 2,
            dst: 3,
            ethType: 0x0800,
            ipv4: { src: 1, dst: 2, proto: 17, tos: 0, ttl: 64, frag: 0 },
            l4: { src: 1, dst: 2 },
          }),
        ).actions,
      ),
    ).toBe('11');
    expect(dp.operated).toHaveLength(1);
    pipeline.disconnect();
    dp.receive(2, buildFrame({ src: 2, dst: 3, ethType: 0x0806, arp: { op: 1, sha: 2, sip: 1, tha: 0, tip: 2 } }));
    expect(dp.operated).toHaveLength(1);
  });
});

describe('the learning policy through the pipeline', () => {
  const A = 0x020000000001,
    B = 0x020000000002;
  const frame = (src: number, dst: number) =>
    buildFrame({
      src,
      dst,
      ethType: 0x0800,
      ipv4: { src: 1, dst: 2, proto: 6, tos: 0, ttl: 64, frag: 0 },
      l4: { src: 40000, dst: 80 },
    });
  const keyOf = (inPort: number, f: Uint8Array): FlowKey => {
    const pk = newPacketKey();
    extractPacked(f, 0, f.length, inPort, pk);
    return unpackPacketKey(pk.words);
  };

  function setup() {
    const dp = new FakeDatapath('br0');
    const policy = new LearningPolicy({ now: () => 1_000_000, timers: false });
    policy.attach(dp);
    const pipeline = new UpcallPipeline(dp, policy, () => undefined);
    pipeline.connect();
    const port = (no: number) => ({ name: `p${no}`, no, kind: 'veth' as const, namespace: null, link: { up: true } });
    policy.configure(
      {
        name: 'br0',
        datapath: 'userspace',
        policy: 'learning',
        link: { up: true },
        learning: { macAging: 300, macTableSize: 8192, staticMacs: [] },
      },
      [port(1), port(2), port(3)],
    );
    return { dp, policy, pipeline };
  }

  test('a flood flow invalidated by a later upcall of its batch (the destination learned) is not left in the datapath', () => {
    const { dp, policy, pipeline } = setup();
    const ab = frame(A, B),
      ba = frame(B, A);
    pipeline.handle([
      { type: 'miss', inPort: 1, key: keyOf(1, ab), packet: ab },
      { type: 'miss', inPort: 2, key: keyOf(2, ba), packet: ba },
    ]);
    // Both flows were put in the one batch; A->B (flooding, decided before B was known) is then deleted.
    expect(dp.operated[0].filter((op) => op.type === 'put')).toHaveLength(2);
    expect(dp.dumpFlows().map((f) => formatActions(f.actions))).toEqual(['1']);
    expect(policy.fdbStats().flows).toBe(1);
    const again = dp.receive(1, ab);
    expect([again.path, formatActions(again.actions)]).toEqual(['miss', '2']);
    expect(dp.receive(1, ab).path).toBe('hit');
  });

  test('a put the datapath refuses is forgotten by the policy, and logged', () => {
    const logs: string[] = [];
    const dp = new FakeDatapath('br0');
    const policy = new LearningPolicy({ now: () => 1_000_000, timers: false, log: (l) => logs.push(l) });
    policy.attach(dp);
    const pipeline = new UpcallPipeline(dp, policy, () => undefined);
    policy.configure(
      {
        name: 'br0',
        datapath: 'userspace',
        policy: 'learning',
        link: { up: true },
        learning: { macAging: 300, macTableSize: 8192, staticMacs: [] },
      },
      [
        { name: 'p1', no: 1, kind: 'veth', namespace: null, link: { up: true } },
        { name: 'p2', no: 2, kind: 'veth', namespace: null, link: { up: true } },
      ],
    );
    dp.putFlow = () => {
      throw new DatapathError('EINVAL', 'no room');
    };
    const ab = frame(A, B);
    pipeline.handle([{ type: 'miss', inPort: 1, key: keyOf(1, ab), packet: ab }]);
    expect(policy.fdbStats().flows).toBe(0);
    expect(logs).toEqual(['br0: could not install a flow: no room']);
  });
});
