import type { KdfParams } from './keys.js';

/**
 * The printable recovery kit: everything besides the passphrase and the objects that is needed to
 * get the data back (site id, KDF parameters, salt, format version). It holds no secret: without the
 * passphrase it is useless, and the passphrase is never written anywhere. Its salt and key check
 * do let whoever reads it test passphrase guesses offline (one Argon2id run each), so the copy in
 * the data folder is private (mode 0600, node/commands/init.ts). deploy/decrypt-volume.js reads
 * this same text.
 */
export interface RecoveryKit {
  siteId: string;
  formatVersion: number;
  kdf: KdfParams;
  keyCheck: Uint8Array;
  objectsUrl: string;
  createdAt: number;
}

export function formatRecoveryKit(k: RecoveryKit): string {
  return [
    'LOMO-PEER RECOVERY KIT',
    'Print this page and keep it with your passphrase (never on the same paper or device).',
    'With it, the passphrase and a copy of the encrypted objects, docs/crypto-format.md or',
    'deploy/decrypt-volume.js gets every volume back, even without lomo-peer.',
    '',
    `site-id: ${k.siteId}`,
    `format-version: ${k.formatVersion}`,
    `kdf: ${k.kdf.alg}`,
    `kdf-opslimit: ${k.kdf.opslimit}`,
    `kdf-memlimit: ${k.kdf.memlimit}`,
    `kdf-salt: ${Buffer.from(k.kdf.salt).toString('hex')}`,
    `key-check: ${Buffer.from(k.keyCheck).toString('hex')}`,
    `objects: ${k.objectsUrl}`,
    `created: ${new Date(k.createdAt).toISOString()}`,
    '',
  ].join('\n');
}

export function parseRecoveryKit(text: string): RecoveryKit {
  const field = (name: string): string => {
    const m = new RegExp(`^${name}:\\s*(.+)$`, 'm').exec(text);
    if (!m) throw new Error(`recovery kit has no "${name}:" line`);
    return m[1]!.trim();
  };
  return {
    siteId: field('site-id'),
    formatVersion: Number(field('format-version')),
    kdf: {
      alg: field('kdf') as KdfParams['alg'],
      opslimit: Number(field('kdf-opslimit')),
      memlimit: Number(field('kdf-memlimit')),
      salt: Buffer.from(field('kdf-salt'), 'hex'),
    },
    keyCheck: Buffer.from(field('key-check'), 'hex'),
    objectsUrl: field('objects'),
    createdAt: Date.parse(field('created')),
  };
}
