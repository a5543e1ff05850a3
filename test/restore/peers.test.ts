/**
 * Restore from wherever the bytes are (issue 15, point 4), on real nodes over loopback: A packs a
 * volume, its chunks are put on B (and later C) and recorded as holdings, A's local object folder
 * is removed; then `restore file` (through A's running node, control op `chunk-fetch`) and
 * `restore volume` (no node: a short-lived one in the restore's process) come back bit-exact from
 * the family. A single small file moves at most the 2 chunks that hold it. A flipped byte at B is
 * skipped and reported, and C serves instead. With no holder reachable: exit 8, no output file;
 * a copy in a folder tier (a NAS) still serves.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { cli, type CliOptions } from '../support/cli.js';
import { filesUnder } from '../support/files.js';
import { startFamily, type Family, type NodeProc } from '../support/nodes.js';
import { seeded } from '../support/random.js';
import { openCatalog } from '../../storage/catalog/db.js';
import { localSiteId, objectsByOwner } from '../../storage/objects/catalog.js';
import { findCopies } from '../../storage/objects/copies.js';
import { chunkKey } from '../../storage/objects/format.js';
import { chunkPath } from '../../storage/peerstore/layout.js';
import { PeerStore } from '../../storage/peerstore/store.js';
import { recordHolding } from '../../storage/placements/holdings.js';

const random = seeded('restore/peers.test.ts');
const PASS = 'restore from peers passphrase';
const env = { LOMOB_MASTER_KEY: PASS, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_ENDPOINT_URL: '', LOMO_GDRIVE_ROOT_URL: '' };
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let family: Family;
beforeAll(async () => {
  // --replicas 0: the test, not A's replicator, decides which holder has which copy, in which order.
  family = await startFamily(['A', 'B', 'C'], ['--replicas', '0']);
}, 90_000);
afterAll(async () => family?.stop());

/**
 * Stands in for the replicator (off in this test): every chunk of every object of `owner` goes into
 * `holder`'s hosted store as the chunk protocol's holder side would keep it, then A's catalog
 * records the whole-object holding.
 */
async function placeOn(holder: NodeProc, ownerDb: string, objectsDir: string): Promise<void> {
  const adb = openCatalog(ownerDb);
  const hdb = openCatalog(holder.db);
  try {
    const owner = localSiteId(adb)!;
    const store = await PeerStore.open(path.join(holder.dir, 'hosted'), hdb);
    for (const o of objectsByOwner(adb, owner)) {
      for (const c of o.chunks) {
        const bytes = fs.readFileSync(path.join(objectsDir, chunkKey(o.objectId.toString('hex'), c.index)));
        await store.put(owner, c.sha256, c.size, bytes);
      }
      recordHolding(adb, { objectRow: o.row, holder: { site: holder.peerId }, size: o.cipherSize, sha256: o.cipherSha256 });
    }
  } finally {
    hdb.close();
    adb.close();
  }
}

describe('restore from peers', () => {
  it('restores files and volumes from family members when the local object folder is gone, checking every copy', async () => {
    const [a, b, c] = family.nodes as [NodeProc, NodeProc, NodeProc];
    const tmp = family.root;
    const lib = path.join(tmp, 'lib');
    const files: Record<string, Buffer> = {
      'big/one.mov': random.bytes(9_000_000),
      'big/two.mov': random.bytes(9_000_000),
      'small.jpg': random.bytes(150_000),
      'three.mov': random.bytes(5_000_000),
    };
    for (const [p, data] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(lib, p)), { recursive: true });
      fs.writeFileSync(path.join(lib, p), data);
    }
    const run = (args: string[], o: CliOptions = {}) => cli(['--db', a.db, ...args], { env, cwd: tmp, timeoutMs: 120_000, ...o });
    const ok = async (...args: string[]) => {
      const r = await run(args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      return r;
    };
    const objects = path.join(a.dir, 'objects');
    await ok('scan', lib);
    await ok('init', '--kdf-passes', '1', '--objects-dir', objects);
    fs.mkdirSync(path.join(a.dir, 'isos'));
    await ok('iso', 'create', '--partial', '-p', path.join(a.dir, 'isos'));
    const [vol] = JSON.parse((await ok('iso', 'list', '--json')).stdout) as { name: string; sha256: string }[];
    await family.pair();

    await placeOn(b, a.db, objects);
    const kept = path.join(tmp, 'a-objects-kept');
    fs.renameSync(objects, kept); // A's local object folder is gone
    const adb = openCatalog(a.db);
    const [volumeObject] = objectsByOwner(adb, localSiteId(adb)!).filter((o) => o.kind === 'volume');
    adb.close();
    const chunkBytes = volumeObject!.chunks[0]!.size;
    expect(volumeObject!.chunks.length, 'the volume spans several chunks').toBeGreaterThanOrEqual(3);

    // One small file, through A's running node: at most the 2 chunks that hold it move.
    const r1 = path.join(tmp, 'r1');
    const one = JSON.parse((await ok('--json', 'restore', 'file', path.join(lib, 'small.jpg'), '--to', r1)).stdout);
    expect(fs.readFileSync(path.join(r1 + lib, 'small.jpg')).equals(files['small.jpg']!)).toBe(true);
    expect(one.bytesFetched.local).toBe(0);
    expect(one.bytesFetched.peers).toBeGreaterThan(0);
    expect(one.bytesFetched.peers).toBeLessThanOrEqual(2 * chunkBytes);
    expect(one.badCopies).toEqual([]);
    console.log(`single-file restore from a peer: ${files['small.jpg']!.length} bytes restored, ${one.bytesFetched.peers} bytes moved`);
    expect(filesUnder(path.join(a.dir, 'chunk-fetch')), 'the node\'s temporary chunk files are removed').toEqual([]);

    // The whole volume, with no node running at A (a short-lived one in the restore's process).
    expect(await a.stop()).toBe(0);
    const r2 = path.join(tmp, 'r2');
    const v = JSON.parse((await ok('--json', 'restore', 'volume', vol!.name, '--to', r2)).stdout);
    expect(sha(fs.readFileSync(v.to))).toBe(vol!.sha256);
    expect(v.bytesFetched).toEqual({ local: 0, peers: volumeObject!.cipherSize, gdrive: 0, s3: 0 });

    // A flipped byte in B's copy: B does not serve it, the restore reports it and reads C's.
    await placeOn(c, a.db, kept);
    const first = volumeObject!.chunks[0]!;
    const hosted = chunkPath(path.join(b.dir, 'hosted'), a.peerId, first.sha256.toString('hex'));
    const damaged = fs.readFileSync(hosted);
    damaged[1000] ^= 0x40;
    fs.writeFileSync(hosted, damaged);
    const r3 = path.join(tmp, 'r3');
    const three = await ok('--json', 'restore', 'file', path.join(lib, 'big'), '--to', r3);
    for (const p of ['big/one.mov', 'big/two.mov']) expect(fs.readFileSync(path.join(r3 + lib, p)).equals(files[p]!), p).toBe(true);
    const out3 = JSON.parse(three.stdout);
    expect(out3.badCopies.map((x: { holder: string; chunk: number }) => [x.holder.includes(b.peerId), x.chunk])).toEqual([[true, 0]]);
    expect(three.stderr).toMatch(new RegExp(`bad copy at peer .*${b.peerId}`));

    // A byte range is served unchecked by the holder: a flipped byte in it fails decryption here,
    // and the same range comes from C instead.
    const cdb = openCatalog(a.db);
    const [copy] = findCopies(cdb, Buffer.from(path.join(lib, 'small.jpg')));
    cdb.close();
    const k = Math.floor(copy!.offset / volumeObject!.chunkPlain);
    expect(k, 'small.jpg is not in the chunk damaged above').not.toBe(0);
    const inRange = chunkPath(path.join(b.dir, 'hosted'), a.peerId, volumeObject!.chunks[k]!.sha256.toString('hex'));
    const flipped = fs.readFileSync(inRange);
    flipped[70] ^= 0x01; // in the chunk's first message, which every range of it includes
    fs.writeFileSync(inRange, flipped);
    const r5 = path.join(tmp, 'r5');
    const five = JSON.parse((await ok('--json', 'restore', 'file', path.join(lib, 'small.jpg'), '--to', r5)).stdout);
    expect(fs.readFileSync(path.join(r5 + lib, 'small.jpg')).equals(files['small.jpg']!)).toBe(true);
    expect(five.badCopies).toHaveLength(1);
    expect(five.badCopies[0]).toMatchObject({ chunk: k, reason: expect.stringMatching(/does not authenticate/) });
    expect(five.badCopies[0].holder).toContain(b.peerId);
    expect(five.bytesFetched.peers).toBe(2 * one.bytesFetched.peers); // B's bad range, then C's

    // No holder reachable: the network's exit code, and nothing written.
    await Promise.all([b.stop(), c.stop()]);
    const r4 = path.join(tmp, 'r4');
    const none = await run(['restore', 'file', path.join(lib, 'small.jpg'), '--to', r4]);
    expect(none.code, none.stderr).toBe(8);
    expect(none.stderr).toMatch(/no source has a good copy/);
    expect(none.stderr).toContain(b.peerId);
    expect(fs.existsSync(r4) ? filesUnder(r4) : []).toEqual([]);

    // A copy in a folder tier (a NAS) is free: it is read before any peer, here with every peer down.
    fs.renameSync(kept, objects);
    await ok('upload', 'iso', '--target', `file://${path.join(tmp, 'nas')}`);
    fs.renameSync(objects, kept);
    const r6 = path.join(tmp, 'r6');
    const six = JSON.parse((await ok('--json', 'restore', 'volume', vol!.name, '--to', r6)).stdout);
    expect(sha(fs.readFileSync(six.to))).toBe(vol!.sha256);
    expect(six.bytesFetched).toEqual({ local: volumeObject!.cipherSize, peers: 0, gdrive: 0, s3: 0 });
  }, 300_000);
});
