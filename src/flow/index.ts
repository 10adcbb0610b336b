/** The flow model shared by both datapaths, both policies and the CLI (like OVS's odp-util + classifier). */
export * from './constants';
export * from './types';
export { KEY_ATTRS, KEY_ATTR_BY_ODP, KEY_ATTR_BY_NUMBER, type KeyAttrDef, type KeyFieldDef } from './keyattrs';
export { parseFlow, parseActions, type ParseOptions } from './parse';
export {
  formatFlowKey,
  formatFlowText,
  formatActions,
  formatAction,
  formatDumpLine,
  formatStats,
  type FormatOptions,
} from './format';
export { validateFlow, checkFlow } from './validate';
export {
  encodeKey,
  encodeMask,
  decodeKey,
  decodeMask,
  exactMask,
  encodeActions,
  decodeActions,
  encodeFlowAttrs,
  FlowDecodeError,
} from './codec';
export { extractPacked, extractFlowKey, VNET_HDR_LEN, type ExtractOptions } from './extract';
export {
  W as PACKED_WORD,
  KEY_WORDS,
  newPacketKey,
  finishPacketKey,
  hashWords,
  packMatch,
  unpackPacketKey,
  type PacketKey,
} from './packed';
export { flowMatchesPacket, applyMask } from './match';
export {
  MegaflowTable,
  ExactMatchCache,
  FlowTableError,
  overlaps,
  type MegaflowEntry,
  type MegaflowTableOptions,
  type InsertOptions,
} from './classifier';
export { generateUfid, megaflowUfid, formatUfid, parseUfid, ufidMapKey } from './ufid';
export { vniOfTunId, tunIdOfVni, tunnelEndpointText } from './tunnel';
