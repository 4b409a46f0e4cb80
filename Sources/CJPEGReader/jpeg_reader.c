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
    jpeg_read_header(&cinfo, TRUE);
    out->width = cinfo.image_width;
    out->height = cinfo.image_height;
    out->components = cinfo.num_components;
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
