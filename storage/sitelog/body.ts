import { ByteReader, ByteWriter, isZero } from './bytes.js';
import { KIND, kindName, MAX_BODY_BYTES, type KnownKind } from './entry.js';
import { SiteLogError } from './errors.js';
import { PUBLIC_KEY_BYTES } from './site-id.js';
import { KIND as OBJECT_KIND, type ObjectKind } from '../objects/format.js';
import { OBJECT_ID_BYTES } from '../crypto/keys.js';

/**
 * The body of each kind (docs/sitelog-format.md §5). Public kinds carry only what holders and
 * checkers need — keys, object ids, sizes, chunk hashes, Merkle roots, holders — never a name,
 * path or plaintext hash; those travel in catalog deltas (delta.ts), encrypted for the owner.
 * Sites are named by their 32-byte Ed25519 public keys (site-id.ts turns them into site ids).
 */
export const KDF_ARGON2ID13 = 1;
export const WHOLE_OBJECT = 0xffffffff;
export const MAX_CHUNKS = 10_000;
export const MAX_URL_BYTES = 1024;
export const MAX_NAME_BYTES = 256;
export const MAX_INVITE_ID_BYTES = 32;

export interface SiteRecordBody {
  /** The encrypted object format version (docs/crypto-format.md). */
  formatVersion: number;
  opslimit: number;
  memlimit: number;
  salt: Buffer; // 16 bytes
  keyCheck: Buffer; // 32 bytes
  recoveryPublicKey: Buffer; // 32 bytes
}

export interface SealedChunk {
  size: number;
  sha256: Buffer;
  merkleRoot: Buffer;
}

/** An object the origin sealed: its owner is always the entry's origin. */
export interface ObjectSealedBody {
  objectId: Buffer;
  objectKind: ObjectKind;
  formatVersion: number;
  messageSize: number;
  chunkPlain: number;
  plainSize: number;
  cipherSize: number;
  cipherSha256: Buffer;
  chunks: SealedChunk[];
}

export interface CatalogDeltaBody {
  /** secretstream header (24 bytes) and one FINAL message (delta.ts). */
  header: Buffer;
  ciphertext: Buffer;
}

export type PlacementHolder = { site: Buffer } | { tierUrl: string };
export const PLACEMENT_STATE = { held: 1, gone: 2 } as const;

export interface PlacementBody {
  owner: Buffer; // the object's owner (public key)
  objectId: Buffer;
  /** null: the whole object. */
  chunkIndex: number | null;
  holder: PlacementHolder;
  state: keyof typeof PLACEMENT_STATE;
  verifiedAt: number;
}

export const MEMBERSHIP_ACTION = { paired: 1, introduced: 2, revoked: 3 } as const;
export type MembershipAction = keyof typeof MEMBERSHIP_ACTION;

export interface MembershipBody {
  action: MembershipAction;
  subject: Buffer;
  /** paired: the invite the subject used (else empty). */
  inviteId: Buffer;
  /** introduced: the entry (origin, seq) of the member that paired the subject (else zeros / 0). */
  introducer: Buffer;
  introducerSeq: number;
  /** revoked: the last entry of the subject's log that stays valid (0: none). */
  revokedAfterSeq: number;
  /** What the origin calls the subject (a label). */
  name: string;
}

export interface SuccessionBody {
  /** The Ed25519 public key of the identity that signs this log from the next entry on. */
  newKey: Buffer;
}

export type Body =
  | { kind: 'siteRecord'; body: SiteRecordBody }
  | { kind: 'objectSealed'; body: ObjectSealedBody }
  | { kind: 'catalogDelta'; body: CatalogDeltaBody }
  | { kind: 'placement'; body: PlacementBody }
  | { kind: 'membership'; body: MembershipBody }
  | { kind: 'succession'; body: SuccessionBody }
  | { kind: 'unknown'; number: number; body: Buffer };

const OBJECT_KINDS = new Map<number, ObjectKind>(Object.entries(OBJECT_KIND).map(([k, v]) => [v, k as ObjectKind]));

export function encodeBody(b: Exclude<Body, { kind: 'unknown' }>): { kind: number; body: Buffer } {
  const w = new ByteWriter();
  switch (b.kind) {
    case 'siteRecord': {
      const s = b.body;
      w.u8(s.formatVersion).u8(KDF_ARGON2ID13).u32(s.opslimit).u64(s.memlimit).fixed(s.salt, 16).fixed(s.keyCheck, 32).fixed(s.recoveryPublicKey, PUBLIC_KEY_BYTES);
      break;
    }
    case 'objectSealed': {
      const o = b.body;
      if (o.chunks.length < 1 || o.chunks.length > MAX_CHUNKS) throw new SiteLogError('rule', `an object has 1..${MAX_CHUNKS} chunks, not ${o.chunks.length}`);
      w.fixed(o.objectId, OBJECT_ID_BYTES).u8(OBJECT_KIND[o.objectKind]).u8(o.formatVersion).u32(o.messageSize).u32(o.chunkPlain)
        .u64(o.plainSize).u64(o.cipherSize).fixed(o.cipherSha256, 32).u32(o.chunks.length);
      for (const c of o.chunks) w.u64(c.size).fixed(c.sha256, 32).fixed(c.merkleRoot, 32);
      break;
    }
    case 'catalogDelta':
      w.fixed(b.body.header, 24).raw(b.body.ciphertext);
      break;
    case 'placement': {
      const p = b.body;
      w.fixed(p.owner, PUBLIC_KEY_BYTES).fixed(p.objectId, OBJECT_ID_BYTES).u32(p.chunkIndex ?? WHOLE_OBJECT).u8(PLACEMENT_STATE[p.state]).u64(p.verifiedAt);
      if ('site' in p.holder) w.u8(1).fixed(p.holder.site, PUBLIC_KEY_BYTES);
      else w.u8(2).text16(p.holder.tierUrl, MAX_URL_BYTES);
      break;
    }
    case 'membership': {
      const m = b.body;
      checkMembership(m);
      w.u8(MEMBERSHIP_ACTION[m.action]).fixed(m.subject, PUBLIC_KEY_BYTES).bytes8(m.inviteId, MAX_INVITE_ID_BYTES)
        .fixed(m.introducer, PUBLIC_KEY_BYTES).u64(m.introducerSeq).u64(m.revokedAfterSeq).text16(m.name, MAX_NAME_BYTES);
      break;
    }
    case 'succession':
      w.fixed(b.body.newKey, PUBLIC_KEY_BYTES);
      break;
  }
  const body = w.done();
  if (body.length > MAX_BODY_BYTES) throw new SiteLogError('oversized', `a ${b.kind} body of ${body.length} bytes exceeds ${MAX_BODY_BYTES}`);
  return { kind: KIND[b.kind], body };
}

/** Which fields each action uses; the others must be empty, so each fact has one encoding. */
function checkMembership(m: MembershipBody): void {
  const bad = (why: string) => new SiteLogError('rule', `membership ${m.action}: ${why}`);
  if (m.action !== 'paired' && m.inviteId.length) throw bad('only a pairing names an invite');
  if (m.action === 'paired' && !m.inviteId.length) throw bad('a pairing names the invite used');
  if (m.action === 'introduced' ? isZero(m.introducer) || m.introducerSeq < 1 : !isZero(m.introducer) || m.introducerSeq !== 0) {
    throw bad('an introduction (and only it) names the introducer\'s entry');
  }
  if (m.action !== 'revoked' && m.revokedAfterSeq !== 0) throw bad('only a revocation has a cut-off');
}

/**
 * Strict decoder of a body of `kind` (bounded by the entry: at most MAX_BODY_BYTES). Unknown kinds
 * come back as `unknown` with their bytes: stored and passed on, never interpreted.
 */
export function decodeBody(kind: number, body: Buffer): Body {
  const name = kindName(kind) as KnownKind | string;
  const r = new ByteReader(body, `${name} body`);
  let out: Body;
  switch (name as KnownKind) {
    case 'siteRecord': {
      const formatVersion = r.u8();
      const alg = r.u8();
      if (alg !== KDF_ARGON2ID13) throw new SiteLogError('malformed', `unknown key derivation ${alg}`);
      out = { kind: 'siteRecord', body: { formatVersion, opslimit: r.u32(), memlimit: r.u64(), salt: r.fixed(16), keyCheck: r.fixed(32), recoveryPublicKey: r.fixed(PUBLIC_KEY_BYTES) } };
      break;
    }
    case 'objectSealed': {
      const objectId = r.fixed(OBJECT_ID_BYTES);
      const k = r.u8();
      const objectKind = OBJECT_KINDS.get(k);
      if (!objectKind) throw new SiteLogError('malformed', `unknown object kind ${k}`);
      const formatVersion = r.u8();
      const messageSize = r.u32();
      const chunkPlain = r.u32();
      const plainSize = r.u64();
      const cipherSize = r.u64();
      const cipherSha256 = r.fixed(32);
      const n = r.u32();
      if (n < 1 || n > MAX_CHUNKS) throw new SiteLogError('malformed', `an object has 1..${MAX_CHUNKS} chunks, not ${n}`);
      if (r.remaining !== n * 72) throw new SiteLogError('malformed', `${n} chunks need ${n * 72} bytes, the body has ${r.remaining}`);
      const chunks: SealedChunk[] = [];
      for (let i = 0; i < n; i++) chunks.push({ size: r.u64(), sha256: r.fixed(32), merkleRoot: r.fixed(32) });
      out = { kind: 'objectSealed', body: { objectId, objectKind, formatVersion, messageSize, chunkPlain, plainSize, cipherSize, cipherSha256, chunks } };
      break;
    }
    case 'catalogDelta': {
      const header = r.fixed(24);
      const ciphertext = r.rest();
      if (ciphertext.length < 17) throw new SiteLogError('malformed', 'a catalog delta holds at least one sealed message');
      out = { kind: 'catalogDelta', body: { header, ciphertext } };
      break;
    }
    case 'placement': {
      const owner = r.fixed(PUBLIC_KEY_BYTES);
      const objectId = r.fixed(OBJECT_ID_BYTES);
      const idx = r.u32();
      const st = r.u8();
      const state = st === 1 ? 'held' : st === 2 ? 'gone' : null;
      if (!state) throw new SiteLogError('malformed', `unknown placement state ${st}`);
      const verifiedAt = r.u64();
      const h = r.u8();
      let holder: PlacementHolder;
      if (h === 1) holder = { site: r.fixed(PUBLIC_KEY_BYTES) };
      else if (h === 2) {
        const tierUrl = r.text16(MAX_URL_BYTES);
        if (!tierUrl) throw new SiteLogError('malformed', 'an empty tier URL');
        holder = { tierUrl };
      } else throw new SiteLogError('malformed', `unknown holder type ${h}`);
      if (idx !== WHOLE_OBJECT && idx >= MAX_CHUNKS) throw new SiteLogError('malformed', `chunk index ${idx} out of range`);
      out = { kind: 'placement', body: { owner, objectId, chunkIndex: idx === WHOLE_OBJECT ? null : idx, holder, state, verifiedAt } };
      break;
    }
    case 'membership': {
      const a = r.u8();
      const action = (Object.keys(MEMBERSHIP_ACTION) as MembershipAction[]).find((k) => MEMBERSHIP_ACTION[k] === a);
      if (!action) throw new SiteLogError('malformed', `unknown membership action ${a}`);
      const m: MembershipBody = {
        action,
        subject: r.fixed(PUBLIC_KEY_BYTES),
        inviteId: r.bytes8(MAX_INVITE_ID_BYTES),
        introducer: r.fixed(PUBLIC_KEY_BYTES),
        introducerSeq: r.u64(),
        revokedAfterSeq: r.u64(),
        name: r.text16(MAX_NAME_BYTES),
      };
      try {
        checkMembership(m);
      } catch (err) {
        throw new SiteLogError('malformed', (err as Error).message);
      }
      out = { kind: 'membership', body: m };
      break;
    }
    case 'succession':
      out = { kind: 'succession', body: { newKey: r.fixed(PUBLIC_KEY_BYTES) } };
      break;
    default:
      return { kind: 'unknown', number: kind, body };
  }
  r.end();
  return out;
}
