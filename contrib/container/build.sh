#!/usr/bin/env bash
# Builds the hookbox image from BINARY (e.g. target/dist/hookbox) as TAG: stages a root with the
# binary, the shared libraries `ldd` names, the host's CA bundle, /etc/passwd with the user
# hookbox (10001) and the shipped config.toml, then runs `podman build` on contrib/container/
# Containerfile. Needs podman, ldd and the ca-certificates package.
set -euo pipefail
bin=${1:?usage: build.sh BINARY [TAG]}
tag=${2:-hookbox:latest}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root=$stage/rootfs

install -D -m 0755 "$bin" "$root/usr/local/bin/hookbox"
# The dynamic loader and every library the binary links, at the paths the loader looks in.
for lib in $(ldd "$bin" | grep -o '/[^ ]*'); do
    install -D -m 0755 "$lib" "$root$lib"
done
install -D -m 0644 /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
install -D -m 0644 "$repo/config.toml" "$root/etc/hookbox/config.toml"
printf 'root:x:0:0:root:/:/nonexistent\nhookbox:x:10001:10001:hookbox:/data:/nonexistent\n' \
    > "$root/etc/passwd"
printf 'root:x:0:\nhookbox:x:10001:\n' > "$root/etc/group"
printf 'hosts: files dns\n' > "$root/etc/nsswitch.conf"
mkdir -m 1777 "$root/tmp"
mkdir "$stage/data"

podman build --quiet --format docker -t "$tag" -f "$here/Containerfile" "$stage"
