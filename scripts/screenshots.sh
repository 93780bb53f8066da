#!/usr/bin/env bash
# Real screenshots of the TUI: replays recorded builds in a tmux terminal, captures the screen with
# its colours (capture-pane -e) and converts each capture to SVG (scripts/ansi2svg.py).
# usage: scripts/screenshots.sh [OUT_DIR]     (default: screenshots/)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-screenshots}
mkdir -p "$out"
for tool in tmux python3 pigz; do
  command -v "$tool" >/dev/null || { echo "screenshots: $tool missing: apt-get install $tool" >&2; exit 1; }
done
cargo build --quiet
bin=$PWD/target/debug/stagecraft
sock=stagecraft-shots-$$
tm() { tmux -L "$sock" -f /dev/null "$@"; }
trap 'tm kill-server 2>/dev/null || true' EXIT

# wait_for TEXT: poll the screen until TEXT shows (the UI redraws on its own schedule).
wait_for() {
  for _ in $(seq 1 1500); do
    if tm capture-pane -p -t s | grep -qF -- "$1"; then return 0; fi
    sleep 0.02
  done
  echo "screenshots: never saw '$1'" >&2
  tm capture-pane -p -t s >&2
  return 1
}

# shot NAME BG FG TITLE: capture the current screen as NAME.svg.
shot() {
  tm capture-pane -e -p -t s | python3 scripts/ansi2svg.py --bg "$2" --fg "$3" --title "$4" >"$out/$1.svg"
  echo "wrote $out/$1.svg"
}

# start COLS ROWS ARGS...: a fresh terminal running stagecraft ARGS.
start() {
  tm kill-session -t s 2>/dev/null || true
  local cols=$1 rows=$2
  shift 2
  tm new-session -d -s s -x "$cols" -y "$rows" -e TERM=xterm-256color "$bin" "$@" \; set-option -t s status off
}

dark=("#1e1e2e" "#cdd6f4")
ev=tests/data/events

# 1. A build in progress: builder compiling, docs done, final waiting.
start 120 40 tui --replay "$ev/multistage.jsonl" --speed 1
wait_for "module_060"
shot building "${dark[@]}" "stagecraft tui: a multi-stage build in progress (dark)"

# 2. The finished build.
wait_for "✓ built"
shot finished "${dark[@]}" "stagecraft tui: finished, cache hits and miss reasons, sizes"

# 3. A failure: the failing step selected, its logs only, searching for errors.
start 120 40 tui --replay "$ev/failed.jsonl" --speed 0
wait_for "✗ failed"
tm send-keys -t s Tab Enter / e r r o r Enter
wait_for "2 matches"
shot failed "${dark[@]}" "stagecraft tui: a failed step, its logs, a search"

# 4. A large graph (36 stages) scrolled, at 80×24.
start 80 24 tui --replay "$ev/large.jsonl" --speed 0 --theme colorblind
wait_for "tool-11"
shot large-80x24 "${dark[@]}" "stagecraft tui at 80×24: 36 stages, colour-blind-safe theme"

# 5. Help overlay, light theme.
start 120 40 tui --replay "$ev/multistage.jsonl" --speed 0 --theme light
wait_for "✓ built"
tm send-keys -t s '?'
wait_for "any key closes"
shot help-light "#eff1f5" "#4c4f69" "stagecraft tui: keys (?), light theme"

# 6. High contrast.
start 120 40 tui --replay "$ev/failed.jsonl" --speed 0 --theme high-contrast
wait_for "✗ failed"
shot high-contrast "#000000" "#ffffff" "stagecraft tui: high-contrast theme"

# 7-8. The debugger's diff view and provenance popup need a real build: a store of our own with a
# busybox base made from Debian's busybox-static, as the tests make it.
work=$(mktemp -d)
trap 'tm kill-server 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/rootfs/bin" "$work/rootfs/etc" "$work/rootfs/tmp" "$work/ctx"
cp /bin/busybox "$work/rootfs/bin/busybox"
for applet in $(/bin/busybox --list-full); do
  [ -e "$work/rootfs/$applet" ] && continue
  mkdir -p "$work/rootfs/$(dirname "$applet")"
  ln -s /bin/busybox "$work/rootfs/$applet"
done
"$bin" --root "$work/store" image import "rootfs:$work/rootfs" -t busybox:latest >/dev/null
cat >"$work/ctx/Dockerfile" <<'DOCKERFILE'
FROM busybox AS builder
WORKDIR /src
RUN head -c 2000000 /dev/urandom > app.o && head -c 3000000 /dev/urandom > app
RUN printf 'version=1\nmode=debug\n' > /etc/app.conf
FROM busybox AS final
COPY --from=builder /src/app /usr/local/bin/app
RUN printf 'version=2\nmode=release\n' > /etc/app.conf
DOCKERFILE
start 120 40 --root "$work/store" build --progress=tty "$work/ctx"
wait_for "✓ built"
tm send-keys -t s Tab Left BTab m
wait_for "marked builder"
tm send-keys -t s Tab Right BTab d
wait_for "never shipped"
# Largest first (/src, opened, /usr), /etc last: open it, select app.conf.
tm send-keys -t s G l j
wait_for "+mode=release"
shot diff "${dark[@]}" "stagecraft tui: m marks builder, d diffs it against final"
tm send-keys -t s d Tab G t
wait_for "origin (p: chain)"
# /usr is the largest directory: down to usr/local/bin/app, then its chain.
tm send-keys -t s Enter j Enter j Enter j
wait_for "⇐ builder/2 L3"
tm send-keys -t s p
wait_for "created by"
shot provenance "${dark[@]}" "stagecraft tui: where a file of the image came from (p)"

# 9. inspect: a generated 4-layer image (bench/inspect_gen.py), layer 2 with its changes marked.
img=$work/inspect
python3 bench/inspect_gen.py "$img/image" 6000
start 140 40 --root "$img/store" inspect "oci:$img/image:latest"
wait_for "efficiency"
tm send-keys -t s Down Down
wait_for "dup/"
tm send-keys -t s Tab / d 0 1 0 0 Enter
wait_for "f0000"
tm send-keys -t s Down Down Down
wait_for "from layer 2"
shot inspect "${dark[@]}" "stagecraft inspect: layer 2 filtered to d0100, its changes marked, attributes, wasted space"

# wait_count TEXT N: poll until TEXT shows on N lines of the screen.
wait_count() {
  for _ in $(seq 1 1500); do
    if [ "$(tm capture-pane -p -t s | grep -cF -- "$1")" -ge "$2" ]; then return 0; fi
    sleep 0.02
  done
  echo "screenshots: never saw '$1' $2 times" >&2
  tm capture-pane -p -t s >&2
  return 1
}

# 10. A lesson beside its build: lesson 1 after `a` built the single-stage version.
start 160 45 --root "$work/store" learn 1
wait_count "wasted (explain)" 1
tm send-keys -t s a
wait_count "wasted (explain)" 2
shot lesson "${dark[@]}" "stagecraft learn 1: the lesson beside its build, two runs side by side"

# 11. `e` on a step that missed: lesson 5 after a source edit, the COPY . . step explained.
start 140 42 --root "$work/store" learn 5
wait_count "wasted (explain)" 1
tm send-keys -t s a
wait_count "wasted (explain)" 2
tm send-keys -t s 2 g j j e
wait_for "e or any key closes"
shot explain "${dark[@]}" "stagecraft tui: e explains why a step ran, from its real miss reason"
