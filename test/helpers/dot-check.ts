/**
 * A checker for the DOT subset `formatDot` writes, for machines without Graphviz (it is not installed on the
 * build machine): quoted strings closed (`\"` and `\\` escapes), braces balanced, every statement ended by ';',
 * IDs quoted or plain words. Where Graphviz is installed, `dot -Tsvg` must accept the text as well.
 */
import { spawnSync } from 'child_process';

type Tok = { t: 'id' | 'str' | 'p'; v: string };

function tokenize(text: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) i++;
    else if (c === '"') {
      // A quoted string ends at the first '"' not escaped by a backslash ("\\" is an escaped backslash).
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (j >= text.length) throw new Error(`unterminated string at ${i}`);
      if (text.slice(i + 1, j).includes('\n')) throw new Error(`raw newline in string at ${i}`);
      out.push({ t: 'str', v: text.slice(i + 1, j) });
      i = j + 1;
    } else if (text.startsWith('--', i)) {
      out.push({ t: 'p', v: '--' });
      i += 2;
    } else if ('{}[]=;,'.includes(c)) {
      out.push({ t: 'p', v: c });
      i++;
    } else {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i));
      if (!m) throw new Error(`unexpected ${JSON.stringify(c)} at ${i}`);
      out.push({ t: 'id', v: m[0] });
      i += m[0].length;
    }
  }
  return out;
}

/**
 * Parses `graph ID { stmt; ... }` where a statement is an attribute statement, a node, an edge `A -- B`, or a
 * subgraph with its own statements; every statement must end with ';'. Returns the node and edge counts.
 */
export function parseDot(text: string): { nodes: number; edges: number; clusters: string[] } {
  const toks = tokenize(text);
  let k = 0;
  const res = { nodes: 0, edges: 0, clusters: [] as string[] };
  const peek = () => toks[k];
  const take = (v?: string): Tok => {
    const t = toks[k++];
    if (!t || (v !== undefined && t.v !== v))
      throw new Error(`expected ${v ?? 'a token'} at token ${k - 1}, got ${t?.v}`);
    return t;
  };
  const id = (): string => {
    const t = take();
    if (t.t === 'p') throw new Error(`expected an ID at token ${k - 1}, got ${t.v}`);
    return t.v;
  };
  const attrList = () => {
    take('[');
    while (peek()?.v !== ']') {
      id();
      take('=');
      id();
      if (peek()?.v === ',') take(',');
    }
    take(']');
  };
  const stmts = () => {
    take('{');
    while (peek()?.v !== '}') {
      const t = peek();
      if (t.t === 'id' && t.v === 'subgraph') {
        take();
        res.clusters.push(id());
        stmts();
      } else if (t.t === 'id' && ['graph', 'node', 'edge'].includes(t.v)) {
        take();
        attrList();
        take(';');
      } else {
        id();
        if (peek()?.v === '--') {
          take('--');
          id();
          res.edges++;
        } else res.nodes++;
        if (peek()?.v === '[') attrList();
        take(';');
      }
    }
    take('}');
  };
  take('graph');
  id();
  stmts();
  if (k !== toks.length) throw new Error('text after the closing brace');
  return res;
}

const hasGraphviz = spawnSync('dot', ['-V']).status === 0;

/** Throws unless the text parses (and, with Graphviz installed, renders; font warnings are not its business). */
export function assertValidDot(text: string): ReturnType<typeof parseDot> {
  const r = parseDot(text);
  if (hasGraphviz) {
    const g = spawnSync('dot', ['-Tsvg'], { input: text, encoding: 'utf8' });
    if (g.status !== 0 || /error/i.test(g.stderr)) throw new Error(`dot -Tsvg: exit ${g.status}: ${g.stderr}`);
  }
  return r;
}
