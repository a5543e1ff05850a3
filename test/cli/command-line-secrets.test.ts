import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import { cli, runCli, tempDir } from '../support/cli.js';
import { encodeInviteCode, INVITE_ID_BYTES, SECRET_BYTES } from '../../protocol/pairing/code.js';

/**
 * Issue 13, point 6: a command line is readable by every local user (/proc/<pid>/cmdline), so the
 * passphrase can come from a file (`--passphrase-file`) and the invitation code from standard input.
 */
const PASS = 'correct horse battery staple';
const NO_ENV = { LOMOB_MASTER_KEY: undefined };

let root: string;
let cleanup: () => void;
beforeAll(() => ({ dir: root, cleanup } = tempDir('lomo-cmdline-')));
afterAll(() => cleanup());

function secretFile(name: string, text: string, mode = 0o600): string {
  const f = path.join(root, name);
  fs.writeFileSync(f, text, { mode });
  fs.chmodSync(f, mode);
  return f;
}

describe('--passphrase-file', () => {
  it('init, iso create: the first line is the passphrase; a wrong one exits 6; a missing file 3; -k with it 2', async () => {
    const db = path.join(root, 'site', 'lomob.db');
    // Second line and CRLF: only the first line counts, without its line end.
    const good = secretFile('pass.txt', `${PASS}\r\nnot part of it\n`);
    const init = await cli(['--db', db, 'init', '--passphrase-file', good], { env: NO_ENV });
    expect(init.code, init.stderr).toBe(0);
    expect(init.stderr).not.toMatch(/WARN/);

    fs.mkdirSync(path.join(root, 'pics'));
    fs.writeFileSync(path.join(root, 'pics', 'a.jpg'), 'not really a photo');
    expect((await cli(['--db', db, 'scan', path.join(root, 'pics')])).code).toBe(0);
    const iso = (extra: string[]) => cli(['--db', db, 'iso', 'create', '--partial', ...extra], { env: NO_ENV });

    const wrong = await iso(['--passphrase-file', secretFile('wrong.txt', 'correct horse battery stapler\n')]);
    expect(wrong.code, wrong.stderr).toBe(6);
    expect(wrong.stderr).toMatch(/wrong passphrase/i);

    const missing = await iso(['--passphrase-file', path.join(root, 'nowhere.txt')]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain(`cannot read --passphrase-file ${path.join(root, 'nowhere.txt')}: ENOENT`);

    const both = await iso(['-k', PASS, '--passphrase-file', good]);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/mutually exclusive/);

    // A file others can read still works, with a warning naming the fix; the same passphrase as -k.
    const loose = secretFile('loose.txt', `${PASS}\n`, 0o644);
    const ok = await iso(['--passphrase-file', loose]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toContain(`--passphrase-file ${loose} can be read by other local users (mode 0644): chmod 600 ${loose}`);
  });

  it('every command that takes -k offers --passphrase-file, and says -k is discouraged', () => {
    const withKey: string[] = [];
    const walk = (words: string[]) => {
      const r = runCli([...words, '--help']);
      expect(r.code, `${words.join(' ')} --help: ${r.stderr}`).toBe(0);
      if (r.stdout.includes('--encrypt-key')) {
        withKey.push(words.join(' '));
        expect(r.stdout, words.join(' ')).toContain('--passphrase-file');
        expect(r.stdout.replace(/\s+/g, ' '), words.join(' ')).toMatch(/lomob-compatible, discouraged/);
      }
      const section = r.stdout.split(/\n(?=Commands:)/)[1];
      if (!section) return;
      // `  lomo-peer iso create [name]  Group scanned...`: the syntax ends at the column gap.
      for (const m of section.split(/\n\n/)[0]!.matchAll(/^ {2}lomo-peer (.+?)(?: {2,}|$)/gm)) {
        const sub = m[1]!.split(' ').filter((w) => !w.startsWith('<') && !w.startsWith('['));
        if (sub.length === words.length + 1) walk(sub);
      }
    };
    walk([]);
    expect(withKey).toEqual(expect.arrayContaining(['init', 'iso create', 'restore file', 'restore volume', 'upload iso']));
  });
});

describe('join reads the invitation code from standard input', () => {
  async function code(expiresAt: number): Promise<string> {
    const peerId = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString();
    return encodeInviteCode({
      inviterPeerId: peerId,
      addrs: [multiaddr('/ip4/127.0.0.1/tcp/9')],
      inviteId: randomBytes(INVITE_ID_BYTES),
      secret: randomBytes(SECRET_BYTES),
      expiresAt,
    });
  }
  const db = () => path.join(root, 'joiner', 'lomob.db');

  it('`join -` and `join` with piped input decode the whole code, as `join <code>` does', async () => {
    // An expired code: decoding it all (down to the expiry) is what the error proves.
    const expired = await code(Date.now() - 60_000);
    const garbled = expired.slice(0, 40) + (expired[40] === 'q' ? 'r' : 'q') + expired.slice(41);
    for (const [text, msg] of [[expired, /this invitation expired at/], [garbled, /garbled/]] as const) {
      const onLine = await cli(['--db', db(), 'join', text]);
      const dash = await cli(['--db', db(), 'join', '-'], { input: `${text}\n` });
      const piped = await cli(['--db', db(), 'join'], { input: `\n  ${text}\n` });
      for (const r of [onLine, dash, piped]) {
        expect(r.code, r.stderr).toBe(8);
        expect(r.stderr).toMatch(msg);
        expect(r.stderr).toBe(onLine.stderr);
      }
    }
  });

  it('`join` with nothing on standard input is a usage error', async () => {
    const r = await cli(['--db', db(), 'join']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no invitation code: name it \(join <code>\) or give it on standard input/);
  });
});
