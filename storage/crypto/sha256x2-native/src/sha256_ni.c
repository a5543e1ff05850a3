/*
 * SHA-256 block functions with the x86 SHA extensions: one stream, and two independent streams
 * interleaved. One SHA-256 stream is a chain of dependent sha256rnds2 instructions, so a core
 * runs it at the latency of that chain; a second stream fills the gaps, and two streams cost little
 * more than one (measured on the project machine, AMD Zen 4: one stream 1.4-1.8 GB/s, two
 * interleaved 2.8-2.9 GB/s together). Compiled for x86-64-v3 + SHA (see binding.gyp); callers
 * check sha256ni_supported() first.
 *
 * State words are in host order (h0..h7 as FIPS 180-4 names them).
 */
#include "sha256_ni.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

static const uint32_t K[64] __attribute__((aligned(16))) = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/* Big-endian words of a message block, as the SHA instructions want them. */
#define BSWAP_MASK _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL)

/* h0..h7 -> the ABEF / CDGH register layout of sha256rnds2, and back. */
static inline void load_state(const uint32_t *h, __m128i *abef, __m128i *cdgh) {
  __m128i t = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[0]), 0xB1); /* CDAB */
  __m128i u = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[4]), 0x1B); /* EFGH */
  *abef = _mm_alignr_epi8(t, u, 8);
  *cdgh = _mm_blend_epi16(u, t, 0xF0);
}

static inline void store_state(uint32_t *h, __m128i abef, __m128i cdgh) {
  __m128i t = _mm_shuffle_epi32(abef, 0x1B);
  __m128i u = _mm_shuffle_epi32(cdgh, 0xB1);
  _mm_storeu_si128((__m128i *)&h[0], _mm_blend_epi16(t, u, 0xF0));
  _mm_storeu_si128((__m128i *)&h[4], _mm_alignr_epi8(u, t, 8));
}

/* Message schedule for rounds 4i..4i+3 (i >= 4), from the previous four groups (ring of 4). */
#define SCHEDULE(W, i) \
  (W[(i) & 3] = _mm_sha256msg2_epu32(_mm_add_epi32(_mm_sha256msg1_epu32(W[(i) & 3], W[((i) + 1) & 3]), _mm_alignr_epi8(W[((i) + 3) & 3], W[((i) + 2) & 3], 4)), W[((i) + 3) & 3]))

/* One group of four rounds (i = 0..15) of one stream; unrolled by hand (compilers keep the
 * 16-group loop rolled under -fPIC, which costs a quarter of the speed). */
#define GROUP1(i) \
  do { \
    if ((i) < 4) W[(i) & 3] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * (i))), BSWAP_MASK); \
    else SCHEDULE(W, i); \
    const __m128i m = _mm_add_epi32(W[(i) & 3], _mm_load_si128((const __m128i *)&K[4 * (i)])); \
    s1 = _mm_sha256rnds2_epu32(s1, s0, m); \
    s0 = _mm_sha256rnds2_epu32(s0, s1, _mm_shuffle_epi32(m, 0x0E)); \
  } while (0)

/* The same for two streams, their instructions interleaved. */
#define GROUP2(i) \
  do { \
    if ((i) < 4) { \
      W[(i) & 3] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(pa + 16 * (i))), BSWAP_MASK); \
      V[(i) & 3] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(pb + 16 * (i))), BSWAP_MASK); \
    } else { \
      SCHEDULE(W, i); \
      SCHEDULE(V, i); \
    } \
    const __m128i k = _mm_load_si128((const __m128i *)&K[4 * (i)]); \
    const __m128i m = _mm_add_epi32(W[(i) & 3], k), n = _mm_add_epi32(V[(i) & 3], k); \
    s1 = _mm_sha256rnds2_epu32(s1, s0, m); \
    t1 = _mm_sha256rnds2_epu32(t1, t0, n); \
    s0 = _mm_sha256rnds2_epu32(s0, s1, _mm_shuffle_epi32(m, 0x0E)); \
    t0 = _mm_sha256rnds2_epu32(t0, t1, _mm_shuffle_epi32(n, 0x0E)); \
  } while (0)

#define SIXTEEN(G) G(0); G(1); G(2); G(3); G(4); G(5); G(6); G(7); G(8); G(9); G(10); G(11); G(12); G(13); G(14); G(15)

void sha256ni_blocks(uint32_t h[8], const uint8_t *p, size_t blocks) {
  __m128i s0, s1;
  load_state(h, &s0, &s1);
  while (blocks--) {
    const __m128i a0 = s0, a1 = s1;
    __m128i W[4];
    SIXTEEN(GROUP1);
    s0 = _mm_add_epi32(s0, a0);
    s1 = _mm_add_epi32(s1, a1);
    p += 64;
  }
  store_state(h, s0, s1);
}

void sha256ni_blocks2(uint32_t ha[8], const uint8_t *pa, uint32_t hb[8], const uint8_t *pb, size_t blocks) {
  __m128i s0, s1, t0, t1;
  load_state(ha, &s0, &s1);
  load_state(hb, &t0, &t1);
  while (blocks--) {
    const __m128i a0 = s0, a1 = s1, b0 = t0, b1 = t1;
    __m128i W[4], V[4];
    SIXTEEN(GROUP2);
    s0 = _mm_add_epi32(s0, a0);
    s1 = _mm_add_epi32(s1, a1);
    t0 = _mm_add_epi32(t0, b0);
    t1 = _mm_add_epi32(t1, b1);
    pa += 64;
    pb += 64;
  }
  store_state(ha, s0, s1);
  store_state(hb, t0, t1);
}
#endif
