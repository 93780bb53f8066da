# Sourced by the benchmarks that run BuildKit beside stagecraft: a dockerd of our own (its own
# state dir, see start-dockerd.sh) with busybox loaded and tagged localhost/busybox:latest (the
# BASE the cases build on), stopped again by bench_dockerd_stop unless it was already running.
# Needs HERE (bench/) and DOCKER set; exports DOCKER_HOST.

bench_dockerd_start() {
  BENCH_DOCKERD_DIR=$1
  BENCH_DOCKERD_STARTED=1
  if [ -f "$1/dockerd.pid" ] && kill -0 "$(cat "$1/dockerd.pid")" 2>/dev/null; then
    BENCH_DOCKERD_STARTED=0
  fi
  LOAD_BUSYBOX=1 "$HERE/peers/start-dockerd.sh" "$1" >/dev/null
  export DOCKER_HOST=unix://$1/docker.sock
  "$DOCKER" image inspect localhost/busybox:latest >/dev/null 2>&1 ||
    "$DOCKER" tag busybox:latest localhost/busybox:latest
}

bench_dockerd_stop() {
  if [ "${BENCH_DOCKERD_STARTED:-0}" = 1 ]; then
    "$HERE/peers/stop-dockerd.sh" "$BENCH_DOCKERD_DIR" >/dev/null 2>&1
  fi
  true
}
