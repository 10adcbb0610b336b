/**
 * `number` in [port]: a datapath port number the unit pins, as Open vSwitch's ofport_request (the rule between
 * units is in port-numbers.ts, the numbering in src/model/ports.ts).
 */
import { PORT_NO_MAX } from '../model/ports';
import { row } from './schema-row';

export const PORT_NUMBER_ROWS = [
  row('port.number', {
    fills: 'number',
    type: 'integer',
    range: [1, PORT_NO_MAX],
    defaultDoc:
      'none: the port keeps the number it has in the running datapath; a new port takes the lowest free number',
    appliesTo: 'port',
    doc:
      "The port's datapath port number, pinned (as Open vSwitch's ofport_request): flows may name the port by it. " +
      'Without it a number never changes while the port runs, whatever other ports come and go, but it depends on ' +
      'their history. Unique within the bridge; a pinned number that differs from the running one re-attaches the ' +
      'port (the plan says why), and a running port holding a number another port pins moves to a free one.',
    example: '3',
  }),
];
