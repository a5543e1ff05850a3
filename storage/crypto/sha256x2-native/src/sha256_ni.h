#ifndef SHA256_NI_H
#define SHA256_NI_H
#include <stddef.h>
#include <stdint.h>

/* Whole 64-byte blocks; x86-64 with the SHA extensions and AVX2 only (see sha256ni_supported). */
void sha256ni_blocks(uint32_t h[8], const uint8_t *p, size_t blocks);
void sha256ni_blocks2(uint32_t ha[8], const uint8_t *pa, uint32_t hb[8], const uint8_t *pb, size_t blocks);

#endif
