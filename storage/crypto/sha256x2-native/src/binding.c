/*
 * Node binding for sha256_ni.c: SHA-256 states kept in 112-byte buffers owned by JavaScript, fed
 * one at a time (update) or two at once (update2: two states, each with its own data, hashed
 * interleaved). storage/crypto/sha256x2.ts wraps it and falls back to node:crypto when this addon
 * is missing or the CPU lacks the SHA extensions or AVX2.
 *
 * State buffer layout (host byte order): h[8] u32 | total bytes u64 | fill u32 | pad u32 | block[64].
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <stdint.h>
#include <string.h>
#include "sha256_ni.h"

typedef struct {
  uint32_t h[8];
  uint64_t total;
  uint32_t fill;
  uint32_t pad;
  uint8_t block[64];
} state_t;

_Static_assert(sizeof(state_t) == 112, "state layout");

static const uint32_t IV[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

static int cpu_supported(void) {
#if defined(__x86_64__)
  unsigned int eax, ebx, ecx, edx;
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("ssse3") || !__builtin_cpu_supports("sse4.1")) return 0;
  __asm__ volatile("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx) : "a"(7), "c"(0));
  return (ebx >> 29) & 1; /* CPUID.(EAX=7,ECX=0):EBX.SHA[bit 29] */
#else
  return 0;
#endif
}

/* Feeds bytes to one state: completes its partial block, whole blocks, then buffers the rest. */
static void update1(state_t *s, const uint8_t *p, size_t n) {
  s->total += n;
  if (s->fill) {
    size_t k = 64 - s->fill < n ? 64 - s->fill : n;
    memcpy(s->block + s->fill, p, k);
    s->fill += (uint32_t)k;
    p += k;
    n -= k;
    if (s->fill < 64) return;
    sha256ni_blocks(s->h, s->block, 1);
    s->fill = 0;
  }
  if (n >= 64) {
    sha256ni_blocks(s->h, p, n / 64);
    p += n & ~(size_t)63;
    n &= 63;
  }
  memcpy(s->block, p, n);
  s->fill = (uint32_t)n;
}

/* Completes a state's partial block from its data; returns how many bytes that took. */
static size_t top_up(state_t *s, const uint8_t *p, size_t n) {
  if (!s->fill) return 0;
  size_t k = 64 - s->fill < n ? 64 - s->fill : n;
  memcpy(s->block + s->fill, p, k);
  s->fill += (uint32_t)k;
  s->total += k;
  if (s->fill == 64) {
    sha256ni_blocks(s->h, s->block, 1);
    s->fill = 0;
  }
  return k;
}

static void update2(state_t *a, const uint8_t *pa, size_t na, state_t *b, const uint8_t *pb, size_t nb) {
  size_t k = top_up(a, pa, na);
  pa += k, na -= k;
  k = top_up(b, pb, nb);
  pb += k, nb -= k;
  if (!a->fill && !b->fill) {
    size_t blocks = (na < nb ? na : nb) / 64;
    if (blocks) {
      sha256ni_blocks2(a->h, pa, b->h, pb, blocks);
      a->total += blocks * 64, b->total += blocks * 64;
      pa += blocks * 64, na -= blocks * 64;
      pb += blocks * 64, nb -= blocks * 64;
    }
  }
  update1(a, pa, na);
  update1(b, pb, nb);
}

static void digest(state_t *s, uint8_t out[32]) {
  uint64_t bits = s->total * 8;
  uint8_t tail[128];
  size_t len = s->fill < 56 ? 64 : 128;
  memset(tail, 0, sizeof tail);
  memcpy(tail, s->block, s->fill);
  tail[s->fill] = 0x80;
  for (int i = 0; i < 8; i++) tail[len - 1 - i] = (uint8_t)(bits >> (8 * i));
  sha256ni_blocks(s->h, tail, len / 64);
  for (int i = 0; i < 8; i++) {
    out[4 * i] = (uint8_t)(s->h[i] >> 24);
    out[4 * i + 1] = (uint8_t)(s->h[i] >> 16);
    out[4 * i + 2] = (uint8_t)(s->h[i] >> 8);
    out[4 * i + 3] = (uint8_t)s->h[i];
  }
}

/* ---- N-API glue ---- */

#define CHECK(call) \
  do { \
    if ((call) != napi_ok) { \
      napi_throw_error(env, NULL, "sha256x2: " #call " failed"); \
      return NULL; \
    } \
  } while (0)

static int bytes_of(napi_env env, napi_value v, uint8_t **data, size_t *len) {
  napi_typedarray_type type;
  napi_value ab;
  size_t offset;
  bool is_ta = false;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) return 0;
  if (napi_get_typedarray_info(env, v, &type, len, (void **)data, &ab, &offset) != napi_ok || type != napi_uint8_array) return 0;
  return 1;
}

static state_t *state_of(napi_env env, napi_value v) {
  uint8_t *p;
  size_t n;
  if (!bytes_of(env, v, &p, &n) || n != sizeof(state_t)) {
    napi_throw_type_error(env, NULL, "sha256x2: a state must be a 112-byte Uint8Array");
    return NULL;
  }
  return (state_t *)p;
}

static napi_value js_supported(napi_env env, napi_callback_info info) {
  napi_value r;
  CHECK(napi_get_boolean(env, cpu_supported(), &r));
  return r;
}

static napi_value js_init(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  state_t *s = argc == 1 ? state_of(env, argv[0]) : NULL;
  if (!s) return NULL;
  memcpy(s->h, IV, sizeof IV);
  s->total = 0;
  s->fill = 0;
  return NULL;
}

static napi_value js_update(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  uint8_t *p;
  size_t n;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  state_t *s = argc == 2 ? state_of(env, argv[0]) : NULL;
  if (!s) return NULL;
  if (!bytes_of(env, argv[1], &p, &n)) {
    napi_throw_type_error(env, NULL, "sha256x2: data must be a Uint8Array");
    return NULL;
  }
  update1(s, p, n);
  return NULL;
}

static napi_value js_update2(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  uint8_t *pa, *pb;
  size_t na, nb;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 4) {
    napi_throw_type_error(env, NULL, "sha256x2: update2(stateA, dataA, stateB, dataB)");
    return NULL;
  }
  state_t *a = state_of(env, argv[0]);
  if (!a) return NULL;
  state_t *b = state_of(env, argv[2]);
  if (!b) return NULL;
  if (a == b || !bytes_of(env, argv[1], &pa, &na) || !bytes_of(env, argv[3], &pb, &nb)) {
    napi_throw_type_error(env, NULL, "sha256x2: update2 needs two different states and two Uint8Arrays");
    return NULL;
  }
  update2(a, pa, na, b, pb, nb);
  return NULL;
}

static napi_value js_digest(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  void *data;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  state_t *s = argc == 1 ? state_of(env, argv[0]) : NULL;
  if (!s) return NULL;
  CHECK(napi_create_buffer(env, 32, &data, &out));
  digest(s, (uint8_t *)data);
  return out;
}

static napi_value init_module(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"supported", NULL, js_supported, NULL, NULL, NULL, napi_default, NULL},
    {"init", NULL, js_init, NULL, NULL, NULL, napi_default, NULL},
    {"update", NULL, js_update, NULL, NULL, NULL, napi_default, NULL},
    {"update2", NULL, js_update2, NULL, NULL, NULL, napi_default, NULL},
    {"digest", NULL, js_digest, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init_module)
