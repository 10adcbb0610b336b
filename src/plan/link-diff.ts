/** Diffs of one interface's settings and addresses against the live link (pure). */
import { LinkState } from '../model/types';
import { LiveLink } from '../live/state';
import { Change, VethEnd } from './types';

export function diffAddresses(unit: string, want: VethEnd, have: LiveLink, out: Change[]): void {
  const wanted = new Set(want.addresses);
  const present = new Set(have.addresses);
  for (const a of have.addresses)
    if (!wanted.has(a))
      out.push({ action: 'delete', object: 'address', unit, namespace: have.namespace, link: have.name, address: a });
  for (const a of want.addresses)
    if (!present.has(a))
      out.push({ action: 'create', object: 'address', unit, namespace: want.namespace, link: want.name, address: a });
}

export function diffEnd(unit: string, want: VethEnd, have: LiveLink, out: Change[]): void {
  const fields: Extract<Change, { object: 'link' }>['fields'] = {};
  if (want.mtu !== undefined && want.mtu !== have.mtu) fields.mtu = { from: have.mtu, to: want.mtu };
  if (want.mac !== undefined && want.mac !== have.mac) fields.mac = { from: have.mac ?? '', to: want.mac };
  const haveState: LinkState = have.up ? 'up' : 'down';
  if (want.state !== haveState) fields.state = { from: haveState, to: want.state };
  if (Object.keys(fields).length) {
    out.push({
      action: 'modify',
      object: 'link',
      unit,
      namespace: have.namespace,
      name: have.name,
      fields,
      bounce: want.state === 'down' && haveState === 'up',
    });
  }
  diffAddresses(unit, want, have, out);
}
