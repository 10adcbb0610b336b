/**
 * The rule between units of `number` in [port] (schema-port-number.ts): two ports of one bridge never pin the same
 * number. How numbers are given is the model's (src/model/ports.ts).
 */
import type { Loc } from './locate';
import type { FileUnit } from './validate';

type Report = (u: FileUnit, at: Loc, message: string, hint?: string) => void;

/** Each number is pinned by one port of a bridge at most; the second is reported at its value. */
export function checkPortNumbers(units: readonly FileUnit[], report: Report): void {
  const first = new Map<string, FileUnit>();
  for (const u of units) {
    const bridge = u.type === 'port' ? u.values.given('port.bridge')?.value : undefined;
    const no = u.values.given('port.number');
    if (bridge === undefined || !no) continue;
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
