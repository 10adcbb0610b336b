import { flowCommand } from '../../../src/cli/flow';
import { EXIT_INVALID, EXIT_OK, UsageError } from '../../../src/cli/command';

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await flowCommand.run({ args, env: {}, stdout: (t) => (out += t), stderr: (t) => (err += t) });
  return { code, out, err };
}

describe('netmgr flow', () => {
  test('check prints the normalized flow', async () => {
    const r = await run('check', 'in_port(1),eth(),eth_type(0x806),arp()', '2');
    expect(r).toEqual({ code: EXIT_OK, out: 'in_port(1),eth(),eth_type(0x0806), actions:2\n', err: '' });
  });
  test('check explains a rejection with a caret under the token', async () => {
    const r = await run('check', 'in_port(1),eth(),eth_type(0x0800)');
    expect(r.code).toBe(EXIT_INVALID);
    expect(r.err).toBe(
      'flow:18: error: eth_type(0x0800) requires an ipv4(...) key; add ipv4() to match any IPv4 packet (the kernel logs "Missing key" and returns EINVAL)\n' +
        '  in_port(1),eth(),eth_type(0x0800)\n' +
        '                   ^^^^^^^^\n',
    );
  });
  test('syntax errors in actions point into the actions', async () => {
    const r = await run('check', 'in_port(1),eth(),eth_type(0x0806),arp()', '1,bogus');
    expect(r.code).toBe(EXIT_INVALID);
    expect(r.err.split('\n')[0]).toMatch(/^actions:3: error: unknown action 'bogus'/);
    expect(r.err.split('\n')[2]).toBe('    ^^^^^');
  });
  test('--port names resolve in in_port() and outputs, and print back', async () => {
    const r = await run('check', '--port', 'p1=1', '--port=p2=2', 'in_port(p1),eth(),eth_type(0x0806),arp()', 'p2');
    expect(r.out).toBe('in_port(p1),eth(),eth_type(0x0806), actions:p2\n');
  });
  test('encode prints annotated netlink attributes', async () => {
    const r = await run('encode', 'in_port(1),eth(),eth_type(0x0806),arp()', '2');
    expect(r.code).toBe(EXIT_OK);
    expect(r.out).toContain('OVS_FLOW_ATTR_KEY (nested, 60 bytes)');
    expect(r.out).toContain('08 00 03 00 | 01 00 00 00  OVS_KEY_ATTR_IN_PORT (in_port, 4 bytes)');
    expect(r.out).toContain('OVS_FLOW_ATTR_MASK');
    expect(r.out).toContain('08 00 01 00 | 02 00 00 00  OVS_ACTION_ATTR_OUTPUT');
  });
  test('bad command lines are UsageErrors', async () => {
    await expect(run('frobnicate')).rejects.toBeInstanceOf(UsageError);
    await expect(run('check')).rejects.toBeInstanceOf(UsageError);
    await expect(run('check', '--port', 'x', 'eth()')).rejects.toBeInstanceOf(UsageError);
  });
});
