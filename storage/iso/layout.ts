/**
 * Volume layout: turns the ordered entry list into a tree, names every node (Rock Ridge, Joliet,
 * ISO 9660), and assigns every structure its sectors before a single byte is written. Knowing
 * the whole layout up front is what lets the writer stream the image front to back with bounded
 * memory, and report each file's byte extents without reading any data.
 *
 * Sector map (docs/iso-format.md): 0-15 system area, 16 PVD, 17 Joliet SVD, 18 terminator,
 * path tables (L, M primary; L, M Joliet), primary directories (path table order), Rock Ridge
 * continuation areas, Joliet directories, then file data in the caller's entry order.
 */
import type { ByteString } from '../util/bytes-path.js';
import {
  SECTOR, MAX_EXTENT, FLAG_DIRECTORY, FLAG_MULTI_EXTENT, dirRecordLength, pathRecordLength, sectorsFor, ucs2be,
  type DirRecordFields,
} from './ecma119.js';
import { compareIdentifiers, isoNames, jolietNames } from './names.js';
import { ce, er, nm, px, sp, tf, CE_LEN, PX_LEN, SP_LEN, TF_LEN } from './rockridge.js';

export interface VolumeEntry {
  /** Path inside the image: '/'-separated byte string, no leading slash. */
  path: ByteString;
  /** Where to read the data from (files only). */
  source?: string | Buffer;
  size: number;
  mtimeMs: number;
  /** Permission bits; the file type bits are set by the writer. */
  mode: number;
  kind: 'file' | 'dir';
}

export interface Extent {
  /** Byte offset in the image. */
  offset: number;
  length: number;
}

export interface Node {
  name: ByteString;
  isDir: boolean;
  entry: number; // index into the entry list, -1 for implicit folders
  size: number;
  mtimeMs: number;
  mode: number;
  parent: Node | null;
  children: Node[];
  isoId: Buffer;
  jolietId: Buffer;
  primaryOrder: Node[];
  jolietOrder: Node[];
  subdirs: number;
  pNo: number; pLba: number; pSize: number;
  jNo: number; jLba: number; jSize: number;
  dataLba: number;
  /** Rock Ridge continuation area holding this node's NM (long names) or the root's ER. */
  ceBlob: Buffer | null;
  ceLba: number; ceOff: number;
}

export interface Layout {
  root: Node;
  primaryDirs: Node[];
  jolietDirs: Node[];
  files: Node[]; // data order
  pathTableSize: number; jolietPathTableSize: number;
  ptL: number; ptM: number; jptL: number; jptM: number;
  ceFirstLba: number; ceSectors: number;
  firstDataLba: number;
  totalSectors: number;
  epochMs: number;
}

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;

/** Files share one empty list instead of three each: volumes can hold 100,000s of files. */
const NONE: Node[] = [];
const NO_ID = Buffer.alloc(0);

function newNode(name: ByteString, isDir: boolean, parent: Node | null, epochMs: number): Node {
  return {
    name, isDir, entry: -1, size: 0, mtimeMs: epochMs, mode: 0o755, parent, children: isDir ? [] : NONE,
    isoId: NO_ID, jolietId: NO_ID, primaryOrder: NONE, jolietOrder: NONE, subdirs: 0,
    pNo: 0, pLba: 0, pSize: 0, jNo: 0, jLba: 0, jSize: 0, dataLba: 0, ceBlob: null, ceLba: 0, ceOff: 0,
  };
}

export function buildTree(entries: readonly VolumeEntry[], epochMs: number): { root: Node; files: Node[] } {
  const root = newNode('', true, null, epochMs);
  const dirIndex = new Map<string, Node>([['', root]]);
  const files: Node[] = [];
  entries.forEach((e, i) => {
    const parts = e.path.split('/').filter((p) => p.length > 0);
    if (parts.length === 0) throw new Error(`empty path in volume entry ${i}`);
    if (parts.some((p) => p === '.' || p === '..')) throw new Error(`"." or ".." in volume path ${e.path}`);
    if (e.kind === 'file' && (!Number.isSafeInteger(e.size) || e.size < 0)) throw new Error(`bad size for ${e.path}`);
    let dir = root;
    let key = '';
    for (let k = 0; k < parts.length - 1; k++) {
      key += '/' + parts[k];
      let next = dirIndex.get(key);
      if (!next) {
        next = newNode(parts[k]!, true, dir, epochMs);
        dir.children.push(next);
        dirIndex.set(key, next);
      } else if (!next.isDir) throw new Error(`${e.path}: ${key.slice(1)} is a file in this volume`);
      dir = next;
    }
    key += '/' + parts[parts.length - 1];
    const existing = dirIndex.get(key);
    if (existing && !(e.kind === 'dir' && existing.isDir && existing.entry < 0)) throw new Error(`duplicate volume path ${e.path}`);
    const node = existing ?? newNode(parts[parts.length - 1]!, e.kind === 'dir', dir, epochMs);
    node.entry = i;
    node.size = e.kind === 'file' ? e.size : 0;
    node.mtimeMs = e.mtimeMs;
    node.mode = e.mode & 0o7777;
    if (!existing) dir.children.push(node);
    dirIndex.set(key, node);
    if (e.kind === 'file') files.push(node);
  });
  return { root, files };
}

/** Names and sorts the children of every folder (both hierarchies). */
function nameTree(dir: Node): void {
  const byBytes = [...dir.children].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const iso = isoNames(byBytes);
  const jol = jolietNames(byBytes.map((c) => c.name));
  const isoText = new Map<Node, string>();
  const jolText = new Map<Node, string>();
  byBytes.forEach((c, i) => {
    isoText.set(c, iso[i]!);
    jolText.set(c, jol[i]!);
    c.isoId = Buffer.from(c.isDir ? iso[i]! : iso[i]! + ';1', 'latin1');
    c.jolietId = ucs2be(jol[i]!);
  });
  dir.primaryOrder = [...byBytes].sort((a, b) => compareIdentifiers(isoText.get(a)!, isoText.get(b)!));
  dir.jolietOrder = [...byBytes].sort((a, b) => compareIdentifiers(jolText.get(a)!, jolText.get(b)!));
  dir.subdirs = dir.children.filter((c) => c.isDir).length;
  for (const c of dir.children) if (c.isDir) nameTree(c);
}

/** Folders in path table order: by level, then parent number, then identifier. */
function pathTableOrder(root: Node, order: (n: Node) => Node[]): Node[] {
  const out: Node[] = [root];
  for (let i = 0; i < out.length; i++) for (const c of order(out[i]!)) if (c.isDir) out.push(c);
  return out;
}

export function fileParts(size: number): number {
  return size === 0 ? 1 : Math.ceil(size / MAX_EXTENT);
}

function rrArea(node: Node, nameInline: boolean): Buffer {
  const mode = node.isDir ? S_IFDIR | node.mode : S_IFREG | node.mode;
  const nlink = node.isDir ? 2 + node.subdirs : 1;
  const parts = [px(mode, nlink), tf(node.mtimeMs)];
  if (nameInline) parts.push(nm(Buffer.from(node.name, 'latin1')));
  else parts.push(ce(node.ceLba, node.ceOff, node.ceBlob!.length));
  return Buffer.concat(parts);
}

/** Bytes of the NM entries for a name of `len` bytes (chunks of 250, 5-byte headers). */
function nmLength(len: number): number {
  return len === 0 ? 5 : len + 5 * Math.ceil(len / 250);
}

/** Whether a node's NM fits in its primary directory record or needs a continuation area. */
function nameFitsInline(node: Node): boolean {
  return dirRecordLength(node.isoId.length, PX_LEN + TF_LEN + nmLength(node.name.length)) <= 255;
}

/**
 * Lengths of the records `dirRecords` produces, computed without building them: the layout
 * needs every directory's size before anything is written, and building (then dropping) the
 * records of every folder twice made 100,000-file volumes GC-bound. The writer checks each
 * record it writes against these lengths.
 */
export function dirRecordLengths(dir: Node, joliet: boolean): number[] {
  const rr = joliet ? 0 : PX_LEN + TF_LEN;
  const out = [dirRecordLength(1, joliet ? 0 : rr + (dir.parent === null ? SP_LEN + CE_LEN : 0)), dirRecordLength(1, rr)];
  for (const c of joliet ? dir.jolietOrder : dir.primaryOrder) {
    const len = joliet
      ? dirRecordLength(c.jolietId.length, 0)
      : dirRecordLength(c.isoId.length, rr + (c.ceBlob === null ? nmLength(c.name.length) : CE_LEN));
    const parts = c.isDir ? 1 : fileParts(c.size);
    for (let p = 0; p < parts; p++) out.push(len);
  }
  return out;
}

/**
 * Every record of one folder's directory extent, in order: ".", "..", then the children (a file
 * of 4 GiB or more has one record per extent, all but the last flagged multi-extent).
 */
export function dirRecords(dir: Node, joliet: boolean): DirRecordFields[] {
  const parent = dir.parent ?? dir;
  const lba = (n: Node) => (joliet ? n.jLba : n.pLba);
  const size = (n: Node) => (joliet ? n.jSize : n.pSize);
  const dotSu = (n: Node, isSelf: boolean): Buffer | undefined => {
    if (joliet) return undefined;
    const base = [px(S_IFDIR | n.mode, 2 + n.subdirs), tf(n.mtimeMs)];
    if (isSelf && dir.parent === null) return Buffer.concat([sp(), ...base, ce(dir.ceLba, dir.ceOff, dir.ceBlob!.length)]);
    return Buffer.concat(base);
  };
  const out: DirRecordFields[] = [
    { lba: lba(dir), dataLength: size(dir), mtimeMs: dir.mtimeMs, flags: FLAG_DIRECTORY, identifier: Buffer.from([0]), systemUse: dotSu(dir, true) },
    { lba: lba(parent), dataLength: size(parent), mtimeMs: parent.mtimeMs, flags: FLAG_DIRECTORY, identifier: Buffer.from([1]), systemUse: dotSu(parent, false) },
  ];
  for (const c of joliet ? dir.jolietOrder : dir.primaryOrder) {
    const identifier = joliet ? c.jolietId : c.isoId;
    const systemUse = joliet ? undefined : rrArea(c, c.ceBlob === null);
    if (c.isDir) {
      out.push({ lba: lba(c), dataLength: size(c), mtimeMs: c.mtimeMs, flags: FLAG_DIRECTORY, identifier, systemUse });
      continue;
    }
    const parts = fileParts(c.size);
    for (let p = 0; p < parts; p++) {
      const len = p < parts - 1 ? MAX_EXTENT : c.size - p * MAX_EXTENT;
      const flags = p < parts - 1 ? FLAG_MULTI_EXTENT : 0;
      out.push({ lba: c.dataLba + p * (MAX_EXTENT / SECTOR), dataLength: len, mtimeMs: c.mtimeMs, flags, identifier, systemUse });
    }
  }
  return out;
}

/** Offsets of records of these lengths in a directory extent: records never straddle a sector (9.1). */
export function packRecords(lengths: number[]): { offsets: number[]; size: number } {
  let off = 0;
  const offsets: number[] = [];
  for (const len of lengths) {
    if ((off % SECTOR) + len > SECTOR) off += SECTOR - (off % SECTOR);
    offsets.push(off);
    off += len;
  }
  return { offsets, size: sectorsFor(off) * SECTOR };
}

export function computeLayout(entries: readonly VolumeEntry[], epochMs: number): Layout {
  const { root, files } = buildTree(entries, epochMs);
  nameTree(root);
  const primaryDirs = pathTableOrder(root, (n) => n.primaryOrder);
  const jolietDirs = pathTableOrder(root, (n) => n.jolietOrder);
  if (primaryDirs.length > 0xffff) throw new Error('too many folders for one volume (65535 max)');
  primaryDirs.forEach((d, i) => (d.pNo = i + 1));
  jolietDirs.forEach((d, i) => (d.jNo = i + 1));

  // Continuation areas: the root's ER, and NM for names too long for their record.
  root.ceBlob = er();
  const ceNodes: Node[] = [root];
  for (const d of primaryDirs) {
    for (const c of d.primaryOrder) {
      if (!nameFitsInline(c)) {
        c.ceBlob = nm(Buffer.from(c.name, 'latin1'));
        ceNodes.push(c);
      }
    }
  }

  const ptSize = (dirs: Node[], id: (n: Node) => Buffer) => dirs.reduce((s, d) => s + pathRecordLength(d.parent ? id(d).length : 1), 0);
  const pathTableSize = ptSize(primaryDirs, (n) => n.isoId);
  const jolietPathTableSize = ptSize(jolietDirs, (n) => n.jolietId);
  let lba = 19;
  const ptL = lba; lba += sectorsFor(pathTableSize);
  const ptM = lba; lba += sectorsFor(pathTableSize);
  const jptL = lba; lba += sectorsFor(jolietPathTableSize);
  const jptM = lba; lba += sectorsFor(jolietPathTableSize);

  for (const d of primaryDirs) {
    d.pSize = packRecords(dirRecordLengths(d, false)).size;
    d.pLba = lba;
    lba += d.pSize / SECTOR;
  }
  const ceFirstLba = lba;
  let ceOff = 0;
  for (const n of ceNodes) {
    const len = n.ceBlob!.length;
    if (ceOff + len > SECTOR) {
      lba++;
      ceOff = 0;
    }
    n.ceLba = lba;
    n.ceOff = ceOff;
    ceOff += len;
  }
  lba++;
  const ceSectors = lba - ceFirstLba;
  for (const d of jolietDirs) {
    d.jSize = packRecords(dirRecordLengths(d, true)).size;
    d.jLba = lba;
    lba += d.jSize / SECTOR;
  }
  const firstDataLba = lba;
  for (const f of files) {
    f.dataLba = lba;
    lba += sectorsFor(f.size);
  }
  if (lba > 0xffffffff) throw new Error('volume larger than ISO 9660 allows (8 TiB)');
  return {
    root, primaryDirs, jolietDirs, files, pathTableSize, jolietPathTableSize, ptL, ptM, jptL, jptM,
    ceFirstLba, ceSectors, firstDataLba, totalSectors: lba, epochMs,
  };
}

/** Each entry's data extents in the image ([] for folders), index-aligned with the entries. */
export function entryExtents(layout: Layout, count: number): Extent[][] {
  const out: Extent[][] = Array.from({ length: count }, () => []);
  for (const f of layout.files) {
    const parts = fileParts(f.size);
    for (let p = 0; p < parts; p++) {
      const length = p < parts - 1 ? MAX_EXTENT : f.size - p * MAX_EXTENT;
      out[f.entry]!.push({ offset: (f.dataLba + p * (MAX_EXTENT / SECTOR)) * SECTOR, length });
    }
  }
  return out;
}
