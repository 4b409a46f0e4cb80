#!/usr/bin/env bash
# Screenshots for XWDImageTests: `xwd -root` of a small Xvfb screen showing four colour bands
# (red, green, blue, yellow; 24×48 pixels each) drawn by a terminal's graphics protocol.
#
#     Tests/Fixtures/make_xwd_fixtures.sh     # needs xvfb, xterm, kitty, x11-apps (xwd), xxd
#
# Writes Tests/Fixtures/xwd/:
#   xterm-sixel.xwd  xterm's sixel bands: xwd writes the root's own format, 32-bit TrueColor pixels.
#   kitty-bands.xwd  kitty's bands (software OpenGL): kitty's window has a GLX visual that differs
#                    from the root's, so xwd composes the screen itself and writes 24-bit pixels,
#                    padded rows and a DirectColor colormap.
set -euo pipefail
out="$(cd "$(dirname "$0")" && pwd)/xwd"
mkdir -p "$out"
work=$(mktemp -d)
trap 'kill $terminal $server 2>/dev/null || true; rm -rf "$work"' EXIT

# A small screen keeps the files small; it is larger than the windows (96×65 and
# 96×68 pixels: 16×5 and 12×4 cells, a row more than the bands need: a terminal scrolls when a
# picture reaches its last row), since xwd
# composes the screen itself only when some of it shows the root window's visual.
Xvfb -displayfd 3 -screen 0 128x80x24 -dpi 96 -nolisten tcp 3>"$work/display" 2>/dev/null &
server=$!
until [ -s "$work/display" ]; do sleep 0.1; done
export DISPLAY=":$(cat "$work/display")"

bands_sixel() {
    printf '\033Pq"1;1;96;48#1;2;100;0;0#2;2;0;100;0#3;2;0;0;100#4;2;100;100;0'
    for _ in 1 2 3 4 5 6 7; do printf '#1!24~#2!24~#3!24~#4!24~-'; done
    printf '#1!24~#2!24~#3!24~#4!24~\033\\'
}

# Kitty's graphics escape: base64 of raw RGB, in chunks of at most 4096 bytes (m=1: more follow).
bands_kitty() {
    local row="" b64 first=1
    for c in 'ff0000' '00ff00' '0000ff' 'ffff00'; do row+=$(printf "$c%.0s" $(seq 24)); done
    b64=$(for _ in $(seq 48); do printf '%s' "$row"; done | xxd -r -p | base64 -w 0)
    while [ -n "$b64" ]; do
        local chunk=${b64:0:4096}
        b64=${b64:4096}
        local more=0
        [ -n "$b64" ] && more=1
        if [ $first = 1 ]; then printf '\033_Ga=T,f=24,s=96,v=48,m=%d;%s\033\\' $more "$chunk"; first=0
        else printf '\033_Gm=%d;%s\033\\' $more "$chunk"; fi
    done
}

capture() {  # capture NAME: waits for the terminal's "drawn" file, lets it paint, dumps the screen
    until [ -e "$work/drawn" ]; do sleep 0.1; done
    sleep 1
    xwd -root -silent -out "$out/$1"
    kill $terminal
    wait $terminal 2>/dev/null || true
    rm -f "$work/drawn"
}

declare -f bands_sixel bands_kitty > "$work/bands.sh"
printf '. %s/bands.sh; printf "\\033[?25l"; bands_sixel; touch %s/drawn; exec sleep 60\n' "$work" "$work" > "$work/sixel.sh"
xterm -ti vt340 -fn 6x13 -geometry 16x5+0+0 +sb -bw 0 -b 0 -bg black -e bash "$work/sixel.sh" &
terminal=$!
capture xterm-sixel.xwd

printf '. %s/bands.sh; printf "\\033[?25l"; bands_kitty; touch %s/drawn; exec sleep 60\n' "$work" "$work" > "$work/kitty.sh"
LIBGL_ALWAYS_SOFTWARE=1 kitty --config NONE -o placement_strategy=top-left -o window_padding_width=0 \
    -o font_family='DejaVu Sans Mono' -o font_size=10 -o initial_window_width=96 -o initial_window_height=68 \
    -o remember_window_size=no \
    bash "$work/kitty.sh" 2>/dev/null &
terminal=$!
capture kitty-bands.xwd
ls -l "$out"
