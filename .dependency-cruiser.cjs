/**
 * The layering as a test (`npm run deps`, run by `npm test`): dependency-cruiser reads every import of src/, test/
 * and bench/ (type-only imports included: they couple the code as much as value imports) and fails on the rules
 * below.
 *
 * Folders of src/, lowest first; a folder may import only from folders before it (and from itself):
 *   util      the base: errors, state files; imports nothing of src/
 *   native    the C addon's binding
 *   netlink   sockets, the one attribute codec, rtnetlink/tc/genl messages
 *   flow      the ODP flow model: parse, format, validate, classifier, the flow's netlink codec
 *   model     the types every layer shares: desired state, ownership records, bridge/port configuration
 *   units     reading and validating TOML units into the model
 *   live      reading the live system (namespaces, links, datapaths)
 *   plan      the diff between desired and live, and the steps
 *   apply     the journaled executor of steps
 *   datapath  the Datapath interface and its two implementations (userspace, kernel openvswitch)
 *   policy    what a bridge does with an upcall (learning, flows)
 *   bridge    one datapath composed with one policy per bridge
 *   daemon    netmgrd
 *   cli       the netmgr commands
 *
 * Where this order differs from issue 13's (flow, netlink, native, model, ...), and why:
 *   - native is below netlink: netlink/socket.ts opens its sockets through the addon (socket(2), bind, sendmsg
 *     with the options Node has no API for), so netlink needs native, not the other way round.
 *   - netlink is below flow: the flow model's netlink encoding (keys, masks, actions) is written on the one
 *     netlink attribute codec of src/netlink/, so flow needs netlink; netlink knows nothing of flows.
 *   - util is added under everything: the shared error vocabulary and state-file helper, used by every layer.
 * Any other exception is written here as its own rule with its reason; there is none today.
 */
'use strict';

const LAYERS = [
  'util',
  'native',
  'netlink',
  'flow',
  'model',
  'units',
  'live',
  'plan',
  'apply',
  'datapath',
  'policy',
  'bridge',
  'daemon',
  'cli',
];

/** One rule per layer: nothing under src/<layer>/ imports a folder above it. */
const layerRules = LAYERS.slice(0, -1).map((layer, i) => ({
  name: `layer-${layer}`,
  comment: `src/${layer}/ is below ${LAYERS.slice(i + 1).join(', ')}: it must not import them (see the order at the top).`,
  severity: 'error',
  from: { path: `^src/${layer}/` },
  to: { path: `^src/(${LAYERS.slice(i + 1).join('|')})/` },
}));

/**
 * Issue 13's acceptance criteria, by name. The first is stricter than the order: plan and apply sit below datapath
 * (apply hands datapath steps to an executor interface it defines), yet the datapath must not know them either; turning plan
 * steps into datapath calls is the bridge layer's job. The other two are implied by the order; they are named so
 * that a report says which acceptance criterion an edge breaks.
 */
const acceptanceRules = [
  {
    name: 'datapath-knows-nothing-above',
    comment: 'The datapath layer is the interface and its two implementations: no policy, plan, apply or daemon.',
    severity: 'error',
    from: { path: '^src/datapath/' },
    to: { path: '^src/(policy|apply|plan|daemon)/' },
  },
  {
    name: 'plan-does-not-import-apply',
    comment: 'Planning is pure: the records it reads are model types, not the apply layer (which does I/O).',
    severity: 'error',
    from: { path: '^src/plan/' },
    to: { path: '^src/apply/' },
  },
  {
    name: 'live-does-not-import-daemon',
    comment: 'Reading the live system must not depend on netmgrd.',
    severity: 'error',
    from: { path: '^src/live/' },
    to: { path: '^src/daemon/' },
  },
];

const hygieneRules = [
  {
    name: 'no-circular',
    comment: 'A cycle makes two modules one: load order starts to matter and neither can be understood alone.',
    severity: 'error',
    from: {},
    to: { circular: true },
  },
  {
    name: 'src-does-not-import-tests',
    comment: 'Shipped code must not depend on test or bench code (neither is in the package).',
    severity: 'error',
    from: { path: '^src/' },
    to: { path: '^(test|bench)/' },
  },
  {
    name: 'src-does-not-import-dev-dependencies',
    comment: 'The Debian package ships the production modules only: a devDependency imported by src/ is missing there.',
    severity: 'error',
    from: { path: '^src/' },
    to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
  },
  {
    name: 'no-unlisted-packages',
    comment: 'Every package imported must be in package.json (not reached through another package).',
    severity: 'error',
    from: {},
    to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'] },
  },
  {
    name: 'no-unresolvable',
    comment: 'An import that resolves to no file.',
    severity: 'error',
    from: {},
    // Except the VM guest's scripts' absolute /netmgr/... paths: the tree is mounted there inside the VM only.
    to: { couldNotResolve: true, pathNot: '^/netmgr/' },
  },
  {
    name: 'no-orphans',
    comment: 'A module of src/ that nothing imports and that imports nothing is dead code (or a forgotten entry).',
    severity: 'error',
    from: { orphan: true, path: '^src/', pathNot: '\\.d\\.ts$' },
    to: {},
  },
];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [...layerRules, ...acceptanceRules, ...hygieneRules],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|build|node_modules|test/vm/\\.out|bench/out)/' },
    // Type-only imports are dependencies too (`import type`, `import { type X }`).
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.cjs', '.mjs', '.json', '.node'],
    },
    moduleSystems: ['cjs', 'es6'],
  },
};
