import fs from 'node:fs';
import path from 'node:path';
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import type { PrivateKey, PeerId } from '@libp2p/interface';
import { EXIT, UserError } from './exit-codes.js';
import { IDENTITY_FILE } from './local-files.js';

/**
 * A site's persistent libp2p identity: one Ed25519 key in `<data-dir>/identity.key` (protobuf,
 * mode 0600). Its peer id is the site id everywhere (catalog, logs, recovery kit, peers' lists).
 */
export { IDENTITY_FILE };

export interface SiteIdentity {
  privateKey: PrivateKey;
  peerId: PeerId;
  /** The peer id as text: the site id. */
  siteId: string;
}

export async function loadOrCreateIdentity(dataDir: string): Promise<SiteIdentity> {
  const existing = loadIdentity(dataDir);
  if (existing) return existing;
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const privateKey = await generateKeyPair('Ed25519');
  const file = path.join(dataDir, IDENTITY_FILE);
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'wx', 0o600);
  try {
    fs.writeSync(fd, privateKeyToProtobuf(privateKey));
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    // link() fails if another process created the identity meanwhile: then theirs wins.
    fs.linkSync(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  return loadIdentity(dataDir)!;
}

/** The identity if the site has one; null if not created yet. */
export function loadIdentity(dataDir: string): SiteIdentity | null {
  const file = path.join(dataDir, IDENTITY_FILE);
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new UserError(`cannot read site identity ${file}: ${(err as Error).message}`, EXIT.INPUT);
  }
  let privateKey: PrivateKey;
  try {
    privateKey = privateKeyFromProtobuf(bytes);
  } catch {
    throw new UserError(`site identity ${file} is corrupt; restore it from a backup of the data folder`, EXIT.INPUT);
  }
  const peerId = peerIdFromPrivateKey(privateKey);
  return { privateKey, peerId, siteId: peerId.toString() };
}
