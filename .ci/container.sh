#!/usr/bin/env bash
# The container image (contrib/container): built with podman from this build's binary, then
# checked without running a container (this sandbox cannot): its config (user, port, volume,
# health check) is inspected, and its filesystem is exported and the entrypoint run from it in
# a chroot as the image's user — `--version`, `config check`, then `serve` answering
# `hookbox health` — so a missing library, CA bundle or file fails here.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v podman >/dev/null; then
    echo "== installing podman"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends podman
fi
cargo build --locked --quiet
tag=localhost/hookbox-ci:$$
work=$(mktemp -d)
pid=
# Each step may fail (a server already gone answers kill with an error, and wait reports the
# SIGTERM it died of): none of that may become the script's exit status under `set -e`.
cleanup() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    if [ -n "${cid:-}" ]; then podman rm -f "$cid" >/dev/null 2>&1 || true; fi
    podman rmi -f "$tag" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
bash contrib/container/build.sh target/debug/hookbox "$tag" >/dev/null

config=$(podman image inspect --format \
    '{{.Config.User}} {{json .Config.ExposedPorts}} {{json .Config.Volumes}} {{json .Config.Healthcheck.Test}}' \
    "$tag")
echo "image: $config"
for want in '10001:10001' '"8080/tcp"' '"/data"' 'bin/hookbox","health"'; do
    case "$config" in *"$want"*) ;; *) echo "the image lacks $want"; exit 1 ;; esac
done

cid=$(podman create "$tag")
mkdir "$work/root"
podman export "$cid" | tar -x -C "$work/root"
test -s "$work/root/etc/ssl/certs/ca-certificates.crt"
as_user() { chroot --userspec=10001:10001 "$work/root" "$@"; }
as_user /usr/local/bin/hookbox --version
as_user /usr/local/bin/hookbox config check --config /etc/hookbox/config.toml >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# chroot itself, not the shell function, in the background: it execs hookbox, so $! is
# hookbox's own pid and cleanup's kill reaches it.
chroot --userspec=10001:10001 "$work/root" /usr/local/bin/hookbox serve \
    --config /etc/hookbox/config.toml --listen "127.0.0.1:$port" --data-dir /data \
    >"$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
    as_user /usr/local/bin/hookbox health --server "http://127.0.0.1:$port" >/dev/null 2>&1 && break
    sleep 0.2
done
if ! as_user /usr/local/bin/hookbox health --server "http://127.0.0.1:$port"; then
    cat "$work/serve.log"
    exit 1
fi
echo "the image's hookbox serves from its own root as user 10001"
