import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { LomoNode } from '../../node/host/lomo-node.js';
import { ChunkRefused } from '../../protocol/chunk/index.js';
import { chunkPath, TMP_DIR } from '../../storage/peerstore/layout.js';
import { getPeer } from '../../storage/trust/peers.js';
import { LOOPBACK, NodeProc, tempRoot } from '../support/nodes.js';
import { seeded } from '../support/random.js';
import { waitFor } from '../support/wait.js';

/**
 * The holder side of issue 15 with a real `lomo-peer node` as the holder and a LomoNode in this
 * process as the household that sends it chunks (no CLI command sends chunks yet): the quota of
 * `invite --quota` reaches the holder's peer store, a put beyond it is refused as `quota` with
 * nothing left behind, `peers --json` shows the usage, and a byte flipped in a hosted chunk is
 * found by the scrub, quarantined, answered `corrupt` and reported by `status`.
 */

const random = seeded('network/hosted-quota.test.ts');
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function refusal(p: Promise<unknown>): Promise<ChunkRefused> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ChunkRefused);
  return err as ChunkRefused;
}

describe('hosting chunks: quota, usage, scrub', () => {
  let root: string;
  let H: NodeProc;
  let S: LomoNode;

  beforeAll(async () => {
    root = tempRoot('lomo-hosted-');
    // The scrub re-checks every chunk in every maintenance round (1 s in tests).
    H = await NodeProc.start(path.join(root, 'holder'), 'Holder', [...LOOPBACK, '--scrub-days', '0']);
    const dir = path.join(root, 'sender');
    fs.mkdirSync(dir);
    S = await LomoNode.start({ dbFile: path.join(dir, 'lomob.db'), dataDir: dir, listen: ['/ip4/127.0.0.1/tcp/0'], maintenanceMs: 1000 });
  });

  afterAll(async () => {
    await S?.stop();
    await H?.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  const first = random.bytes(600_000);
  const second = random.bytes(600_000);

  it('the quota of invite --quota reaches the holder; a put over it is refused as quota, nothing partial left', async () => {
    const code = await H.invite(['--name', 'Sender', '--quota', '1MB']);
    await S.join(code, { quota: 2_000_000 });
    // Both sides hold the agreement the right way round, and each peer store enforces its offer.
    const atH = (await H.json<any[]>(['peers'])).find((p) => p.peerId === S.peerId);
    expect(atH).toMatchObject({ name: 'Sender', quotaOffered: 1_000_000, quotaGranted: 2_000_000 });
    expect(getPeer(S.db, H.peerId)).toMatchObject({ quotaOffered: 2_000_000, quotaGranted: 1_000_000 });
    expect(S.hosted.usage(H.peerId).quotaBytes).toBe(2_000_000);
    await waitFor(async () => H.stderr.includes(`hosted quota of ${S.peerId}: 1000000 bytes`), 20_000, 'the holder applying the quota');

    expect(await S.chunks.put(H.peerId, S.peerId, sha(first), first.length, first)).toEqual({ stored: true });
    const refused = await refusal(S.chunks.put(H.peerId, S.peerId, sha(second), second.length, second));
    expect(refused.reason).toBe('quota');
    expect(refused.message).toMatch(/600000 of 1000000 bytes used/);
    const hosted = path.join(H.dir, 'hosted');
    expect(fs.existsSync(chunkPath(hosted, S.peerId, sha(second)))).toBe(false);
    const tmp = path.join(hosted, TMP_DIR);
    expect(fs.existsSync(tmp) ? fs.readdirSync(tmp) : []).toEqual([]);
    expect(await S.chunks.has(H.peerId, S.peerId, sha(second))).toBe(false);
  });

  it('peers --json and peers show the usage within the quota', async () => {
    const atH = (await H.json<any[]>(['peers'])).find((p) => p.peerId === S.peerId);
    expect(atH.usage).toEqual({
      hosted: { usedBytes: first.length, chunkCount: 1, quotaBytes: 1_000_000 },
      held: { bytes: 0, objects: 0, quotaBytes: 2_000_000 },
    });
    expect(atH.usage.hosted.usedBytes).toBeLessThanOrEqual(atH.usage.hosted.quotaBytes);
    const table = await H.run(['peers']);
    expect(table.stdout).toMatch(/USED HERE\s+USED THERE/);
    expect(table.stdout).toMatch(/Sender .* 600\.0 KB \/ 1\.0 MB\s+0 B \/ 2\.0 MB/);
    const st = await H.json<any>(['status']);
    expect(st.peers.find((p: any) => p.peerId === S.peerId).usage.hosted).toEqual({ usedBytes: first.length, chunkCount: 1, quotaBytes: 1_000_000 });
    expect(st.hosted).toMatchObject({ owners: 1, usedBytes: first.length, chunkCount: 1, quarantined: 0, scrub: { corruptFound: 0 } });
  });

  it('a byte flipped in a hosted chunk: the scrub quarantines it, get answers corrupt, status reports it', async () => {
    const file = chunkPath(path.join(H.dir, 'hosted'), S.peerId, sha(first));
    const at = random.int(first.length);
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.from([first[at]! ^ 0x01]), 0, 1, at);
    fs.closeSync(fd);

    await waitFor(async () => (await H.json<any>(['status'])).hosted.quarantined === 1, 30_000, 'the scrub quarantining the chunk');
    const st = await H.json<any>(['status']);
    expect(st.hosted).toMatchObject({ usedBytes: 0, chunkCount: 0, quarantined: 1, scrub: { corruptFound: 1 } });
    expect(st.hosted.scrub.lastRunAt).toBeGreaterThan(0);
    expect(H.stderr).toContain(`hosted chunk ${sha(first)} of ${S.peerId} no longer matches its hash: quarantined`);

    expect(await S.chunks.has(H.peerId, S.peerId, sha(first))).toBe(false);
    expect((await refusal(S.chunks.get(H.peerId, S.peerId, sha(first)))).reason).toBe('corrupt');
    expect((await refusal(S.chunks.get(H.peerId, S.peerId, sha(first)))).reason).toBe('not-found');
    const text = await H.run(['status']);
    expect(text.stdout).toMatch(/warning: 1 chunk\(s\) kept for other households no longer matched their hash: quarantined/);

    // The owner re-sends it from a good copy; the room it took was given back.
    expect(await S.chunks.put(H.peerId, S.peerId, sha(first), first.length, first)).toEqual({ stored: true });
    expect((await S.chunks.get(H.peerId, S.peerId, sha(first))).equals(first)).toBe(true);
  });
});
