// bf16 GEMM with fp32 accumulation on AVX512-BF16 (VDPBF16PS), blocked in the usual way for
// cache reuse (Goto & van de Geijn, "Anatomy of High-Performance Matrix Multiplication"):
//
//   for each NC-wide block of B's columns and each KC-deep slice of k:
//     pack B[kc, nc] into NR-column panels (bf16, k in pairs)      — stays in L2/L3
//     for each MC-tall block of A's rows:
//       pack A[mc, kc] into MR-row panels (bf16, k in pairs)       — stays in L2
//       for each NR panel of B (its kc×NR slice stays in L1), each MR panel of A:
//         the MR×NR micro-kernel: 24 zmm accumulators, one VDPBF16PS per k pair and 16 outputs.
//
// VDPBF16PS multiplies pairs of adjacent bf16 values and adds both products to one fp32 lane, so
// both packed operands hold k in pairs: a 32-bit word (low half k, high half k + 1). A's word is
// broadcast, B's panel supplies 16 columns per zmm.
//
// Packing is where fp32 becomes bf16 (round to nearest even), so callers pass fp32 activations
// and bf16 or fp32 weights alike and nothing is converted twice per block.
//
// This file is compiled for the baseline CPU; only functions marked BF16_TARGET use AVX-512, and
// they are reached only after the caller's CPUID check (Kernels' CPUFeatures) found AVX512-BF16. Off x86-64 only the
// portable packing remains and the bf16 path reports itself unavailable.

#include "bf16_gemm.h"

#include <stdlib.h>
#include <string.h>

// Sizes measured on the Zen 5 these machines have (48 KB L1d, 1 MB L2 per core): KC 256–512,
// MC 96–240 and NC 1024–4096 were within ~10 % of each other; this was best or close to it on
// U-Net-shaped products.
enum {
    MR = 12,    // rows of the micro-tile (broadcast operand)
    NR = 32,    // columns of the micro-tile: two zmm of fp32
    KC = 512,   // k per packed slice (even): a B micro-panel is KC·NR·2 = 32 KB, inside L1
    MC = 144,   // rows per packed A block (multiple of MR): 144 KB, inside L2
    NC = 1024,  // columns per packed B block (multiple of NR): 1 MB
};

/// Element (i, k) of x as bf16 bits.
static inline uint16_t element(const imagine_matrix *x, long i, long k) {
    long at = i * x->row_stride + k * x->col_stride;
    return x->is_bf16 ? ((const uint16_t *)x->data)[at] : imagine_bf16_round(((const float *)x->data)[at]);
}

static inline uint32_t pair_word(uint16_t even_k, uint16_t odd_k) {
    return (uint32_t)even_k | ((uint32_t)odd_k << 16);
}

long imagine_bf16_panel_width(imagine_pack_role role) { return role == IMAGINE_PACK_AS_A ? MR : NR; }

long imagine_bf16_packed_words(imagine_pack_role role, long rows, long columns) {
    long width = imagine_bf16_panel_width(role);
    return (rows + width - 1) / width * width * ((columns + 1) / 2);
}

// A packed operand is the layout pack_a / pack_b give one block, over the whole k: panel after
// panel, each pairs × width words, so a k slice of a panel starts pc / 2 · width words in.

void imagine_bf16_pack(imagine_pack_role role, imagine_matrix source, long rows, long columns,
                       uint32_t *packed) {
    long width = imagine_bf16_panel_width(role), pairs = (columns + 1) / 2;
    for (long panel = 0; panel < rows; panel += width) {
        uint32_t *dst = packed + (panel / width) * pairs * width;
        for (long r = 0; r < width; r++) {
            long row = panel + r;
            for (long p = 0; p < pairs; p++) {
                dst[p * width + r] = row >= rows ? 0
                    : pair_word(element(&source, row, 2 * p),
                                2 * p + 1 < columns ? element(&source, row, 2 * p + 1) : 0);
            }
        }
    }
}

void imagine_bf16_unpack(imagine_pack_role role, const uint32_t *packed, long rows, long columns,
                         float *values) {
    long width = imagine_bf16_panel_width(role), pairs = (columns + 1) / 2;
    for (long i = 0; i < rows; i++) {
        const uint32_t *src = packed + (i / width) * pairs * width + i % width;
        for (long k = 0; k < columns; k++) {
            uint32_t word = src[(k / 2) * width];
            uint32_t bits = k % 2 ? word & 0xffff0000u : word << 16;
            memcpy(values + i * columns + k, &bits, 4);
        }
    }
}

#if defined(__x86_64__)

#include <immintrin.h>

#define BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")))

/// Two fp32 rows of 16 values → 16 pair words (low half from `even`, high half from `odd`).
BF16_TARGET static inline __m512i pair_words(__m512 even, __m512 odd) {
    __m512i low = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(even));
    __m512i high = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(odd));
    return _mm512_or_si512(low, _mm512_slli_epi32(high, 16));
}

/// Packs A[rows, k0 ..< k0 + kc] into MR-row panels: panel word [p][r] holds rows r's k pair p.
/// Rows past `rows` and the odd k past kc are zero.
BF16_TARGET static void pack_a(const imagine_matrix *a, long row0, long rows, long k0, long kc,
                               uint32_t *packed) {
    long pairs = (kc + 1) / 2;
    for (long panel = 0; panel < rows; panel += MR) {
        uint32_t *dst = packed + (panel / MR) * pairs * MR;
        for (long r = 0; r < MR; r++) {
            long row = panel + r;
            if (row >= rows) {
                for (long p = 0; p < pairs; p++) dst[p * MR + r] = 0;
                continue;
            }
            long i = row0 + row;
            long p = 0;
            if (!a->is_bf16 && a->col_stride == 1) {
                // Row-major fp32: 32 consecutive k → 16 words; the even/odd split is a permute.
                const float *source = (const float *)a->data + i * a->row_stride + k0;
                const __m512i evens = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
                const __m512i odds = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
                for (; p + 16 <= kc / 2; p += 16) {
                    __m512 x0 = _mm512_loadu_ps(source + 2 * p), x1 = _mm512_loadu_ps(source + 2 * p + 16);
                    __m512i words = pair_words(_mm512_permutex2var_ps(x0, evens, x1),
                                               _mm512_permutex2var_ps(x0, odds, x1));
                    uint32_t lanes[16];
                    _mm512_storeu_si512(lanes, words);
                    for (int l = 0; l < 16; l++) dst[(p + l) * MR + r] = lanes[l];
                }
            }
            for (; p < pairs; p++) {
                long k = k0 + 2 * p;
                dst[p * MR + r] = pair_word(element(a, i, k), 2 * p + 1 < kc ? element(a, i, k + 1) : 0);
            }
        }
    }
}

/// Packs B[k0 ..< k0 + kc, columns] into NR-column panels: panel word [p][j] holds column j's k
/// pair p. Columns past `columns` and the odd k past kc are zero.
BF16_TARGET static void pack_b(const imagine_matrix *b, long k0, long kc, long column0, long columns,
                               uint32_t *packed) {
    long pairs = (kc + 1) / 2;
    for (long panel = 0; panel < columns; panel += NR) {
        uint32_t *dst = packed + (panel / NR) * pairs * NR;
        long width = columns - panel < NR ? columns - panel : NR;
        long j0 = column0 + panel;
        if (!b->is_bf16 && b->col_stride == 1 && width == NR) {
            // Rows contiguous along n (im2col columns, Winograd tiles, V in attention).
            const float *source = (const float *)b->data + k0 * b->row_stride + j0;
            long p = 0;
            for (; p < kc / 2; p++) {
                const float *even = source + 2 * p * b->row_stride, *odd = even + b->row_stride;
                _mm512_storeu_si512(dst + p * NR, pair_words(_mm512_loadu_ps(even), _mm512_loadu_ps(odd)));
                _mm512_storeu_si512(dst + p * NR + 16,
                                    pair_words(_mm512_loadu_ps(even + 16), _mm512_loadu_ps(odd + 16)));
            }
            if (p < pairs) {  // odd kc: the last k pairs with zero
                const float *even = source + 2 * p * b->row_stride;
                __m512 zero = _mm512_setzero_ps();
                _mm512_storeu_si512(dst + p * NR, pair_words(_mm512_loadu_ps(even), zero));
                _mm512_storeu_si512(dst + p * NR + 16, pair_words(_mm512_loadu_ps(even + 16), zero));
            }
            continue;
        }
        // Columns contiguous along k (a weight read transposed, K in attention): each column's
        // pairs are adjacent in memory; walk a column at a time.
        for (long j = 0; j < NR; j++) {
            if (j >= width) {
                for (long p = 0; p < pairs; p++) dst[p * NR + j] = 0;
                continue;
            }
            for (long p = 0; p < pairs; p++) {
                long k = k0 + 2 * p;
                dst[p * NR + j] = pair_word(element(b, k, j0 + j), 2 * p + 1 < kc ? element(b, k + 1, j0 + j) : 0);
            }
        }
    }
}

/// The MR×NR micro-tile: C[rows, columns] = alpha · Apanel · Bpanel (+ C when accumulate).
BF16_TARGET static void micro_kernel(long pairs, const uint32_t *a, const uint32_t *b, float *c, long ldc,
                                     long rows, long columns, int accumulate, float alpha) {
    __m512 acc[MR][2];
    for (int r = 0; r < MR; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    // C's rows are far apart (a page or more): fetching them now hides the misses behind the
    // k loop (measured 10–20 % of kernel time on 320×4096 products).
    for (int r = 0; r < MR && r < rows; r++) {
        _mm_prefetch((const char *)(c + r * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + r * ldc + 16), _MM_HINT_T0);
    }
    for (long p = 0; p < pairs; p++) {
        __m512bh b0 = (__m512bh)_mm512_loadu_si512(b + p * NR);
        __m512bh b1 = (__m512bh)_mm512_loadu_si512(b + p * NR + 16);
#pragma clang loop unroll(full)
        for (int r = 0; r < MR; r++) {
            __m512bh broadcast = (__m512bh)_mm512_set1_epi32((int)a[p * MR + r]);
            acc[r][0] = _mm512_dpbf16_ps(acc[r][0], broadcast, b0);
            acc[r][1] = _mm512_dpbf16_ps(acc[r][1], broadcast, b1);
        }
    }
    __m512 scale = _mm512_set1_ps(alpha);
    __mmask16 mask0 = columns >= 16 ? 0xffff : (__mmask16)((1u << columns) - 1);
    __mmask16 mask1 = columns >= 32 ? 0xffff : columns <= 16 ? 0 : (__mmask16)((1u << (columns - 16)) - 1);
#pragma clang loop unroll(full)
    for (int r = 0; r < MR; r++) {
        if (r >= rows) break;
        float *row = c + r * ldc;
        __m512 v0 = _mm512_mul_ps(acc[r][0], scale), v1 = _mm512_mul_ps(acc[r][1], scale);
        if (accumulate) {
            v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(mask0, row));
            v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(mask1, row + 16));
        }
        _mm512_mask_storeu_ps(row, mask0, v0);
        _mm512_mask_storeu_ps(row + 16, mask1, v1);
    }
}

/// Packing buffers, one pair per thread, grown on demand and kept: every call on a thread reuses them.
static _Thread_local uint32_t *packed_a, *packed_b;
static _Thread_local size_t packed_a_words, packed_b_words;

static uint32_t *scratch(uint32_t **buffer, size_t *capacity, size_t words) {
    if (*capacity < words) {
        free(*buffer);
        *buffer = aligned_alloc(64, ((words * 4 + 63) / 64) * 64);
        *capacity = *buffer ? words : 0;
    }
    return *buffer;
}

/* Where one block's panels of width `width` start, and how many words apart they are: a packed
   weight is used in place (its panels a whole k apart, row_stride words), anything else was just
   packed into `scratch` for this block (panels `pairs` k-pairs apart). `first` is the block's first
   row (A) or column (B), `pc` its first k. */
static inline const uint32_t *block_panels(const imagine_matrix *x, long first, long pc, long width,
                                           long pairs, const uint32_t *scratch, long *panel_stride) {
    if (x->is_packed) {
        *panel_stride = x->row_stride;
        return (const uint32_t *)x->data + (first / width) * x->row_stride + (pc / 2) * width;
    }
    *panel_stride = pairs * width;
    return scratch;
}

BF16_TARGET void imagine_bf16_gemm(long m, long n, long k, float alpha,
                                   imagine_matrix a, imagine_matrix b,
                                   int accumulate, float *c, long ldc) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {
        if (!accumulate)
            for (long i = 0; i < m; i++) memset(c + i * ldc, 0, (size_t)n * sizeof(float));
        return;
    }
    long block_columns = n < NC ? (n + NR - 1) / NR * NR : NC;
    long block_rows = m < MC ? (m + MR - 1) / MR * MR : MC;
    uint32_t *pa = a.is_packed ? NULL : scratch(&packed_a, &packed_a_words, (size_t)block_rows * (KC / 2));
    uint32_t *pb = b.is_packed ? NULL : scratch(&packed_b, &packed_b_words, (size_t)block_columns * (KC / 2));
    if ((!a.is_packed && !pa) || (!b.is_packed && !pb)) abort();  // a few MB at most: not recoverable
    for (long jc = 0; jc < n; jc += NC) {
        long nc = n - jc < NC ? n - jc : NC;
        for (long pc = 0; pc < k; pc += KC) {
            long kc = k - pc < KC ? k - pc : KC;
            long pairs = (kc + 1) / 2;
            int adds = accumulate || pc > 0;
            if (!b.is_packed) pack_b(&b, pc, kc, jc, nc, pb);
            long b_panel_stride;
            const uint32_t *b_block = block_panels(&b, jc, pc, NR, pairs, pb, &b_panel_stride);
            for (long ic = 0; ic < m; ic += MC) {
                long mc = m - ic < MC ? m - ic : MC;
                if (!a.is_packed) pack_a(&a, ic, mc, pc, kc, pa);
                long a_panel_stride;
                const uint32_t *a_block = block_panels(&a, ic, pc, MR, pairs, pa, &a_panel_stride);
                for (long jr = 0; jr < nc; jr += NR) {
                    const uint32_t *b_panel = b_block + (jr / NR) * b_panel_stride;
                    long columns = nc - jr < NR ? nc - jr : NR;
                    for (long ir = 0; ir < mc; ir += MR) {
                        long rows = mc - ir < MR ? mc - ir : MR;
                        micro_kernel(pairs, a_block + (ir / MR) * a_panel_stride, b_panel,
                                     c + (ic + ir) * ldc + jc + jr, ldc, rows, columns, adds, alpha);
                    }
                }
            }
        }
    }
}

#else  // No AVX512-BF16 off x86-64: the bf16 path is refused before it would run.

void imagine_bf16_gemm(long m, long n, long k, float alpha, imagine_matrix a, imagine_matrix b,
                       int accumulate, float *c, long ldc) {
    (void)m; (void)n; (void)k; (void)alpha; (void)a; (void)b; (void)accumulate; (void)c; (void)ldc;
    abort();
}

#endif
