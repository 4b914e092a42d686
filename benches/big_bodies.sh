#!/usr/bin/env bash
# Memory while large events stream in: CONNS connections sending BODY-byte events (default 16 ×
# 1 MB) for ROUNDS rounds of SECS seconds into one hookbox (fresh data dir, `log` handler), with
# its RSS and peak RSS after each round. It must stay flat: the store's memory is bounded by its
# cache, not by what is stored.
#
#   benches/big_bodies.sh                 # BACKEND=redb ROUNDS=3 SECS=8 CONNS=16 BODY=1000000
#   BACKEND=sled benches/big_bodies.sh    # the same on sled
#
# Bounded: ROUNDS runs of SECS seconds, each under `timeout`.

source "$(dirname "$0")/lib.sh"

ROUNDS=${ROUNDS:-3}
SECS=${SECS:-8}
CONNS=${CONNS:-16}
BODY=${BODY:-1000000}
BENCH_LIMIT=$((SECS * 3 + 60))

build
log "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); backend ${BACKEND:-redb}"
config="$WORK/big.toml"
write_config "$config" "$WORK/data" "$LOG_HANDLER"
start_hookbox "$config" "$WORK/hookbox.log"
for ((round = 1; round <= ROUNDS; round++)); do
  check_quiet
  out=$(bench "$HOOKBOX_PORT" "$config" --connections "$CONNS" --duration "$SECS" --body-size "$BODY")
  echo "round $round: $(json accepted requests_per_second <<<"$out" |
    awk '{ printf "%d accepted, %.0f req/s", $1, $2 }'), rss $(($(rss_kib "$HOOKBOX_PID") / 1024)) MiB," \
    "peak $(($(peak_rss_kib "$HOOKBOX_PID") / 1024)) MiB, data dir $(du -sh "$WORK/data" | cut -f1)"
done
stop "$HOOKBOX_PID"
