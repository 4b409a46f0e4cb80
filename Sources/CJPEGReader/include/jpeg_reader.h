// The whole libjpeg decode sequence behind one C call.
//
// libjpeg reports errors through error_exit, which must not return: ours longjmps back to a
// setjmp in imagine_jpeg_decode_rgb. A longjmp across Swift frames skips their cleanup and is
// undefined behaviour, so the setjmp, every libjpeg call that may longjmp to it, and the
// recovery live here; Swift only ever sees a return code and a message.
#ifndef IMAGINE_JPEG_READER_H
#define IMAGINE_JPEG_READER_H

#include <stddef.h>
#include <stdint.h>

enum {
    IMAGINE_JPEG_OK = 0,
    /// Corrupt, truncated or not decodable; `message` says why.
    IMAGINE_JPEG_FAILED = 1,
    /// width × height is above the caller's limit; width and height are set, nothing was decoded.
    IMAGINE_JPEG_TOO_LARGE = 2,
    /// CMYK or YCCK: libjpeg cannot turn these into RGB; width and height are set.
    IMAGINE_JPEG_CMYK = 3,
};

typedef struct {
    /// malloc'd RGB bytes, height rows of width × 3 (NULL unless IMAGINE_JPEG_OK); release with
    /// imagine_jpeg_free.
    uint8_t *pixels;
    uint32_t width;
    uint32_t height;
    /// Colour channels in the file: 1 (greyscale, decoded to RGB by repeating it) or 3.
    int components;
    /// The EXIF orientation tag (1–8: how to turn the stored pixels upright), 1 when the file has
    /// none or it is unreadable. The pixels are as stored, not turned.
    int orientation;
    /// NUL-terminated description of the failure; empty on success.
    char message[256];
} imagine_jpeg_image;

/// Decodes a baseline or progressive JPEG to 8-bit RGB with libjpeg's defaults (the accurate
/// integer IDCT, "fancy" chroma upsampling), as Pillow decodes. Refuses a picture of more than
/// `max_pixels` pixels after reading its header, before any pixel is decoded. Data that ends
/// early counts as a failure (libjpeg would pad it with grey); other corrupt-data warnings do not,
/// as in Pillow.
int imagine_jpeg_decode_rgb(const uint8_t *bytes, size_t count, uint64_t max_pixels, imagine_jpeg_image *out);

void imagine_jpeg_free(imagine_jpeg_image *image);

#endif
