import { describe, expect, it } from 'vitest';
import { multiaddr } from '@multiformats/multiaddr';
import { encodeBinaryFrame, encodeFrame, encodeVarint, FrameDecoder, ProtocolViolation, type Frame } from '../../protocol/framing.js';
import { decodePairMessage, encodePairMessage, type PairMessage } from '../../protocol/pairing/messages.js';
import { decodeRoster, encodeRoster } from '../../protocol/family/roster.js';
import { decodeInviteCode, encodeInviteCode, InviteCodeError } from '../../protocol/pairing/code.js';
import { rng } from '../support/random.js';


const PEER = '12D3KooWFDtyYDvHXJ4ZTY1GvJjfcyTdhWWo3oncFQDQYK2KPE2B';

function randomBytes(r: () => number, max: number): Uint8Array {
  const n = Math.floor(r() * max);
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(r() * 256);
  return b;
}

/** Flip, insert, delete, duplicate or truncate bytes of a valid input. */
function mutate(r: () => number, src: Uint8Array): Uint8Array {
  const b = Array.from(src);
  const edits = 1 + Math.floor(r() * 4);
  for (let e = 0; e < edits; e++) {
    const i = Math.floor(r() * (b.length + 1));
    switch (Math.floor(r() * 5)) {
      case 0:
        if (b.length) b[i % b.length] = Math.floor(r() * 256);
        break;
      case 1:
        b.splice(i, 0, Math.floor(r() * 256));
        break;
      case 2:
        b.splice(i, 1);
        break;
      case 3:
        b.splice(i, 0, ...b.slice(i, i + Math.floor(r() * 16)));
        break;
      default:
        b.length = Math.min(b.length, i);
    }
  }
  return Uint8Array.from(b);
}

const samples: PairMessage[] = [
  { t: 'hello', invite: new Uint8Array(8).fill(1), nonce: new Uint8Array(32).fill(2) },
  { t: 'challenge', nonce: new Uint8Array(32).fill(3) },
  { t: 'prove', proof: new Uint8Array(32).fill(4), site: { name: 'Bob', addrs: ['/ip4/10.0.0.1/tcp/4710'], quota: 5e11 } },
  { t: 'welcome', proof: new Uint8Array(32), site: { name: 'Alice', addrs: [], quota: null }, members: [{ peerId: PEER, name: 'C', addrs: ['/ip4/1.2.3.4/tcp/1'] }] },
  { t: 'ack' },
  { t: 'error', code: 'used', message: 'used' },
];

/** A frame's bytes, and its type with a payload in parts counted as binary (the same payload). */
const bytesOf = (f: Frame) => (f.type === 'binary' ? f.payload : f.type === 'binary-parts' ? Buffer.concat(f.parts) : f.body);
const kindOf = (f: Frame) => (f.type === 'control' ? 'control' : 'binary');

const framesEqual = (a: Frame[], b: Frame[]) =>
  a.length === b.length &&
  a.every((f, i) => {
    const g = b[i]!;
    return kindOf(f) === kindOf(g) && Buffer.from(bytesOf(f)).equals(Buffer.from(bytesOf(g)));
  });

/** Only our own error types may come out of a decoder: anything else is a crash. */
function expectClean(fn: () => unknown, allowed: (new (...a: any[]) => Error)[]): void {
  try {
    fn();
  } catch (err) {
    if (!allowed.some((c) => err instanceof c)) throw err;
  }
}

describe('decoders under random and mutated input (>= 100,000 iterations each)', () => {
  const N = 100_000;

  it('frame decoder: never crashes, never buffers more than one frame (seed 1)', () => {
    const r = rng(1);
    const valid = encodeFrame(new Uint8Array(300).fill(7));
    const heapBefore = process.memoryUsage().heapUsed;
    let frames = 0;
    let violations = 0;
    let maxBuffered = 0;
    let dec = new FrameDecoder(1024);
    for (let i = 0; i < N; i++) {
      const input = i % 2 === 0 ? randomBytes(r, 64) : mutate(r, valid);
      try {
        // Feed in random-sized pieces, as a network would.
        let off = 0;
        while (off < input.length) {
          const n = 1 + Math.floor(r() * 40);
          frames += dec.push(input.subarray(off, off + n)).length;
          off += n;
          maxBuffered = Math.max(maxBuffered, dec.buffered);
        }
      } catch (err) {
        if (!(err instanceof ProtocolViolation)) throw err;
        violations++;
        dec = new FrameDecoder(1024); // the real stream is reset after a violation
      }
    }
    expect(maxBuffered).toBeLessThanOrEqual(1024 + 5);
    expect(frames).toBeGreaterThan(1000);
    expect(violations).toBeGreaterThan(1000);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(64 * 1024 * 1024);
  });

  it('frame decoder rejects an oversized length before any body arrives', () => {
    const dec = new FrameDecoder(1024);
    expect(() => dec.push(Uint8Array.of(0x80, 0x80, 0x80, 0x10))).toThrow(/exceeds the limit/);
    expect(() => new FrameDecoder(1024).push(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0x01))).toThrow(ProtocolViolation);
  });

  it.each([
    ['joined', false],
    ['in parts', true],
  ])('typed frames: JSON and binary (%s) round-trip exactly, in any split (seed 4)', (_how, parts) => {
    const r = rng(4);
    const dec = new FrameDecoder(1024, 4096, parts);
    let maxBuffered = 0;
    for (let i = 0; i < N; i++) {
      // A random sequence of 1-4 frames of both types, cut at random points.
      const sent: Frame[] = [];
      const wire: Uint8Array[] = [];
      for (let k = 1 + Math.floor(r() * 4); k > 0; k--) {
        if (r() < 0.5) {
          const payload = randomBytes(r, r() < 0.05 ? 4097 : 600);
          sent.push({ type: 'binary', payload });
          wire.push(encodeBinaryFrame(payload));
        } else {
          const body = new TextEncoder().encode(JSON.stringify({ t: 'x', n: Math.floor(r() * 1e6), s: 'y'.repeat(Math.floor(r() * 900)) }));
          sent.push({ type: 'control', body });
          wire.push(encodeFrame(body));
        }
      }
      const bytes = Buffer.concat(wire);
      const got: Frame[] = [];
      let off = 0;
      while (off < bytes.length) {
        const n = 1 + Math.floor(r() * (r() < 0.5 ? 8 : 2000));
        got.push(...dec.push(bytes.subarray(off, off + n)));
        off += n;
        maxBuffered = Math.max(maxBuffered, dec.buffered);
      }
      if (dec.buffered !== 0 || !framesEqual(got, sent)) throw new Error(`iteration ${i}: frames differ after decoding`);
      if (got.some((f) => f.type === (parts ? 'binary' : 'binary-parts'))) throw new Error(`iteration ${i}: a payload ${parts ? 'joined' : 'in parts'}`);
    }
    expect(maxBuffered).toBeLessThanOrEqual(4097 + 5);
  });

  it('typed frames: never crash, each type within its own limit, bounded buffer (seed 5)', () => {
    const r = rng(5);
    // 0xa5 has the varint continuation bit: a mutated header does not turn the payload into
    // thousands of tiny frames.
    const validBinary = encodeBinaryFrame(new Uint8Array(3000).fill(0xa5));
    const validJson = encodeFrame(new TextEncoder().encode(JSON.stringify({ t: 'count', bytes: 12345 })));
    let binary = 0;
    let control = 0;
    let violations = 0;
    let maxBuffered = 0;
    let maxPayload = 0;
    let maxBody = 0;
    let binaryTyped = 0;
    let dec = new FrameDecoder(1024, 4096);
    for (let i = 0; i < N; i++) {
      const input = i % 3 === 0 ? randomBytes(r, 64) : mutate(r, i % 3 === 1 ? validBinary : validJson);
      try {
        let off = 0;
        while (off < input.length) {
          const n = 1 + Math.floor(r() * 700);
          for (const f of dec.push(input.subarray(off, off + n))) {
            if (f.type !== 'control') {
              binary++;
              maxPayload = Math.max(maxPayload, bytesOf(f).length);
            } else {
              control++;
              maxBody = Math.max(maxBody, f.body.length);
              if (f.body[0] === 0x01) binaryTyped++;
            }
          }
          off += n;
          maxBuffered = Math.max(maxBuffered, dec.buffered);
        }
      } catch (err) {
        if (!(err instanceof ProtocolViolation)) throw err;
        violations++;
        dec = new FrameDecoder(1024, 4096);
      }
    }
    expect(maxBuffered).toBeLessThanOrEqual(4097 + 5);
    expect(maxPayload).toBeLessThanOrEqual(4096);
    expect(maxBody).toBeLessThanOrEqual(1024);
    expect(binaryTyped).toBe(0);
    expect(binary).toBeGreaterThan(1000);
    expect(control).toBeGreaterThan(1000);
    expect(violations).toBeGreaterThan(1000);
  });

  it('typed frames: each limit is checked on the header, before the body is buffered', () => {
    // Above both limits: refused when the varint ends.
    expect(() => new FrameDecoder(1024, 4096).push(encodeVarint(5000))).toThrow(/exceeds the limit of 4097/);
    // Above the control limit: wait for the type byte (nothing else is held), then decide.
    const dec = new FrameDecoder(1024, 4096);
    expect(dec.push(encodeVarint(2000))).toEqual([]);
    expect(dec.buffered).toBe(2);
    expect(() => dec.push(Uint8Array.of(0x7b))).toThrow(/control message of 2000 bytes exceeds the limit of 1024/);
    const ok = new FrameDecoder(1024, 4096);
    expect(ok.push(Uint8Array.of(...encodeVarint(2000), 0x01))).toEqual([]);
    expect(ok.push(new Uint8Array(1999)).map((f) => f.type)).toEqual(['binary']);
    // A protocol without binary payloads refuses a binary frame, whatever its size.
    expect(() => new FrameDecoder(1024).push(encodeBinaryFrame(new Uint8Array(10)))).toThrow(/binary frame on a protocol that carries none/);
    expect(() => new FrameDecoder(1024).push(Uint8Array.of(...encodeVarint(2000), 0x01))).toThrow(/exceeds the limit of 1024/);
    // A JSON-only frame of the earlier format is still one control message.
    expect(new FrameDecoder(1024, 4096).push(encodeFrame(new TextEncoder().encode('{"t":"ack"}')))).toEqual([
      { type: 'control', body: new TextEncoder().encode('{"t":"ack"}') },
    ]);
  });

  it('pairing and roster message decoders: random + mutated (seed 2)', () => {
    const r = rng(2);
    const valid = [...samples.map(encodePairMessage), encodeRoster({ members: [{ peerId: PEER, name: 'x', addrs: [] }], inviteUntil: 5 })];
    for (const v of valid.slice(0, samples.length)) expect(() => decodePairMessage(v)).not.toThrow();
    let ok = 0;
    for (let i = 0; i < N; i++) {
      const input = i % 4 === 0 ? randomBytes(r, 200) : mutate(r, valid[i % valid.length]!);
      expectClean(() => {
        decodePairMessage(input);
        ok++;
      }, [ProtocolViolation]);
      expectClean(() => decodeRoster(input), [ProtocolViolation]);
    }
    // Some mutations leave a valid message (e.g. a changed name); most must be refused.
    expect(ok).toBeGreaterThan(0);
    expect(ok).toBeLessThan(N / 2);
  });

  it('invitation code decoder: random text + mutated codes (seed 3)', () => {
    const r = rng(3);
    const code = encodeInviteCode({
      inviterPeerId: PEER,
      addrs: [multiaddr('/ip4/192.168.1.20/tcp/4710'), multiaddr('/ip4/127.0.0.1/tcp/4710')],
      inviteId: new Uint8Array(8).fill(9),
      secret: new Uint8Array(16).fill(8),
      expiresAt: 2_000_000_000_000,
    });
    const chars = 'abcdefghijklmnopqrstuvwxyz234567 lomo1-_=!\n';
    const original = decodeInviteCode(code);
    const summary = (d: ReturnType<typeof decodeInviteCode>) => [d.inviterPeerId, d.addrs.map(String), [...d.inviteId], [...d.secret], d.expiresAt];
    let accepted = 0;
    for (let i = 0; i < N; i++) {
      let text: string;
      if (i % 3 === 0) {
        const n = Math.floor(r() * 300);
        text = 'lomo1' + Array.from({ length: n }, () => chars[Math.floor(r() * chars.length)]).join('');
      } else {
        text = new TextDecoder().decode(mutate(r, new TextEncoder().encode(code)));
      }
      expectClean(() => {
        const d = decodeInviteCode(text);
        // A mutation may be a no-op (whitespace, padding bits of the last character): only a
        // decoded code that differs from the original counts as a corruption let through.
        if (JSON.stringify(summary(d)) !== JSON.stringify(summary(original))) accepted++;
      }, [InviteCodeError]);
    }
    // The 32-bit checksum lets essentially no corrupted code through.
    expect(accepted).toBeLessThan(3);
  });
});
