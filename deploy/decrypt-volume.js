#!/usr/bin/env node
// Independent decryptor for lomo-peer object format v1 (docs/crypto-format.md), libsodium-wrappers only.
// usage: LOMOB_MASTER_KEY=... node decrypt-volume.js <recovery-kit.txt> <object folder of chunks> <out file>
import fs from 'node:fs';
import path from 'node:path';
import sodium from 'libsodium-wrappers-sumo';

const [kitFile, objDir, outFile] = process.argv.slice(2);
const pass = process.env.LOMOB_MASTER_KEY;
if (!kitFile || !objDir || !outFile || !pass) {
  console.error('usage: LOMOB_MASTER_KEY=... node decrypt-volume.js <recovery-kit.txt> <object folder> <out file>');
  process.exit(2);
}
const tmp = `${outFile}.part`;
// Errors end with a message and exit code (6 wrong passphrase, 7 damaged data, 1 other), no stack trace.
const fail = (msg, code = 1) => { fs.rmSync(tmp, { force: true }); console.error(`decrypt-volume: ${msg}`); process.exit(code); };
process.on('uncaughtException', (e) => fail(e.message));
await sodium.ready;
const kit = fs.readFileSync(kitFile, 'utf8');
const field = (n) => (new RegExp(`^${n}:\\s*(\\S+)`, 'm').exec(kit) ?? fail(`${kitFile} is not a recovery kit (no ${n} line)`))[1];
const master = sodium.crypto_pwhash(32, Buffer.from(pass.normalize('NFC')), Buffer.from(field('kdf-salt'), 'hex'),
  Number(field('kdf-opslimit')), Number(field('kdf-memlimit')), sodium.crypto_pwhash_ALG_ARGON2ID13);
const check = sodium.crypto_generichash(32, Buffer.from('lomo-peer key check v1'), sodium.crypto_kdf_derive_from_key(32, 1, 'lomochk1', master));
if (Buffer.from(check).toString('hex') !== field('key-check')) fail('wrong passphrase (it does not match the key check of the recovery kit)', 6);
const die = (i, why) => fail(`chunk ${i}: ${why}; nothing was written`, 7);

const chunks = fs.readdirSync(objDir).filter((n) => /^\d{5}$/.test(n)).sort();
const out = fs.openSync(tmp, 'w');
let objectId = null;
for (let i = 0; i < chunks.length; i++) {
  if (chunks[i] !== String(i).padStart(5, '0')) die(i, 'missing');
  const c = fs.readFileSync(path.join(objDir, chunks[i]));
  const h = c.subarray(0, 64);
  if (c.length < 64) die(i, 'truncated header');
  if (h.subarray(0, 8).toString('latin1') !== 'LOMOOBJ\0' || h[8] !== 1) die(i, 'not a format v1 chunk');
  const kind = h[9], msgSize = h.readUInt32LE(12), index = h.readUInt32LE(20), id = h.subarray(24, 40);
  objectId ??= Buffer.from(id);
  if (index !== i || !objectId.equals(id)) die(i, 'wrong object or position');
  const domain = sodium.crypto_kdf_derive_from_key(32, kind === 3 ? 2 : 3, kind === 3 ? 'lomocat1' : 'lomoobj1', master);
  const key = sodium.crypto_generichash(32, id, domain);
  const st = sodium.crypto_secretstream_xchacha20poly1305_init_pull(h.subarray(40, 64), key);
  for (let off = 64, m = 0; off < c.length; off += msgSize + 17, m++) {
    const r = sodium.crypto_secretstream_xchacha20poly1305_pull(st, c.subarray(off, off + msgSize + 17), m === 0 ? h : null);
    if (!r) die(i, `message ${m} does not authenticate`);
    const end = off + msgSize + 17 >= c.length;
    const want = !end ? 0 : i === chunks.length - 1 ? 3 : 1; // MESSAGE, FINAL on the last chunk, PUSH before
    if (r.tag !== want) die(i, end && want === 3 ? 'object truncated' : 'bad tag');
    fs.writeSync(out, r.message);
  }
}
if (!chunks.length) die(0, 'missing');
fs.fsyncSync(out);
fs.closeSync(out);
fs.renameSync(tmp, outFile);
console.log(`decrypted ${chunks.length} chunks of object ${objectId.toString('hex')} into ${outFile}`);
