// The whole libpng write sequence behind one C call.
//
// libpng reports errors by longjmp'ing to a setjmp in its caller. A longjmp across Swift frames
// skips their cleanup and is undefined behaviour, so the setjmp, every libpng call that may
// longjmp to it, and the recovery all live in imagine_png_encode_rgb; Swift only ever sees a
// return code and a message.
#ifndef IMAGINE_PNG_WRITER_H
#define IMAGINE_PNG_WRITER_H

#include <stddef.h>
#include <stdint.h>

/// One text chunk, written in the order given.
typedef struct {
    /// NUL-terminated PNG keyword: 1–79 printable Latin-1 bytes.
    const char *keyword;
    /// NUL-terminated value: Latin-1 bytes when is_utf8 is 0 (written as tEXt), UTF-8 bytes
    /// otherwise (written as uncompressed iTXt with empty language tag and translated keyword).
    const char *text;
    int is_utf8;
} imagine_png_text;

/// The encoded file on success, libpng's message on failure.
typedef struct {
    /// malloc'd PNG bytes (NULL on failure); release with imagine_png_free_output.
    uint8_t *bytes;
    size_t count;
    /// NUL-terminated description of the first error or warning; empty on success.
    char message[256];
} imagine_png_output;

/// Encodes an 8-bit RGB image: `rgb` holds height rows of width × 3 bytes, no padding.
/// Text chunks come before the image data so readers find them without decoding pixels.
/// `compression_level` is zlib's, 1 (fastest) to 9 (smallest); 6 is libpng's default.
/// Returns 0 on success; nonzero on failure, with output->message set and output->bytes NULL.
/// A libpng warning counts as a failure: on write it means a chunk was altered or dropped.
int imagine_png_encode_rgb(const uint8_t *rgb, uint32_t width, uint32_t height,
                           const imagine_png_text *texts, size_t text_count, int compression_level,
                           imagine_png_output *output);

void imagine_png_free_output(imagine_png_output *output);

#endif
