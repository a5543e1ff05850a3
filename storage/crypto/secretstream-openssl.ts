import { addonPath, loadAddon } from './addons.js';

/**
 * libsodium's secretstream push on OpenSSL's ChaCha20 and Poly1305, through the project's own addon
 * (storage/crypto/secretstream-native: built by `npm ci` as an optional dependency, linked against
 * the OpenSSL inside Node). Same bytes as libsodium's push, same 52-byte state (sodium-native's
 * crypto_secretstream_xchacha20poly1305_state), about twice as fast here: 3.7 GB/s per core against
 * 1.8, because OpenSSL has AVX-512 code for both primitives. The encryption workers use it for the
 * bulk of a volume (encrypt-pool.ts); streams are still set up by libsodium and every decryption
 * stays with libsodium. test/crypto/secretstream-openssl.test.ts checks it against both libsodiums.
 *
 * Missing addon, an OpenSSL without ChaCha20/Poly1305 (FIPS mode): `secretstreamPushPath()` is null
 * and sodium-native pushes. LOMO_SECRETSTREAM=sodium forces that (tests cover both).
 */
export interface OpenSslPush {
  supported(): boolean;
  /** As sodium-native's crypto_secretstream_xchacha20poly1305_push(state, out, message, ad, tag); out and message must not overlap. */
  push(state: Uint8Array, out: Uint8Array, message: Uint8Array, ad: Uint8Array | null, tag: number): void;
}

/** The addon's module path when it loads and its OpenSSL has both primitives, else null. */
export function secretstreamPushPath(): string | null {
  return addonPath('lomo-secretstream', process.env.LOMO_SECRETSTREAM === 'sodium');
}

export function loadOpenSslPush(): OpenSslPush | null {
  return loadAddon<OpenSslPush>('lomo-secretstream', process.env.LOMO_SECRETSTREAM === 'sodium');
}
