/**
 * The topology drawing of the status page: netmgr's DOT rendered by Graphviz's `dot -Tsvg` (Debian's graphviz:
 * one small, well-known binary, the same one the DOT tests render with; no layout code in the browser), made fit
 * to sit inside the page. The last rendering is kept: the DOT only changes when the topology does.
 */
import { spawn } from 'child_process';
import { messageOf } from '../../util/errors';

const DOT_TIMEOUT_MS = 10_000;
/** A drawing bigger than this is not inlined (a runaway dot): the page says so instead. */
const MAX_SVG_BYTES = 4 << 20;

/**
 * SVG from `dot -Tsvg` as an element of an HTML page (pure): the XML prolog, DOCTYPE and comments go, and the
 * namespace declarations too (HTML's parser puts <svg> in the SVG namespace itself), so that nothing served
 * names a URL.
 */
export function inlineSvg(svg: string): string {
  const start = svg.indexOf('<svg');
  if (start < 0) return '';
  return svg
    .slice(start)
    .replace(/<!--[\s\S]*?-->\s*/g, '')
    .replace(/\s+xmlns(:xlink)?="[^"]*"/g, '')
    .replace(/\s+xlink:title="[^"]*"/g, '')
    .trim();
}

/** Runs `dot -Tsvg` on the text; rejects with what went wrong (dot missing, a DOT error, a timeout). */
function runDot(dot: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn('dot', ['-Tsvg'], { stdio: ['pipe', 'pipe', 'pipe'], timeout: DOT_TIMEOUT_MS });
    const out: Buffer[] = [];
    let size = 0;
    let err = '';
    p.stdout.on('data', (d: Buffer) => {
      size += d.length;
      if (size <= MAX_SVG_BYTES) out.push(d);
    });
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', (e) => reject(new Error(`cannot run Graphviz's dot (apt-get install graphviz): ${messageOf(e)}`)));
    p.on('close', (code, signal) => {
      if (code === 0 && size <= MAX_SVG_BYTES) resolve(Buffer.concat(out).toString('utf8'));
      else if (size > MAX_SVG_BYTES) reject(new Error(`the drawing is larger than ${MAX_SVG_BYTES} bytes`));
      else reject(new Error(`dot -Tsvg failed (${signal ?? code}): ${err.trim()}`));
    });
    p.stdin.on('error', () => undefined);
    p.stdin.end(dot);
  });
}

/** The drawing of a DOT text, or the reason there is none; the last DOT text and its drawing are kept. */
export class TopologyRenderer {
  private last: { dot: string; result: Promise<{ svg: string } | { error: string }> } | undefined;

  render(dot: string): Promise<{ svg: string } | { error: string }> {
    if (this.last?.dot !== dot) {
      const result = runDot(dot).then(
        (svg) => ({ svg: inlineSvg(svg) }),
        (e: unknown) => ({ error: messageOf(e) }),
      );
      this.last = { dot, result };
    }
    return this.last.result;
  }
}
