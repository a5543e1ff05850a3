/** Helpers of the site log tests: keys from seeded randomness, temp catalogs, logs built in memory. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openCatalog, type Db } from '../../storage/catalog/db.js';
import { saveSiteKeys } from '../../storage/objects/catalog.js';
import { encodeBody, type Body } from '../../storage/sitelog/body.js';
import { ZERO_HASH, type SiteLogEntry } from '../../storage/sitelog/entry.js';
import { signEntry, signingKeyFromSeed, type SigningKey } from '../../storage/sitelog/sign.js';
import { siteIdOfKey } from '../../storage/sitelog/site-id.js';
import type { Random } from '../support/random.js';

export type Typed = Exclude<Body, { kind: 'unknown' }>;

export function keyFrom(r: Random): SigningKey {
  return signingKeyFromSeed(r.bytes(32));
}

const dirs: string[] = [];
export function tempCatalog(localKey?: SigningKey): Db {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lomo-sitelog-'));
  dirs.push(dir);
  const db = openCatalog(path.join(dir, 'lomob.db'));
  if (localKey) {
    saveSiteKeys(db, {
      siteId: siteIdOfKey(localKey.publicKey),
      formatVersion: 1,
      kdf: { alg: 'argon2id13', opslimit: 3, memlimit: 64 * 1024 * 1024, salt: Buffer.alloc(16, 1) },
      keyCheck: Buffer.alloc(32, 2),
      objectsUrl: `file://${dir}/objects`,
      createdAt: 1,
    });
  }
  return db;
}
export function cleanup(): void {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

/** A log kept in memory, as a remote site writes it. */
export class MemLog {
  entries: SiteLogEntry[] = [];
  signer: SigningKey;
  constructor(
    readonly key: SigningKey,
    readonly recovery?: SigningKey,
  ) {
    this.signer = key;
  }
  get siteId(): string {
    return siteIdOfKey(this.key.publicKey);
  }
  append(b: Typed, time = 1_700_000_000_000 + this.entries.length): SiteLogEntry {
    const { kind, body } = encodeBody(b);
    return this.appendRaw(kind, body, time, b.kind === 'succession' ? this.recovery! : this.signer);
  }
  appendRaw(kind: number, body: Buffer, time = 1_700_000_000_000 + this.entries.length, signer = this.signer): SiteLogEntry {
    const last = this.entries[this.entries.length - 1];
    const e = signEntry({ kind, origin: this.key.publicKey, seq: this.entries.length + 1, prev: last ? last.hash : ZERO_HASH, time, body }, signer);
    this.entries.push(e);
    return e;
  }
}

export function sealedObject(r: Random, chunks = 2): Typed {
  return {
    kind: 'objectSealed',
    body: {
      objectId: r.bytes(16),
      objectKind: 'volume',
      formatVersion: 1,
      messageSize: 1 << 20,
      chunkPlain: 8 << 20,
      plainSize: 1000 * chunks,
      cipherSize: 1100 * chunks,
      cipherSha256: r.bytes(32),
      chunks: Array.from({ length: chunks }, () => ({ size: 1100, sha256: r.bytes(32), merkleRoot: r.bytes(32) })),
    },
  };
}

export function membership(action: 'paired' | 'revoked', subject: Buffer, opts: { after?: number; name?: string } = {}): Typed {
  return {
    kind: 'membership',
    body: {
      action,
      subject,
      inviteId: action === 'paired' ? Buffer.alloc(8, 7) : Buffer.alloc(0),
      introducer: ZERO_HASH,
      introducerSeq: 0,
      revokedAfterSeq: action === 'revoked' ? (opts.after ?? 0) : 0,
      name: opts.name ?? '',
    },
  };
}

export function count(db: Db, table: string): number {
  return db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;
}
