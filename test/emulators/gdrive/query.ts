/**
 * The Drive v3 `q` search language (the subset lomo-peer and its tests use) and the `fields`
 * partial-response selector. Written from the Drive v3 reference ("Search for files and folders",
 * "Return specific fields"): string literals in single quotes with backslash escapes, `and`/`or`/
 * `not`, parentheses, `=`/`!=`/`contains`, `'<id>' in parents`, booleans for `trashed`.
 */
export interface QueryFile {
  id: string;
  name: string;
  mimeType: string;
  parents: string[];
  trashed: boolean;
  modifiedTime: string;
}

type Tok = { t: 'str'; v: string } | { t: 'word'; v: string } | { t: 'op'; v: string } | { t: 'lp' } | { t: 'rp' };

function tokenize(q: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < q.length) {
    const c = q[i]!;
    if (/\s/.test(c)) { i++; continue; }
    if (c === '(') { out.push({ t: 'lp' }); i++; continue; }
    if (c === ')') { out.push({ t: 'rp' }); i++; continue; }
    if (c === "'") {
      let v = '';
      i++;
      while (i < q.length && q[i] !== "'") {
        if (q[i] === '\\' && i + 1 < q.length) i++;
        v += q[i];
        i++;
      }
      if (i >= q.length) throw new QueryError('unterminated string literal');
      i++;
      out.push({ t: 'str', v });
      continue;
    }
    const two = q.slice(i, i + 2);
    if (two === '!=' || two === '<=' || two === '>=') { out.push({ t: 'op', v: two }); i += 2; continue; }
    if (c === '=' || c === '<' || c === '>') { out.push({ t: 'op', v: c }); i++; continue; }
    const m = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(q.slice(i));
    if (!m) throw new QueryError(`unexpected character ${JSON.stringify(c)}`);
    out.push({ t: 'word', v: m[0] });
    i += m[0].length;
  }
  return out;
}

export class QueryError extends Error {}

type Pred = (f: QueryFile) => boolean;

/** Parses q into a predicate; throws QueryError (the server answers 400 invalid) on bad input. */
export function parseQuery(q: string, resolveId: (id: string) => string = (id) => id): Pred {
  const toks = tokenize(q);
  let p = 0;
  const peekWord = (w: string) => toks[p]?.t === 'word' && (toks[p] as { v: string }).v.toLowerCase() === w;
  const orExpr = (): Pred => {
    let left = andExpr();
    while (peekWord('or')) { p++; const l = left, r = andExpr(); left = (f) => l(f) || r(f); }
    return left;
  };
  const andExpr = (): Pred => {
    let left = unary();
    while (peekWord('and')) { p++; const l = left, r = unary(); left = (f) => l(f) && r(f); }
    return left;
  };
  const unary = (): Pred => {
    if (peekWord('not')) { p++; const inner = unary(); return (f) => !inner(f); }
    if (toks[p]?.t === 'lp') {
      p++;
      const e = orExpr();
      if (toks[p]?.t !== 'rp') throw new QueryError('missing )');
      p++;
      return e;
    }
    return term();
  };
  const term = (): Pred => {
    const a = toks[p++];
    const b = toks[p++];
    const c = toks[p++];
    if (!a || !b || !c) throw new QueryError('incomplete term');
    // '<id>' in parents
    if (a.t === 'str' && b.t === 'word' && b.v === 'in' && c.t === 'word' && c.v === 'parents') {
      const id = resolveId(a.v);
      return (f) => f.parents.includes(id);
    }
    if (a.t !== 'word') throw new QueryError('expected a field name');
    const field = a.v;
    const op = b.t === 'op' ? b.v : b.t === 'word' && b.v === 'contains' ? 'contains' : null;
    if (!op) throw new QueryError(`expected an operator after ${field}`);
    if (field === 'trashed') {
      if (c.t !== 'word' || !['true', 'false'].includes(c.v)) throw new QueryError('trashed takes true or false');
      const want = c.v === 'true';
      if (op === '=') return (f) => f.trashed === want;
      if (op === '!=') return (f) => f.trashed !== want;
      throw new QueryError('trashed supports = and !=');
    }
    if (c.t !== 'str') throw new QueryError(`${field} needs a quoted string`);
    const get = (f: QueryFile): string => {
      if (field === 'name') return f.name;
      if (field === 'mimeType') return f.mimeType;
      if (field === 'modifiedTime') return f.modifiedTime;
      throw new QueryError(`unsupported field ${field}`);
    };
    if (!['name', 'mimeType', 'modifiedTime'].includes(field)) throw new QueryError(`unsupported field ${field}`);
    const v = c.v;
    switch (op) {
      case '=': return (f) => get(f) === v;
      case '!=': return (f) => get(f) !== v;
      case 'contains': return (f) => get(f).includes(v);
      case '<': return (f) => get(f) < v;
      case '>': return (f) => get(f) > v;
      case '<=': return (f) => get(f) <= v;
      case '>=': return (f) => get(f) >= v;
    }
    throw new QueryError(`bad operator ${op}`);
  };
  const pred = orExpr();
  if (p !== toks.length) throw new QueryError('trailing tokens');
  return pred;
}

/** A parsed `fields` selector: null = everything below this level. */
export type FieldTree = Map<string, FieldTree | null>;

/** Parses "nextPageToken,files(id,name,parents),files/size" into a tree. */
export function parseFields(s: string): FieldTree {
  let i = 0;
  const list = (): FieldTree => {
    const tree: FieldTree = new Map();
    for (;;) {
      while (s[i] === ' ') i++;
      const m = /^[A-Za-z0-9_*]+(\/[A-Za-z0-9_*]+)*/.exec(s.slice(i));
      if (!m) throw new QueryError(`bad fields at ${i}`);
      i += m[0].length;
      const pathParts = m[0].split('/');
      let sub: FieldTree | null = null;
      if (s[i] === '(') {
        i++;
        sub = list();
        if (s[i] !== ')') throw new QueryError('missing ) in fields');
        i++;
      }
      let node = tree;
      for (let k = 0; k < pathParts.length - 1; k++) {
        let next = node.get(pathParts[k]!);
        if (next === null) break;
        if (!next) { next = new Map(); node.set(pathParts[k]!, next); }
        node = next;
      }
      const last = pathParts[pathParts.length - 1]!;
      const prev = node.get(last);
      if (prev && sub) for (const [k, v] of sub) prev.set(k, v);
      else node.set(last, prev === undefined ? sub : null);
      while (s[i] === ' ') i++;
      if (s[i] === ',') { i++; continue; }
      return tree;
    }
  };
  const t = list();
  if (i !== s.length) throw new QueryError('trailing characters in fields');
  return t;
}

/** Keeps only the selected fields of a JSON value (arrays are projected element by element). */
export function project(value: unknown, tree: FieldTree | null): unknown {
  if (tree === null || tree.has('*')) return value;
  if (Array.isArray(value)) return value.map((v) => project(v, tree));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, sub] of tree) {
    const v = (value as Record<string, unknown>)[k];
    if (v !== undefined) out[k] = project(v, sub);
  }
  return out;
}
