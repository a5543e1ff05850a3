import { describe, expect, it } from 'vitest';
import { multiaddr } from '@multiformats/multiaddr';
import { decodeInviteCode, encodeInviteCode } from '../../protocol/pairing/code.js';
import { checkProof, makeProof, type Transcript } from '../../protocol/pairing/proof.js';

const PEER = '12D3KooWFDtyYDvHXJ4ZTY1GvJjfcyTdhWWo3oncFQDQYK2KPE2B';
const OTHER = '12D3KooWSp2N55gzFpy6mp7ZekbcSrw8CToqsyGpyHSMxyhrtzNA';

const sample = {
  inviterPeerId: PEER,
  addrs: [multiaddr('/ip4/192.168.1.20/tcp/4710'), multiaddr('/ip4/203.0.113.5/tcp/4710/p2p/' + OTHER + '/p2p-circuit')],
  inviteId: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]),
  secret: new Uint8Array(16).fill(0xab),
  expiresAt: 1_900_000_000_000,
};

describe('invitation code', () => {
  const code = encodeInviteCode(sample);

  it('round-trips, survives chat line wrapping and upper case', () => {
    expect(code).toMatch(/^lomo1[a-z2-7]+$/);
    const wrapped = code.replace(/(.{40})/g, '$1\n  ').toUpperCase();
    const d = decodeInviteCode(wrapped);
    expect(d.inviterPeerId).toBe(PEER);
    expect(d.addrs.map(String)).toEqual(sample.addrs.map(String));
    expect(Buffer.from(d.secret).equals(Buffer.from(sample.secret))).toBe(true);
    expect(d.expiresAt).toBe(sample.expiresAt);
  });

  it('tells truncated, garbled, foreign and padded codes apart', () => {
    expect(() => decodeInviteCode(code.slice(0, -10))).toThrow(/truncated/);
    expect(() => decodeInviteCode(code.slice(0, 12))).toThrow(/truncated/);
    const flipped = code.slice(0, 30) + (code[30] === 'a' ? 'b' : 'a') + code.slice(31);
    expect(() => decodeInviteCode(flipped)).toThrow(/garbled/);
    expect(() => decodeInviteCode(code.slice(0, 20) + '0' + code.slice(21))).toThrow(/garbled/);
    expect(() => decodeInviteCode('hello there')).toThrow(/not a lomo-peer invitation code/);
    expect(() => decodeInviteCode('')).toThrow(/empty/);
    expect(() => decodeInviteCode('lomo2abc')).toThrow(/version/);
    expect(() => decodeInviteCode(code + 'aaaa')).toThrow(/extra characters/);
  });
});

describe('pairing proofs', () => {
  const t: Transcript = {
    inviteId: sample.inviteId,
    inviterPeerId: PEER,
    joinerPeerId: OTHER,
    joinerNonce: new Uint8Array(32).fill(1),
    inviterNonce: new Uint8Array(32).fill(2),
  };
  it('verify only with the same secret, role, peer ids and nonces', () => {
    const p = makeProof(sample.secret, 'joiner', t);
    expect(checkProof(sample.secret, 'joiner', t, p)).toBe(true);
    expect(checkProof(sample.secret, 'inviter', t, p)).toBe(false); // a reflected proof fails
    expect(checkProof(new Uint8Array(16), 'joiner', t, p)).toBe(false);
    // A relaying man in the middle appears with its own peer id on one side.
    expect(checkProof(sample.secret, 'joiner', { ...t, joinerPeerId: PEER }, p)).toBe(false);
    expect(checkProof(sample.secret, 'joiner', { ...t, inviterNonce: new Uint8Array(32) }, p)).toBe(false);
    expect(Buffer.from(p).includes(Buffer.from(sample.secret))).toBe(false);
  });
});
