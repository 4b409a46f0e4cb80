#ifndef IMAGINE_BF16_GEMM_H
#define IMAGINE_BF16_GEMM_H

#include <stdint.h>

/// One operand of a matrix multiply. Plain: element (i, k) is at data[i * row_stride + k * col_stride],
/// stored as fp32 or as bf16 (the top 16 bits of an fp32). Packed (a weight packed once by
/// imagine_bf16_pack, as A for convolutions or as B for linear layers): data holds panels
/// of pair words, row_stride is the words per panel and col_stride is unused.
typedef struct {
    const void *data;
    int is_bf16;
    int is_packed;
    long row_stride;
    long col_stride;
} imagine_matrix;

/// How a packed weight will be used: as A (rows of the product, a convolution's [out, in·k·k])
/// or as B (columns of the product, a linear layer's [out, in] read transposed).
typedef enum { IMAGINE_PACK_AS_A = 0, IMAGINE_PACK_AS_B = 1 } imagine_pack_role;

/// Rows (A) or columns (B) per packed panel: a packed operand may only be offset by multiples.
long imagine_bf16_panel_width(imagine_pack_role role);

/// 32-bit words of a packed [rows, columns] weight (rows: output features, columns: k).
long imagine_bf16_packed_words(imagine_pack_role role, long rows, long columns);

/// Packs source[rows, columns] (a plain operand: rows are output features, columns are k) once
/// for imagine_bf16_gemm: panels of imagine_bf16_panel_width(role) rows, each k pair in one word,
/// zero-padded. The panel stride (imagine_matrix.row_stride) is imagine_bf16_packed_words(role, 1,
/// columns). For weights at load, and for attention's keys and values, reused by every query block.
void imagine_bf16_pack(imagine_pack_role role, imagine_matrix source, long rows, long columns,
                       uint32_t *packed);

/// The inverse of imagine_bf16_pack, widened to row-major fp32 values[rows, columns].
void imagine_bf16_unpack(imagine_pack_role role, const uint32_t *packed, long rows, long columns,
                         float *values);

/// C[m, n] = alpha · A[m, k] · B[k, n] + (accumulate ? C : 0), C row-major with row stride ldc.
///
/// fp32 operands are rounded to bf16 (to nearest, ties to even) as they are packed; products are
/// summed in fp32 (VDPBF16PS). Single-threaded: callers split the work across their threads.
/// Requires AVX512-BF16 with the OS saving AVX-512 state (the caller checks: Kernels' CPUFeatures).
void imagine_bf16_gemm(long m, long n, long k, float alpha,
                       imagine_matrix a, imagine_matrix b,
                       int accumulate, float *c, long ldc);

/// fp32 → bf16 bits, rounded to nearest (ties to even); NaN stays NaN. Inline so that Swift's
/// conversion loops (weights at load) use this same rounding at full speed.
static inline uint16_t imagine_bf16_round(float value) {
    union { float f; uint32_t u; } bits = { value };
    if ((bits.u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((bits.u >> 16) | 0x40);
    return (uint16_t)((bits.u + 0x7fffu + ((bits.u >> 16) & 1u)) >> 16);
}

#endif
