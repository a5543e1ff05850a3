import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLibp2p, type Libp2p } from 'libp2p';
import { tcp } from '@libp2p/tcp';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { decodeJsonObject, encodeBinaryFrame, encodeJson, FramedStream } from '../../protocol/framing.js';
import type { ServiceComponents } from '../../protocol/service.js';
import { CHUNK_PROTOCOL, ChunkRefused, chunkService, type ChunkService } from '../../protocol/chunk/index.js';
import { MAX_STREAM_WINDOW } from '../../node/host/host.js';
import { FRAME_BYTES, MAX_CHUNK_BYTES, MAX_FRAME_BYTES } from '../../protocol/chunk/constants.js';
import { openCatalog, type Db } from '../../storage/catalog/db.js';
import { chunkPath, TMP_DIR } from '../../storage/peerstore/layout.js';
import { PeerStore } from '../../storage/peerstore/store.js';
import { seeded } from '../support/random.js';
import { waitFor } from '../support/wait.js';

/**
 * /lomo/chunk/1.0.0 between real in-process libp2p hosts (TCP + Noise + Yamux on loopback), each
 * with a PeerStore and catalog in a temp folder: a household (B) keeps its chunks at a family
 * member (A).
 */

const random = seeded('network/chunk-protocol.test.ts');
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function host(): Promise<Libp2p> {
  const h = await createLibp2p({ addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux({ streamOptions: { maxStreamWindowSize: MAX_STREAM_WINDOW } })] });
  await h.start();
  return h;
}

interface Site {
  h: Libp2p;
  id: string;
  trusted: Set<string>;
  warnings: string[];
  db: Db;
  store: PeerStore;
  chunks: ChunkService;
}

let tmp: string;

async function site(name: string): Promise<Site> {
  const h = await host();
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir);
  const db = openCatalog(path.join(dir, 'lomob.db'));
  const store = await PeerStore.open(path.join(dir, 'hosted'), db);
  const trusted = new Set<string>();
  const warnings: string[] = [];
  const components: ServiceComponents = {
    host: h,
    trust: { trusted: (id) => trusted.has(id) },
    log: { info: () => {}, warn: (m) => warnings.push(m) },
  };
  const chunks = chunkService(store)(components);
  await chunks.start();
  return { h, id: h.peerId.toString(), trusted, warnings, db, store, chunks };
}

/** Files under the store's temporary folder (a refused put leaves none). */
function temps(s: Site): string[] {
  const dir = path.join(s.store.root, TMP_DIR);
  return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
}

async function refusal(p: Promise<unknown>): Promise<ChunkRefused> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ChunkRefused);
  return err as ChunkRefused;
}

describe('/lomo/chunk/1.0.0 on real libp2p hosts', () => {
  let A: Site;
  let B: Site;
  let stranger: Libp2p;

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lomo-chunk-proto-'));
    [A, B, stranger] = await Promise.all([site('a'), site('b'), host()]);
    A.trusted.add(B.id);
    B.trusted.add(A.id);
    await B.h.peerStore.merge(A.h.peerId, { multiaddrs: A.h.getMultiaddrs() });
    await stranger.peerStore.merge(A.h.peerId, { multiaddrs: A.h.getMultiaddrs() });
  });

  afterAll(async () => {
    await Promise.all([A?.h.stop(), B?.h.stop(), stranger?.stop()]);
    A?.db.close();
    B?.db.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('put, then get whole and a byte range: the bytes are equal; a second put sends nothing', async () => {
    const data = random.bytes(1_300_000); // five binary frames, the last one partial
    expect(await B.chunks.has(A.id, B.id, sha(data))).toBe(false);
    expect(await B.chunks.put(A.id, B.id, sha(data), data.length, data)).toEqual({ stored: true });
    expect(await B.chunks.has(A.id, B.id, sha(data))).toBe(true);
    expect(A.store.usage(B.id)).toMatchObject({ usedBytes: data.length, chunkCount: 1 });
    expect((await B.chunks.get(A.id, B.id, sha(data))).equals(data)).toBe(true);
    const range = { offset: 300_001, length: 700_000 };
    expect((await B.chunks.get(A.id, B.id, sha(data), range)).equals(data.subarray(range.offset, range.offset + range.length))).toBe(true);
    // Already held: acknowledged at once; the source is never read.
    async function* never(): AsyncGenerator<Uint8Array> {
      throw new Error('a held chunk was read again');
    }
    expect(await B.chunks.put(A.id, B.id, sha(data), data.length, never())).toEqual({ stored: false });
    expect(A.store.usage(B.id)).toMatchObject({ usedBytes: data.length, chunkCount: 1 });
    expect(A.warnings).toEqual([]);
  });

  it('puts of chunks already held, many in a row, are each acknowledged (no stream stays half-open at the holder)', async () => {
    // A resumed transfer: every chunk answered ok/stored:false before a byte moved. The sender
    // used to leave those streams half-open, and the holder reset every put after its fourth.
    const data = random.bytes(10_000);
    await B.chunks.put(A.id, B.id, sha(data), data.length, data);
    for (let i = 0; i < 12; i++) expect(await B.chunks.put(A.id, B.id, sha(data), data.length, data)).toEqual({ stored: false });
    expect(await B.chunks.has(A.id, B.id, sha(data))).toBe(true);
    expect(A.warnings).toEqual([]);
  });

  it('drop deletes the owner\'s chunk at the holder, with its usage; dropping it again says it was not there', async () => {
    const data = random.bytes(20_000);
    await B.chunks.put(A.id, B.id, sha(data), data.length, data);
    const before = A.store.usage(B.id);
    expect(await B.chunks.drop(A.id, B.id, sha(data))).toBe(true);
    expect(await A.store.has(B.id, sha(data))).toBe(false);
    expect(fs.existsSync(chunkPath(A.store.root, B.id, sha(data)))).toBe(false);
    expect(A.store.usage(B.id)).toMatchObject({ usedBytes: before.usedBytes - data.length, chunkCount: before.chunkCount - 1 });
    expect(await B.chunks.drop(A.id, B.id, sha(data))).toBe(false);
    // Only the owner may drop its chunks: B cannot drop what A keeps for another household.
    const other = stranger.peerId.toString();
    await A.store.put(other, sha(data), data.length, data);
    expect((await refusal(B.chunks.drop(A.id, other, sha(data)))).reason).toBe('forbidden');
    expect(await A.store.has(other, sha(data))).toBe(true);
  });

  it('a chunk of the maximum size goes both ways with backpressure (the reader pauses its stream)', async () => {
    // Without flow control the holder's buffer overflowed and reset the stream at this size.
    const data = random.bytes(MAX_CHUNK_BYTES);
    expect(await B.chunks.put(A.id, B.id, sha(data), data.length, data)).toEqual({ stored: true });
    expect((await B.chunks.get(A.id, B.id, sha(data))).equals(data)).toBe(true);
    expect(A.warnings).toEqual([]);
    await A.store.delete(B.id, sha(data));
  });

  it('a streamed source in uneven pieces is stored as sent', async () => {
    const data = random.bytes(777_777);
    async function* pieces(): AsyncGenerator<Uint8Array> {
      for (let off = 0; off < data.length; off += 100_003) yield data.subarray(off, off + 100_003);
    }
    expect(await B.chunks.put(A.id, B.id, sha(data), data.length, pieces())).toEqual({ stored: true });
    expect((await A.store.get(B.id, sha(data))).equals(data)).toBe(true);
  });

  it('a source in small pieces (a file read stream) is sent in full FRAME_BYTES frames', async () => {
    // A bare holder that records the size of every binary frame it receives.
    const raw = await host();
    const frames: number[] = [];
    await raw.handle(CHUNK_PROTOCOL, async (s) => {
      const f = new FramedStream(s, { maxBinary: MAX_FRAME_BYTES });
      const req = decodeJsonObject(await f.readRequired('put'));
      await f.write(encodeJson({ t: 'go' }));
      for (let got = 0; got < (req.size as number); ) {
        const frame = await f.readFrame();
        if (frame?.type !== 'binary') throw new Error('expected a binary frame');
        frames.push(frame.payload.length);
        got += frame.payload.length;
      }
      await f.write(encodeJson({ t: 'ok', stored: true }));
      await f.close();
    });
    try {
      const rawId = raw.peerId.toString();
      B.trusted.add(rawId);
      await B.h.peerStore.merge(raw.peerId, { multiaddrs: raw.getMultiaddrs() });
      const data = random.bytes(3 * FRAME_BYTES + 12_345);
      async function* pieces(): AsyncGenerator<Uint8Array> {
        yield data.subarray(0, 7); // odd sizes first, then 64 KiB reads, then a large piece
        for (let off = 7; off < 600_007; off += 65_536) yield data.subarray(off, Math.min(off + 65_536, 600_007));
        yield data.subarray(600_007);
      }
      expect(await B.chunks.put(rawId, B.id, sha(data), data.length, pieces())).toEqual({ stored: true });
      expect(frames).toEqual([FRAME_BYTES, FRAME_BYTES, FRAME_BYTES, 12_345]);
    } finally {
      await raw.stop();
    }
  });

  it('a put whose bytes do not hash to its sha is refused as hash-mismatch, nothing stored', async () => {
    const data = random.bytes(400_000);
    const claimed = sha(random.bytes(16));
    const before = A.store.usage(B.id);
    const err = await refusal(B.chunks.put(A.id, B.id, claimed, data.length, data));
    expect(err.reason).toBe('hash-mismatch');
    expect(await A.store.has(B.id, claimed)).toBe(false);
    expect(A.store.usage(B.id)).toEqual(before);
    expect(temps(A)).toEqual([]);
  });

  it('a short put is refused as size-mismatch', async () => {
    const data = random.bytes(10_000);
    const err = await refusal(B.chunks.put(A.id, B.id, sha(data), data.length + 1, data));
    expect(err.reason).toBe('size-mismatch');
    expect(temps(A)).toEqual([]);
  });

  it('a put over the owner quota is refused as quota before any byte is sent', async () => {
    const used = A.store.usage(B.id).usedBytes;
    A.store.setQuota(B.id, used + 1000);
    try {
      const data = random.bytes(2000);
      let read = false;
      async function* source(): AsyncGenerator<Uint8Array> {
        read = true;
        yield data;
      }
      const err = await refusal(B.chunks.put(A.id, B.id, sha(data), data.length, source()));
      expect(err.reason).toBe('quota');
      expect(read).toBe(false);
      expect(await A.store.has(B.id, sha(data))).toBe(false);
      expect(A.store.usage(B.id).usedBytes).toBe(used);
    } finally {
      A.store.setQuota(B.id, null);
    }
  });

  it('put, get and has for another owner are refused as forbidden', async () => {
    const data = random.bytes(1000);
    expect((await refusal(B.chunks.put(A.id, A.id, sha(data), data.length, data))).reason).toBe('forbidden');
    expect(await A.store.has(A.id, sha(data))).toBe(false);
    expect((await refusal(B.chunks.get(A.id, A.id, sha(data)))).reason).toBe('forbidden');
    expect((await refusal(B.chunks.has(A.id, A.id, sha(data)))).reason).toBe('forbidden');
  });

  it('a chunk whose stored bytes were flipped is not served: corrupt, then not-found', async () => {
    const data = random.bytes(300_000);
    await B.chunks.put(A.id, B.id, sha(data), data.length, data);
    const file = chunkPath(A.store.root, B.id, sha(data));
    const bytes = fs.readFileSync(file);
    const at = random.int(bytes.length);
    bytes[at] = bytes[at]! ^ 0x01;
    fs.writeFileSync(file, bytes);
    const err = await refusal(B.chunks.get(A.id, B.id, sha(data)));
    expect(err.reason).toBe('corrupt');
    expect(await B.chunks.has(A.id, B.id, sha(data))).toBe(false);
    expect((await refusal(B.chunks.get(A.id, B.id, sha(data)))).reason).toBe('not-found');
  });

  it('a binary frame above the limit is refused on its header, before its body is buffered', async () => {
    const data = random.bytes(4 * 1024 * 1024);
    const before = A.warnings.length;
    const s = await B.h.dialProtocol(A.h.peerId, CHUNK_PROTOCOL, { signal: AbortSignal.timeout(10_000) });
    const f = new FramedStream(s);
    await f.write(encodeJson({ t: 'put', owner: B.id, sha: sha(data), size: data.length }));
    expect(decodeJsonObject(await f.readRequired('go'))).toEqual({ t: 'go' });
    s.send(encodeBinaryFrame(data).subarray(0, 5)); // 4 MiB announced, only the header sent
    await waitFor(() => A.warnings.slice(before).some((w) => w === `chunk stream from ${B.id} reset: message of ${data.length + 1} bytes exceeds the limit of 1048577`), 10_000, 'the refusal');
    await waitFor(() => s.status !== 'open', 10_000, 'the reset');
    expect(await A.store.has(B.id, sha(data))).toBe(false);
    await waitFor(() => temps(A).length === 0, 10_000, 'the temporary file removed');
  });

  it('a put sending more than it announced is reset, nothing stored', async () => {
    const data = random.bytes(1000);
    const before = A.warnings.length;
    const s = await B.h.dialProtocol(A.h.peerId, CHUNK_PROTOCOL, { signal: AbortSignal.timeout(10_000) });
    const f = new FramedStream(s);
    await f.write(encodeJson({ t: 'put', owner: B.id, sha: sha(data), size: 600 }));
    expect(decodeJsonObject(await f.readRequired('go'))).toEqual({ t: 'go' });
    await f.writeBinary(data);
    await waitFor(() => A.warnings.slice(before).includes(`chunk stream from ${B.id} reset: more than the announced 600 bytes`), 10_000, 'the reset');
    expect(await A.store.has(B.id, sha(data))).toBe(false);
    await waitFor(() => temps(A).length === 0, 10_000, 'the temporary file removed');
  });

  it('a peer that is not trusted is reset by the guard, and the client refuses it', async () => {
    const s = await stranger.dialProtocol(A.h.peerId, CHUNK_PROTOCOL, { signal: AbortSignal.timeout(10_000) });
    const id = stranger.peerId.toString();
    await waitFor(() => A.warnings.includes(`chunk stream from ${id} reset: chunk request from a peer that is not trusted`), 10_000, 'the refusal');
    await waitFor(() => s.status !== 'open', 10_000, 'the reset');
    await expect(A.chunks.has(id, id, sha(new Uint8Array(1)))).rejects.toThrow(`${id} is not a trusted peer`);
  });
});
