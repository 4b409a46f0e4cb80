// SwiftPM drops -D flags from pkg-config, so the wide-character API is switched on here.
#define NCURSES_WIDECHAR 1
#include <locale.h>
#include <ncurses.h>
#include <term.h>  // setupterm: terminfo without starting curses (imagine show)
#include <pty.h>   // openpty: a pseudo-terminal for imagine bench graphics
