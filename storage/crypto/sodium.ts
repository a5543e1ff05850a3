import { createRequire } from 'node:module';

/**
 * One libsodium for the whole program: sodium-native (the C library, ~5x faster) when its addon
 * loads, libsodium-wrappers-sumo (WebAssembly) otherwise. Both implement the same primitives, so
 * objects written with one are read with the other; test/crypto/vectors proves it byte for byte.
 * `LOMO_SODIUM=wasm` (or `native`) forces a backend, which the tests use.
 *
 * The facade works on Uint8Arrays and hides the two APIs' differences (native writes into caller
 * buffers, wasm returns new arrays). Secretstream states are opaque handles.
 */
export type Backend = 'native' | 'wasm';

export const SS_HEADERBYTES = 24;
export const SS_ABYTES = 17;
export const KEYBYTES = 32;
/** Secretstream tags (libsodium's values, stored in every message). */
export const TAG = { MESSAGE: 0, PUSH: 1, REKEY: 2, FINAL: 3 } as const;

export interface PullResult {
  /** The plaintext (a view into `out` when one was passed). */
  message: Uint8Array;
  tag: number;
}

export interface StreamState {
  readonly __state: unique symbol;
}

export interface Sodium {
  readonly backend: Backend;
  randomBytes(n: number): Uint8Array;
  /** Argon2id v1.3 (crypto_pwhash with ALG_ARGON2ID13), 32-byte output. */
  argon2id(password: Uint8Array, salt: Uint8Array, opslimit: number, memlimit: number): Uint8Array;
  /** The same off the calling thread where the library can (native: libuv's thread pool), so the caller can do other work meanwhile. */
  argon2idAsync(password: Uint8Array, salt: Uint8Array, opslimit: number, memlimit: number): Promise<Uint8Array>;
  /** crypto_kdf_derive_from_key (BLAKE2b based): 32-byte subkey `id` of `key` in 8-char `context`. */
  kdfDerive(key: Uint8Array, id: number, context: string): Uint8Array;
  /** BLAKE2b (crypto_generichash) with an optional key. */
  blake2b(outLen: number, message: Uint8Array, key?: Uint8Array): Uint8Array;
  pushInit(key: Uint8Array): { state: StreamState; header: Uint8Array };
  /** Encrypts one message; returns ciphertext of message.length + 17 bytes (in `out` if given). */
  push(state: StreamState, message: Uint8Array, ad: Uint8Array | null, tag: number, out?: Uint8Array): Uint8Array;
  pullInit(header: Uint8Array, key: Uint8Array): StreamState;
  /** Decrypts one message; null when it does not authenticate. */
  pull(state: StreamState, cipher: Uint8Array, ad: Uint8Array | null, out?: Uint8Array): PullResult | null;
}

const require = createRequire(import.meta.url);

/** Module paths the worker threads load (they cannot share the main thread's instance). */
export function sodiumModulePaths(): { native: string; wasm: string } {
  return { native: require.resolve('sodium-native'), wasm: require.resolve('libsodium-wrappers-sumo') };
}

const loaded = new Map<Backend, Sodium>();

/** The preferred backend: LOMO_SODIUM if set, else native when it loads. */
export async function loadSodium(prefer?: Backend): Promise<Sodium> {
  const want = prefer ?? (process.env.LOMO_SODIUM as Backend | undefined);
  if (want === 'wasm') return loadWasm();
  if (want === 'native') return loadNative();
  try {
    return await loadNative();
  } catch {
    return loadWasm();
  }
}

export async function loadNative(): Promise<Sodium> {
  const have = loaded.get('native');
  if (have) return have;
  const n = require('sodium-native');
  const s: Sodium = {
    backend: 'native',
    randomBytes(len) {
      const b = Buffer.alloc(len);
      n.randombytes_buf(b);
      return b;
    },
    argon2id(password, salt, opslimit, memlimit) {
      const out = Buffer.alloc(KEYBYTES);
      n.crypto_pwhash(out, buf(password), buf(salt), opslimit, memlimit, n.crypto_pwhash_ALG_ARGON2ID13);
      return out;
    },
    argon2idAsync(password, salt, opslimit, memlimit) {
      const out = Buffer.alloc(KEYBYTES);
      return new Promise((resolve, reject) =>
        n.crypto_pwhash_async(out, buf(password), buf(salt), opslimit, memlimit, n.crypto_pwhash_ALG_ARGON2ID13, (err: Error | null) => (err ? reject(err) : resolve(out))),
      );
    },
    kdfDerive(key, id, context) {
      const out = Buffer.alloc(KEYBYTES);
      n.crypto_kdf_derive_from_key(out, id, Buffer.from(context, 'latin1'), buf(key));
      return out;
    },
    blake2b(outLen, message, key) {
      const out = Buffer.alloc(outLen);
      if (key) n.crypto_generichash(out, buf(message), buf(key));
      else n.crypto_generichash(out, buf(message));
      return out;
    },
    pushInit(key) {
      const state = Buffer.alloc(n.crypto_secretstream_xchacha20poly1305_STATEBYTES);
      const header = Buffer.alloc(SS_HEADERBYTES);
      n.crypto_secretstream_xchacha20poly1305_init_push(state, header, buf(key));
      return { state: state as unknown as StreamState, header };
    },
    push(state, message, ad, tag, out) {
      const c = out ? buf(out).subarray(0, message.length + SS_ABYTES) : Buffer.alloc(message.length + SS_ABYTES);
      n.crypto_secretstream_xchacha20poly1305_push(state, c, buf(message), ad ? buf(ad) : null, tag);
      return c;
    },
    pullInit(header, key) {
      const state = Buffer.alloc(n.crypto_secretstream_xchacha20poly1305_STATEBYTES);
      n.crypto_secretstream_xchacha20poly1305_init_pull(state, buf(header), buf(key));
      return state as unknown as StreamState;
    },
    pull(state, cipher, ad, out) {
      if (cipher.length < SS_ABYTES) return null;
      const m = out ? buf(out).subarray(0, cipher.length - SS_ABYTES) : Buffer.alloc(cipher.length - SS_ABYTES);
      const tag = Buffer.alloc(1);
      try {
        n.crypto_secretstream_xchacha20poly1305_pull(state, m, tag, buf(cipher), ad ? buf(ad) : null);
      } catch {
        return null;
      }
      return { message: m, tag: tag[0]! };
    },
  };
  loaded.set('native', s);
  return s;
}

export async function loadWasm(): Promise<Sodium> {
  const have = loaded.get('wasm');
  if (have) return have;
  const w = require('libsodium-wrappers-sumo');
  await w.ready;
  const s: Sodium = {
    backend: 'wasm',
    randomBytes: (len) => w.randombytes_buf(len),
    argon2id: (password, salt, opslimit, memlimit) =>
      w.crypto_pwhash(KEYBYTES, password, salt, opslimit, memlimit, w.crypto_pwhash_ALG_ARGON2ID13),
    argon2idAsync: async (password, salt, opslimit, memlimit) =>
      w.crypto_pwhash(KEYBYTES, password, salt, opslimit, memlimit, w.crypto_pwhash_ALG_ARGON2ID13),
    kdfDerive: (key, id, context) => w.crypto_kdf_derive_from_key(KEYBYTES, id, context, key),
    blake2b: (outLen, message, key) => w.crypto_generichash(outLen, message, key ?? null),
    pushInit(key) {
      const r = w.crypto_secretstream_xchacha20poly1305_init_push(key);
      return { state: r.state as StreamState, header: r.header };
    },
    push(state, message, ad, tag, out) {
      const c: Uint8Array = w.crypto_secretstream_xchacha20poly1305_push(state, message, ad, tag);
      if (!out) return c;
      out.set(c);
      return out.subarray(0, c.length);
    },
    pullInit: (header, key) => w.crypto_secretstream_xchacha20poly1305_init_pull(header, key) as StreamState,
    pull(state, cipher, ad, out) {
      let r: { message: Uint8Array; tag: number } | false;
      try {
        r = w.crypto_secretstream_xchacha20poly1305_pull(state, cipher, ad);
      } catch {
        return null;
      }
      if (!r) return null;
      let message = r.message;
      if (out) {
        out.set(message);
        message = out.subarray(0, message.length);
      }
      return { message, tag: r.tag };
    },
  };
  loaded.set('wasm', s);
  return s;
}

function buf(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}
