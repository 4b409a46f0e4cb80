#include "png_writer.h"

#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Without iTXt, prompts with emoji or CJK could not be stored; refuse to build rather than drop them.
#if !defined(PNG_WRITE_iTXt_SUPPORTED)
#error "libpng was built without iTXt write support; CPNGWriter needs it for UTF-8 text chunks"
#endif

// ---------------------------------------------------------------------------------------------
// Output buffer and libpng callbacks

typedef struct {
    imagine_png_output *output;
    size_t capacity;
    char warning[192];  // the first libpng warning; empty if none
} encoder;

static void append_bytes(png_structp png, png_bytep data, size_t length) {
    encoder *enc = png_get_io_ptr(png);
    imagine_png_output *out = enc->output;
    if (length > enc->capacity - out->count) {
        size_t capacity = enc->capacity;
        while (length > capacity - out->count) {
            if (capacity > SIZE_MAX / 2) png_error(png, "encoded image too large");
            capacity *= 2;
        }
        uint8_t *grown = realloc(out->bytes, capacity);
        if (grown == NULL) png_error(png, "out of memory for encoded image");
        out->bytes = grown;
        enc->capacity = capacity;
    }
    memcpy(out->bytes + out->count, data, length);
    out->count += length;
}

// libpng's default flush treats the io pointer as a FILE*; ours is an encoder, so do nothing.
static void flush_nothing(png_structp png) { (void)png; }

// libpng often warns with the specifics just before a generic error ("Image width is zero in
// IHDR", then "Invalid IHDR data"), so the message carries both.
static void on_error(png_structp png, png_const_charp message) {
    encoder *enc = png_get_error_ptr(png);
    if (enc->warning[0] != '\0')
        snprintf(enc->output->message, sizeof enc->output->message, "libpng: %s (%s)", message,
                 enc->warning);
    else
        snprintf(enc->output->message, sizeof enc->output->message, "libpng: %s", message);
    png_longjmp(png, 1);
}

// Warnings must return to libpng (it continues after them), so keep the first one and fail the
// whole encode once libpng is done.
static void on_warning(png_structp png, png_const_charp message) {
    encoder *enc = png_get_error_ptr(png);
    if (enc->warning[0] == '\0') snprintf(enc->warning, sizeof enc->warning, "%s", message);
}

// ---------------------------------------------------------------------------------------------
// The encoder

int imagine_png_encode_rgb(const uint8_t *rgb, uint32_t width, uint32_t height,
                           const imagine_png_text *texts, size_t text_count, int compression_level,
                           imagine_png_output *output) {
    output->bytes = NULL;
    output->count = 0;
    output->message[0] = '\0';

    // The buffer doubles as it fills: a 512×512 image (~0.4 MB encoded) takes three reallocations,
    // nothing next to the cost of deflate.
    encoder enc = {.output = output, .capacity = 64 * 1024, .warning = ""};
    output->bytes = malloc(enc.capacity);
    if (output->bytes == NULL) {
        snprintf(output->message, sizeof output->message, "out of memory for encoded image");
        return 1;
    }

    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &enc, on_error, on_warning);
    png_infop info = png == NULL ? NULL : png_create_info_struct(png);
    if (info == NULL) {
        png_destroy_write_struct(&png, NULL);
        imagine_png_free_output(output);
        snprintf(output->message, sizeof output->message, "libpng: cannot create write structures");
        return 1;
    }

    // Everything below may longjmp back here. The recovery uses only `png`, `info` and `output`,
    // none of which is assigned after this point, so none needs to be volatile.
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        imagine_png_free_output(output);
        return 1;
    }

    png_set_write_fn(png, &enc, append_bytes, flush_nothing);
    png_set_compression_level(png, compression_level);
    png_set_IHDR(png, info, width, height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);

    // png_set_text copies each entry and appends it, so one stack entry at a time keeps the order.
    for (size_t i = 0; i < text_count; i++) {
        png_text chunk;
        memset(&chunk, 0, sizeof chunk);
        chunk.key = (png_charp)texts[i].keyword;
        chunk.text = (png_charp)texts[i].text;
        chunk.compression = texts[i].is_utf8 ? PNG_ITXT_COMPRESSION_NONE : PNG_TEXT_COMPRESSION_NONE;
        png_set_text(png, info, &chunk, 1);
    }

    png_write_info(png, info);
    for (uint32_t y = 0; y < height; y++) png_write_row(png, rgb + (size_t)y * width * 3);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);

    if (enc.warning[0] != '\0') {
        snprintf(output->message, sizeof output->message, "libpng warning: %s", enc.warning);
        imagine_png_free_output(output);
        return 1;
    }
    return 0;
}

void imagine_png_free_output(imagine_png_output *output) {
    free(output->bytes);
    output->bytes = NULL;
    output->count = 0;
}
