/**
 * The rules between units of `number` in [port] (schema-port-number.ts): two ports of one bridge never pin the same
 * number, and a bridge running the spanning tree takes numbers its Port Identifiers can carry. How numbers are
 * given is the model's (src/model/ports.ts).
 */
import type { Loc } from './locate';
import type { FileUnit } from './validate';

/** 802.1D-2004 9.2.7: the Port Identifier's port number has 12 bits (policy/rstp PORT_NUMBER_MAX). */
const STP_PORT_NO_MAX = 4095;

type Report = (u: FileUnit, at: Loc, message: string, hint?: string) => void;

/** The spanning-tree mode of a learning bridge unit, when it runs one. */
function stpMode(b: FileUnit | undefined): string | undefined {
  if (!b || b.type !== 'bridge' || b.values.isBad('bridge.policy') || b.values.isBad('bridge.stp')) return undefined;
  const mode = b.values.get('bridge.stp');
  return b.values.get('bridge.policy') === 'learning' && mode !== 'off' ? mode : undefined;
}

/** Each number is pinned by one port of a bridge at most (the second is reported at its value), within STP's range. */
export function checkPortNumbers(units: readonly FileUnit[], byName: Map<string, FileUnit>, report: Report): void {
  const first = new Map<string, FileUnit>();
  for (const u of units) {
    const bridge = u.type === 'port' ? u.values.given('port.bridge')?.value : undefined;
    const no = u.values.given('port.number');
    if (bridge === undefined || !no) continue;
    const mode = stpMode(byName.get(bridge));
    if (mode && no.value > STP_PORT_NO_MAX)
      report(
        u,
        no.at,
        `port number ${no.value} is above ${STP_PORT_NO_MAX}: bridge \`${bridge}\` runs the spanning tree (stp = "${mode}"), whose Port Identifier has 12 bits for the number`,
        `pin a number 1..${STP_PORT_NO_MAX}, or remove \`number\``,
      );
    const key = `${bridge}\0${no.value}`;
    const holder = first.get(key);
    if (!holder) {
      first.set(key, u);
      continue;
    }
    const at = holder.values.given('port.number')!.at;
    report(
      u,
      no.at,
      `port number ${no.value} is already pinned by port \`${holder.name}\` (${holder.file}:${at.line}:${at.col}) of bridge \`${bridge}\``,
      'each port of a bridge needs its own number: change one, or remove `number` to let netmgr keep the running one or take the lowest free',
    );
  }
}
