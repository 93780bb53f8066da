#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to the TUI on the bundled multi-stage example:
# installs what is missing (every package the tests need too, from .ci/packages, the list CI
# installs), builds stagecraft, imports a busybox base image made from Debian's busybox-static
# (no registry needed), and opens the live build. Afterwards `cargo test --all-targets` passes.
set -euo pipefail
cd "$(dirname "$0")"

need=()
mapfile -t packages < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' .ci/packages)
for pkg in "${packages[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ] && [ "$(id -u)" != 0 ]; then
  # Rootless use needs only the packages, installed once by root (README: Rootless).
  echo "missing packages; as root: apt-get install ${need[*]}" >&2
  exit 1
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
command -v cargo >/dev/null || { echo "cargo is required (https://rustup.rs)"; exit 1; }
# cargo's own progress: the first build takes minutes.
cargo build --release
bin=target/release/stagecraft

# The example's base image, made locally from busybox-static.
if ! "$bin" image ls 2>/dev/null | grep -q '^busybox:latest\|/busybox:latest'; then
  rootfs=$(mktemp -d)
  trap 'rm -rf "$rootfs"' EXIT
  mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/tmp" "$rootfs/home/app"
  cp /bin/busybox "$rootfs/bin/busybox"
  for applet in $(/bin/busybox --list-full); do
    mkdir -p "$rootfs/$(dirname "$applet")"
    [ -e "$rootfs/$applet" ] || ln -s /bin/busybox "$rootfs/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n' > "$rootfs/etc/passwd"
  printf 'root:x:0:\napp:x:1000:\n' > "$rootfs/etc/group"
  chmod 1777 "$rootfs/tmp"
  if [ "$(id -u)" = 0 ]; then
    chown 1000:1000 "$rootfs/home/app"
  else
    # A regular user's uid 1000 inside is a subordinate ID outside (newuidmap, /etc/subuid).
    unshare --map-root-user --map-auto chown 1000:1000 "$rootfs/home/app"
  fi
  "$bin" image import "rootfs:$rootfs" -t busybox:latest >/dev/null
fi

cd examples/hello
exec "../../$bin" build -t hello:latest "$@" .
