import { createHash } from 'node:crypto';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import { peerIdFromString } from '@libp2p/peer-id';

/**
 * The invitation code a person pastes into a chat: `lomo1` + lowercase base32 (RFC 4648, no
 * padding) of a binary payload that ends in a 4-byte SHA-256 checksum. Whitespace anywhere is
 * ignored (chat apps wrap long lines). The payload declares its own length, so a truncated code
 * is told apart from a garbled one.
 *
 * payload = version(1) | length(2, BE, whole payload incl. checksum) | expires(4, unix s)
 *         | inviteId(8) | secret(16) | peerIdLen(1) | peerId(utf8) | addrCount(1)
 *         | { addrLen(1) | multiaddr bytes }* | checksum(4)
 */

export const CODE_PREFIX = 'lomo1';
export const CODE_VERSION = 1;
export const INVITE_ID_BYTES = 8;
export const SECRET_BYTES = 16;
const MAX_ADDRS = 16;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
/** Longest text accepted before decoding (a real code is a few hundred characters). */
const MAX_CODE_CHARS = 4096;

export interface InviteCode {
  inviterPeerId: string;
  addrs: Multiaddr[];
  inviteId: Uint8Array;
  secret: Uint8Array;
  /** Milliseconds since the epoch (whole seconds). */
  expiresAt: number;
}

/** The code cannot be used; the message says why and what to do. */
export class InviteCodeError extends Error {
  override name = 'InviteCodeError';
}

export function encodeInviteCode(code: InviteCode): string {
  if (code.inviteId.length !== INVITE_ID_BYTES || code.secret.length !== SECRET_BYTES) throw new RangeError('bad invite id or secret size');
  const pid = Buffer.from(code.inviterPeerId, 'utf8');
  const addrs = code.addrs.slice(0, MAX_ADDRS).map((a) => a.bytes).filter((b) => b.length < 256);
  const parts: Uint8Array[] = [];
  const head = Buffer.alloc(7);
  head.writeUInt8(CODE_VERSION, 0);
  // length is filled in below
  head.writeUInt32BE(Math.floor(code.expiresAt / 1000), 3);
  parts.push(head, code.inviteId, code.secret, Uint8Array.of(pid.length), pid, Uint8Array.of(addrs.length));
  for (const a of addrs) parts.push(Uint8Array.of(a.length), a);
  const body = Buffer.concat(parts);
  body.writeUInt16BE(body.length + 4, 1);
  const sum = createHash('sha256').update(body).digest().subarray(0, 4);
  return CODE_PREFIX + base32Encode(Buffer.concat([body, sum]));
}

export function decodeInviteCode(text: string): InviteCode {
  if (typeof text !== 'string' || text.length > MAX_CODE_CHARS) throw new InviteCodeError('this is not a lomo-peer invitation code (far too long)');
  const s = text.replace(/\s+/g, '').toLowerCase();
  if (s.length === 0) throw new InviteCodeError('the invitation code is empty: paste the whole code from `lomo-peer invite`');
  if (!s.startsWith('lomo')) throw new InviteCodeError("this is not a lomo-peer invitation code (codes start with 'lomo1')");
  if (!s.startsWith(CODE_PREFIX)) {
    throw new InviteCodeError(`this invitation code has version '${s.slice(4, 5)}', which this lomo-peer does not know: upgrade lomo-peer, or ask for a new code`);
  }
  const bytes = base32Decode(s.slice(CODE_PREFIX.length));
  if (bytes.length < 3) throw new InviteCodeError('the invitation code is truncated: copy the whole code again');
  if (bytes[0] !== CODE_VERSION) throw new InviteCodeError('the invitation code is garbled (unknown format byte): copy it again exactly');
  const declared = bytes.readUInt16BE(1);
  if (bytes.length < declared) {
    throw new InviteCodeError(`the invitation code is truncated (${bytes.length} of ${declared} bytes): copy the whole code again`);
  }
  if (bytes.length > declared) throw new InviteCodeError('the invitation code has extra characters at the end: copy exactly the code');
  if (declared < 7 + INVITE_ID_BYTES + SECRET_BYTES + 2 + 4) throw new InviteCodeError('the invitation code is garbled: copy it again exactly');
  const body = bytes.subarray(0, declared - 4);
  const sum = createHash('sha256').update(body).digest().subarray(0, 4);
  if (!sum.equals(bytes.subarray(declared - 4))) {
    throw new InviteCodeError('the invitation code is garbled (checksum mismatch): copy it again exactly, or ask for a new code');
  }
  // The checksum matched, so the rest was produced by an encoder; still parse defensively.
  try {
    let off = 3;
    const expiresAt = body.readUInt32BE(off) * 1000;
    off += 4;
    const inviteId = new Uint8Array(body.subarray(off, off + INVITE_ID_BYTES));
    off += INVITE_ID_BYTES;
    const secret = new Uint8Array(body.subarray(off, off + SECRET_BYTES));
    off += SECRET_BYTES;
    const pidLen = body.readUInt8(off++);
    const pidText = body.subarray(off, off + pidLen).toString('utf8');
    off += pidLen;
    const inviterPeerId = peerIdFromString(pidText).toString();
    const n = body.readUInt8(off++);
    if (n > MAX_ADDRS) throw new Error('too many addresses');
    const addrs: Multiaddr[] = [];
    for (let i = 0; i < n; i++) {
      const len = body.readUInt8(off++);
      if (off + len > body.length) throw new Error('address past end');
      addrs.push(multiaddr(new Uint8Array(body.subarray(off, off + len))));
      off += len;
    }
    if (off !== body.length) throw new Error('trailing bytes');
    return { inviterPeerId, addrs, inviteId, secret, expiresAt };
  } catch (err) {
    throw new InviteCodeError(`the invitation code is invalid (${(err as Error).message}): ask for a new code`);
  }
}

function base32Encode(b: Uint8Array): string {
  let out = '';
  let bits = 0;
  let acc = 0;
  for (const byte of b) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(acc >>> (bits - 5)) & 31];
      bits -= 5;
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) out += ALPHABET[(acc << (5 - bits)) & 31];
  return out;
}

function base32Decode(s: string): Buffer {
  const out: number[] = [];
  let bits = 0;
  let acc = 0;
  for (const ch of s) {
    const v = ALPHABET.indexOf(ch);
    if (v < 0) {
      throw new InviteCodeError(`the invitation code contains ${JSON.stringify(ch)}, which no code contains: it is garbled, copy it again exactly`);
    }
    acc = ((acc << 5) | v) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out.push((acc >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}
