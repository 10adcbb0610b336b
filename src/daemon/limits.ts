/**
 * The limits netmgrd puts on its socket, each with the reason for its value. Only root can open the socket, so
 * these are not a defence against an attacker: they keep a buggy or confused client (a script in a loop, a
 * truncated pipe, a fuzzer) from making netmgrd buffer without bound, recurse without bound, or starve the
 * bridges' forwarding of the event loop, and they turn every such request into an answer instead of a crash.
 */

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * An apply request carries the whole unit set. A unit is well under 1 KiB of TOML; 10,000 units with JSON
 * escaping come to about 10 MiB, so 16 MiB is room for the largest site we can imagine and still a bound.
 */
export const MAX_APPLY_LINE_BYTES = 16 * MiB;

/**
 * Every other request is an op, a few names and at most one flow with its actions (see MAX_FLOW_TEXT_LENGTH):
 * 64 KiB is several times the largest of them.
 */
export const MAX_LINE_BYTES = 64 * KiB;

/** What a connection may buffer before its op is known: the largest per-op limit. */
export const MAX_ANY_LINE_BYTES = Math.max(MAX_APPLY_LINE_BYTES, MAX_LINE_BYTES);

/**
 * Nesting of arrays and objects in a request line, checked by a bracket scan before JSON.parse. The deepest valid
 * request is apply's `{"sources":[{...}]}`, depth 3; 16 leaves room for new params while a 100,000-deep
 * `[[[[...` never reaches a recursive parser or serialiser.
 */
export const MAX_JSON_DEPTH = 16;

/** A unit file's text: 1 MiB is a thousand times a large unit; the unit parser's work grows with it. */
export const MAX_UNIT_TEXT_LENGTH = 1 * MiB;

/** Unit files in one apply: 10,000 is far more bridges and ports than one host runs (see MAX_APPLY_LINE_BYTES). */
export const MAX_UNIT_FILES = 10_000;

/** A file or directory path: PATH_MAX on Linux is 4096 bytes including the terminating NUL. */
export const MAX_PATH_LENGTH = 4095;

/**
 * A bridge name is an interface name (IFNAMSIZ 16, so 15 characters); 255 lets a longer typo reach the handler,
 * which answers with the names netmgrd runs, while a megabyte-long "name" is refused here.
 */
export const MAX_NAME_LENGTH = 255;

/**
 * One flow's match or actions text (ODP syntax). A match with every field masked is under 1 KiB; actions flooding
 * to a thousand ports are about 13 KiB. 24 KiB each keeps flow + actions within MAX_LINE_BYTES.
 */
export const MAX_FLOW_TEXT_LENGTH = 24 * KiB;

/** `apply --confirm SECONDS`: the CLI allows 1 to 86,400 (a day); netmgrd refuses anything else the same way. */
export const MAX_CONFIRM_SECONDS = 86_400;

/**
 * Connections open at once (reading, or waiting for their handler). The CLI opens one per command; 64 is far
 * more than people and scripts run at once, and bounds the buffers and timers a flood of connections costs.
 * Further connections get a `busy` answer and are closed.
 */
export const MAX_CONNECTIONS = 64;

/**
 * A connection must deliver its whole request line within this many milliseconds of connecting. The CLI writes
 * its line as soon as it is connected (a 16 MiB apply takes milliseconds on a unix socket); 5 s covers a loaded
 * machine, and bounds how long an idle or trickling client holds one of the MAX_CONNECTIONS slots.
 */
export const REQUEST_READ_TIMEOUT_MS = 5_000;

/**
 * After netmgrd has written its answer, a client that neither reads it nor closes is cut off after this long, so
 * an answered connection cannot hold a slot either.
 */
export const ANSWER_LINGER_MS = 5_000;
