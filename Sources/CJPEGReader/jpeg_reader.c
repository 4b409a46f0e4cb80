#include "jpeg_reader.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

typedef struct {
    struct jpeg_error_mgr base;  // first, so libjpeg's pointer to it is a pointer to this
    jmp_buf recover;
    imagine_jpeg_image *out;
    int truncated;               // a warning that the data ended early
} decoder_errors;

static void on_error(j_common_ptr cinfo) {
    decoder_errors *errors = (decoder_errors *)cinfo->err;
    char text[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, text);
    snprintf(errors->out->message, sizeof errors->out->message, "libjpeg: %s", text);
    longjmp(errors->recover, 1);
}

// Level −1 is a warning (libjpeg goes on decoding); others are trace messages. A file that ends
// early decodes to grey where the data is missing: keep the warning and fail once libjpeg is done.
static void on_message(j_common_ptr cinfo, int level) {
    decoder_errors *errors = (decoder_errors *)cinfo->err;
    if (level != -1) return;
    int code = cinfo->err->msg_code;
    if ((code == JWRN_JPEG_EOF || code == JWRN_HIT_MARKER) && !errors->truncated) {
        char text[JMSG_LENGTH_MAX];
        (*cinfo->err->format_message)(cinfo, text);
        snprintf(errors->out->message, sizeof errors->out->message, "truncated: libjpeg: %s", text);
        errors->truncated = 1;
    }
}

// The Orientation tag (0x0112) of IFD0 in an APP1 "Exif" segment: a TIFF header (byte order,
// 42, offset of IFD0), then 12-byte entries: tag, type, count, value. Anything out of bounds or
// malformed reads as 1 (upright), as Pillow reads it.
static int exif_orientation(const uint8_t *data, size_t length) {
    static const uint8_t exif[6] = {'E', 'x', 'i', 'f', 0, 0};
    if (length < 14 || memcmp(data, exif, 6) != 0) return 1;
    const uint8_t *tiff = data + 6;
    size_t size = length - 6;
    int little = tiff[0] == 'I' && tiff[1] == 'I';
    if (!little && !(tiff[0] == 'M' && tiff[1] == 'M')) return 1;
#define U16(p) (little ? (unsigned)(p)[0] | (unsigned)(p)[1] << 8 : (unsigned)(p)[0] << 8 | (unsigned)(p)[1])
#define U32(p) (little ? (uint32_t)(p)[0] | (uint32_t)(p)[1] << 8 | (uint32_t)(p)[2] << 16 | (uint32_t)(p)[3] << 24 \
                       : (uint32_t)(p)[0] << 24 | (uint32_t)(p)[1] << 16 | (uint32_t)(p)[2] << 8 | (uint32_t)(p)[3])
    uint32_t ifd = U32(tiff + 4);
    if (ifd > size - 2) return 1;
    unsigned entries = U16(tiff + ifd);
    for (unsigned i = 0; i < entries; i++) {
        size_t at = (size_t)ifd + 2 + 12 * (size_t)i;
        if (at + 12 > size) return 1;
        const uint8_t *entry = tiff + at;
        if (U16(entry) == 0x0112) {
            unsigned value = U16(entry + 2) == 3 ? U16(entry + 8) : 1;  // type 3: SHORT
            return value >= 1 && value <= 8 ? (int)value : 1;
        }
    }
#undef U16
#undef U32
    return 1;
}

int imagine_jpeg_decode_rgb(const uint8_t *bytes, size_t count, uint64_t max_pixels, imagine_jpeg_image *out) {
    memset(out, 0, sizeof *out);
    struct jpeg_decompress_struct cinfo;
    decoder_errors errors;
    memset(&errors, 0, sizeof errors);
    errors.out = out;
    cinfo.err = jpeg_std_error(&errors.base);
    errors.base.error_exit = on_error;
    errors.base.emit_message = on_message;
    // volatile: read after a longjmp, so it must not live in a register setjmp did not save.
    uint8_t *volatile pixels = NULL;
    if (setjmp(errors.recover)) {
        jpeg_destroy_decompress(&cinfo);
        free(pixels);
        return IMAGINE_JPEG_FAILED;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, bytes, (unsigned long)count);
    jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xFFFF);
    jpeg_read_header(&cinfo, TRUE);
    out->width = cinfo.image_width;
    out->height = cinfo.image_height;
    out->components = cinfo.num_components;
    out->orientation = 1;
    for (jpeg_saved_marker_ptr marker = cinfo.marker_list; marker != NULL; marker = marker->next) {
        if (marker->marker == JPEG_APP0 + 1 && marker->data_length >= 6 && memcmp(marker->data, "Exif", 4) == 0) {
            out->orientation = exif_orientation(marker->data, marker->data_length);
            break;
        }
    }
    if ((uint64_t)cinfo.image_width * cinfo.image_height > max_pixels) {
        jpeg_destroy_decompress(&cinfo);
        return IMAGINE_JPEG_TOO_LARGE;
    }
    if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
        jpeg_destroy_decompress(&cinfo);
        return IMAGINE_JPEG_CMYK;
    }
    cinfo.out_color_space = JCS_RGB;
    jpeg_start_decompress(&cinfo);
    size_t stride = (size_t)cinfo.output_width * 3;
    pixels = malloc(stride * cinfo.output_height);
    if (pixels == NULL) {
        snprintf(out->message, sizeof out->message, "out of memory for %ux%u pixels", cinfo.output_width,
                 cinfo.output_height);
        jpeg_destroy_decompress(&cinfo);
        return IMAGINE_JPEG_FAILED;
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = pixels + stride * cinfo.output_scanline;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    if (errors.truncated) {
        free(pixels);
        return IMAGINE_JPEG_FAILED;
    }
    out->pixels = pixels;
    return IMAGINE_JPEG_OK;
}

void imagine_jpeg_free(imagine_jpeg_image *image) {
    free(image->pixels);
    image->pixels = NULL;
}
