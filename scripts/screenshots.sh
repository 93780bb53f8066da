#!/usr/bin/env bash
# Real screenshots of the TUI: replays recorded builds in a tmux terminal, captures the screen with
# its colours (capture-pane -e) and converts each capture to SVG (scripts/ansi2svg.py).
# usage: scripts/screenshots.sh [OUT_DIR]     (default: screenshots/)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-screenshots}
mkdir -p "$out"
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
