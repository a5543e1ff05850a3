/**
 * The three names every file gets in our images, and the rules that keep each unique within its
 * folder (docs/iso-format.md states them for users):
 *
 * - Rock Ridge NM: the original name bytes, unchanged (any length up to the 255 bytes Linux allows).
 * - Joliet: UCS-2, at most JOLIET_MAX characters. Characters UCS-2 cannot hold (outside the BMP,
 *   e.g. emoji) and the ones Joliet forbids (controls, * / : ; ? \) become '_'; bytes that are not
 *   UTF-8 become '_'. Too-long names are cut, keeping an extension of up to 16 characters. A name
 *   that changed and then collides gets "~N" (smallest free N) before its extension. Names that
 *   need no change keep priority, so a lossless name never moves. Comparison is case-sensitive,
 *   so names that differ only in case stay as they are.
 * - ISO 9660 (level 3 records, level 2 identifiers): upper-case d-characters, at most 30
 *   characters for NAME.EXT (8 for the extension) and 31 for folders, ";1" version on files;
 *   collisions get "_N". Only readers without Rock Ridge and Joliet see these.
 */
import type { ByteString } from '../util/bytes-path.js';

export const JOLIET_MAX = 103;
const JOLIET_EXT_MAX = 16;
const ISO_FILE_MAX = 30;
const ISO_EXT_MAX = 8;
const ISO_DIR_MAX = 31;

/** Joliet form of one name before uniqueness: lossless when equal to the decoded original. */
export function jolietBase(name: ByteString): { text: string; lossless: boolean } {
  const buf = Buffer.from(name, 'latin1');
  const decoded = buf.toString('utf8');
  const valid = Buffer.from(decoded, 'utf8').equals(buf);
  let out = '';
  for (const ch of decoded) {
    const cp = ch.codePointAt(0)!;
    if (cp > 0xffff || cp < 0x20 || '*/:;?\\'.includes(ch) || (cp === 0xfffd && !valid)) out += '_';
    else out += ch;
  }
  const cut = truncateKeepingExt(out, JOLIET_MAX, JOLIET_EXT_MAX);
  return { text: cut, lossless: valid && cut === decoded };
}

function splitExt(name: string, extMax: number): [string, string] {
  const dot = name.lastIndexOf('.');
  if (dot <= 0 || name.length - dot - 1 > extMax) return [name, ''];
  return [name.slice(0, dot), name.slice(dot)];
}

function truncateKeepingExt(name: string, max: number, extMax: number): string {
  if (name.length <= max) return name;
  const [base, ext] = splitExt(name, extMax);
  return base.slice(0, Math.max(1, max - ext.length)) + ext;
}

/** base~N.ext within max characters. */
function withSuffix(name: string, n: number, sep: string, max: number, extMax: number): string {
  const [base, ext] = splitExt(name, extMax);
  const suffix = `${sep}${n}`;
  return base.slice(0, Math.max(1, max - ext.length - suffix.length)) + suffix + ext;
}

/**
 * Makes names unique within one folder. `items` are (proposed name, lossless) pairs in a stable
 * order (we pass them sorted by original bytes); lossless names are placed first so they keep
 * themselves, then every other one takes its proposal or the first free suffixed form.
 */
function makeUnique(
  items: { text: string; lossless: boolean }[],
  sep: string,
  max: number,
  extMax: number,
  key: (s: string) => string,
): string[] {
  const used = new Set<string>();
  const out = new Array<string>(items.length);
  items.forEach((it, i) => {
    if (it.lossless && !used.has(key(it.text))) {
      used.add(key(it.text));
      out[i] = it.text;
    }
  });
  items.forEach((it, i) => {
    if (out[i] !== undefined) return;
    let cand = it.text;
    for (let n = 1; used.has(key(cand)); n++) cand = withSuffix(it.text, n, sep, max, extMax);
    used.add(key(cand));
    out[i] = cand;
  });
  return out;
}

/** Joliet names for the children of one folder, in the order given. */
export function jolietNames(names: ByteString[]): string[] {
  return makeUnique(names.map(jolietBase), '~', JOLIET_MAX, JOLIET_EXT_MAX, (s) => s);
}

/** ISO 9660 identifiers (without ";1") for the children of one folder, in the order given. */
export function isoNames(children: { name: ByteString; isDir: boolean }[]): string[] {
  const items = children.map(({ name, isDir }) => {
    const up = name.toUpperCase().replace(/[^A-Z0-9_.]/g, '_');
    if (isDir) return { text: up.replace(/\./g, '_').slice(0, ISO_DIR_MAX) || '_', lossless: false, isDir };
    let [base, ext] = splitExt(up, ISO_EXT_MAX);
    base = base.replace(/\./g, '_');
    const text = truncateKeepingExt(base + (ext || '.'), ISO_FILE_MAX + 1, ISO_EXT_MAX + 1);
    return { text, lossless: false, isDir };
  });
  // Files always carry a dot (NAME.EXT or NAME.), so a folder and a file never share a key.
  return makeUnique(items, '_', ISO_FILE_MAX + 1, ISO_EXT_MAX + 1, (s) => s);
}

/**
 * ECMA-119 9.3 order: by name part, then extension, each compared as if padded with spaces.
 * Applied to ISO identifiers (latin1) and Joliet identifiers (UTF-16 code units) alike.
 */
export function compareIdentifiers(a: string, b: string): number {
  const [an, ae] = splitAtDot(a);
  const [bn, be] = splitAtDot(b);
  return comparePadded(an, bn) || comparePadded(ae, be);
}

function splitAtDot(s: string): [string, string] {
  const dot = s.lastIndexOf('.');
  return dot < 0 ? [s, ''] : [s.slice(0, dot), s.slice(dot + 1)];
}

function comparePadded(a: string, b: string): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = i < a.length ? a.charCodeAt(i) : 0x20;
    const cb = i < b.length ? b.charCodeAt(i) : 0x20;
    if (ca !== cb) return ca - cb;
  }
  return 0;
}
