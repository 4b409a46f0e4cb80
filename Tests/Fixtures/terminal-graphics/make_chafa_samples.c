/* Ground truth for Tests/TerminalGraphicsTests: what libchafa itself prints for one known picture in
 * each of its pixel modes, so the decoders are tested against a real encoder rather than against
 * our own idea of the protocols.
 *
 * Build and run (Debian 12: apt install libchafa-dev; these samples came from libchafa 1.12.4):
 *
 *   gcc Tests/Fixtures/terminal-graphics/make_chafa_samples.c $(pkg-config --cflags --libs chafa) \
 *       -o /tmp/make_chafa_samples && /tmp/make_chafa_samples Tests/Fixtures/terminal-graphics
 *
 * Writes into the given folder:
 *   source.rgba     the picture: 32×24, RGBA8 unassociated, rows top to bottom, no padding
 *   kitty.escapes   chafa_canvas_print in CHAFA_PIXEL_MODE_KITTY  (terminal detected as TERM=xterm-kitty)
 *   sixels.escapes  chafa_canvas_print in CHAFA_PIXEL_MODE_SIXELS (terminal detected as TERM=foot)
 *
 * The canvas is 4×2 cells of 8×12 pixels: exactly the picture's size, so chafa copies pixels instead
 * of resampling them and the kitty sample can be compared byte for byte.
 *
 * The picture is TerminalGraphicsTestImages.gradientWithNoise in Swift; the tests check that the two
 * agree, so change both or neither. */

#include <chafa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { WIDTH = 32, HEIGHT = 24, CELL_WIDTH = 8, CELL_HEIGHT = 12 };

/* A red ramp left to right, a green ramp top to bottom and a blue diagonal, each disturbed by ±16 of
 * noise so that sixel palettes cannot fit it exactly; a 7×5 hole of full transparency straddles the
 * first and second sixel bands (rows 3..7) to exercise the decoders' "never painted" paths. */
static void
make_picture (unsigned char *rgba)
{
    unsigned int seed = 12345;

    for (int y = 0; y < HEIGHT; y++)
    {
        for (int x = 0; x < WIDTH; x++)
        {
            unsigned char *pixel = rgba + (y * WIDTH + x) * 4;
            int noise, red, green;

            /* The classic ANSI C rand() recurrence, written out so that Swift can repeat it. */
            seed = seed * 1103515245u + 12345u;
            noise = (int) ((seed >> 16) & 31) - 16;
            red = x * 255 / (WIDTH - 1) + noise;
            green = y * 255 / (HEIGHT - 1) - noise;

            pixel [0] = red < 0 ? 0 : red > 255 ? 255 : red;
            pixel [1] = green < 0 ? 0 : green > 255 ? 255 : green;
            pixel [2] = (x + y) * 255 / (WIDTH + HEIGHT - 2);
            pixel [3] = (x >= 4 && x < 11 && y >= 3 && y < 8) ? 0 : 255;
        }
    }
}

static void
write_file (const char *folder, const char *name, const void *bytes, size_t length)
{
    char path [4096];
    FILE *file;

    snprintf (path, sizeof (path), "%s/%s", folder, name);
    file = fopen (path, "wb");
    if (!file || fwrite (bytes, 1, length, file) != length || fclose (file) != 0)
    {
        fprintf (stderr, "cannot write %s\n", path);
        exit (1);
    }
    printf ("%s: %zu bytes\n", path, length);
}

static void
write_chafa_output (const char *folder, const char *name, ChafaPixelMode mode, char **environment,
                    const unsigned char *rgba)
{
    ChafaTermInfo *term_info = chafa_term_db_detect (chafa_term_db_get_default (), environment);
    ChafaCanvasConfig *config = chafa_canvas_config_new ();
    ChafaCanvas *canvas;
    GString *printed;

    chafa_canvas_config_set_pixel_mode (config, mode);
    chafa_canvas_config_set_canvas_mode (config, CHAFA_CANVAS_MODE_TRUECOLOR);
    chafa_canvas_config_set_geometry (config, WIDTH / CELL_WIDTH, HEIGHT / CELL_HEIGHT);
    chafa_canvas_config_set_cell_geometry (config, CELL_WIDTH, CELL_HEIGHT);

    canvas = chafa_canvas_new (config);
    chafa_canvas_draw_all_pixels (canvas, CHAFA_PIXEL_RGBA8_UNASSOCIATED, rgba, WIDTH, HEIGHT, WIDTH * 4);
    printed = chafa_canvas_print (canvas, term_info);
    write_file (folder, name, printed->str, printed->len);

    g_string_free (printed, TRUE);
    chafa_canvas_unref (canvas);
    chafa_canvas_config_unref (config);
    chafa_term_info_unref (term_info);
}

int
main (int argc, char **argv)
{
    static unsigned char rgba [WIDTH * HEIGHT * 4];
    char *kitty [] = { "TERM=xterm-kitty", NULL };
    char *foot [] = { "TERM=foot", NULL };

    if (argc != 2)
    {
        fprintf (stderr, "usage: %s OUTPUT-FOLDER\n", argv [0]);
        return 2;
    }

    printf ("libchafa %d.%d.%d\n", CHAFA_MAJOR_VERSION, CHAFA_MINOR_VERSION, CHAFA_MICRO_VERSION);
    make_picture (rgba);
    write_file (argv [1], "source.rgba", rgba, sizeof (rgba));
    write_chafa_output (argv [1], "kitty.escapes", CHAFA_PIXEL_MODE_KITTY, kitty, rgba);
    write_chafa_output (argv [1], "sixels.escapes", CHAFA_PIXEL_MODE_SIXELS, foot, rgba);
    return 0;
}
