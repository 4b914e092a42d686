#!/usr/bin/env bash
# Backlog and big-store numbers for hookbox (release build, fsync durability, loopback only).
#
#   benches/backlog.sh drain    # drain rate of QUEUED queued events with `log` and with
#                               # `forward` to the baseline; start-up time with them queued;
#                               # and the drain of a live run (`bench --wait-drained`)
#   benches/backlog.sh stored   # ingest with STORED events already stored vs an empty store
#                               # (alternating ROUNDS times), RSS with them stored
#   benches/backlog.sh all      # both
#
# Env: QUEUED=100000 STORED=1000000 ROUNDS=3 SECS=10 CONNS=32 FILL_CONNS=256
#      SMALL_CACHE=8388608 (a last run on the full store with this cache size)
#      WORKER_CONCURRENCY=256 (worker.concurrency while draining a backlog; 256 as shipped).
#
# A queued backlog is made by filling hookbox while its only handler slot hangs on a TCP
# listener that never accepts (forward with a 10-minute timeout, worker concurrency 1), then
# restarting it with the handler under test: every event is then due at once.
# Bounded: every fill is count- and time-limited, every wait has a timeout.

source "$(dirname "$0")/lib.sh"

QUEUED=${QUEUED:-100000}
STORED=${STORED:-1000000}
ROUNDS=${ROUNDS:-3}
SECS=${SECS:-10}
CONNS=${CONNS:-32}
FILL_CONNS=${FILL_CONNS:-256}
SMALL_CACHE=${SMALL_CACHE:-8388608}
DRAIN_LIMIT=${DRAIN_LIMIT:-900}
STARTUP_LIMIT=${STARTUP_LIMIT:-300}

# queue_backlog DATA_DIR: leaves QUEUED events queued in DATA_DIR; sets BACKLOG to how many.
queue_backlog() {
  local data=$1 config="$WORK/fill.toml" out
  write_config "$config" "$data" "$(forward_handler "$HOLE_PORT" 10m)" 'concurrency = 1'
  start_hookbox "$config" "$WORK/fill.log"
  out=$(bench "$HOOKBOX_PORT" "$config" --connections "$FILL_CONNS" --requests "$QUEUED" \
    --duration 900)
  stop "$HOOKBOX_PID"
  BACKLOG=$(json accepted <<<"$out")
}

# drain_backlog NAME HANDLER_TOML: queue a backlog, restart with the handler, time the drain.
drain_backlog() {
  local name=$1 handler=$2 data="$WORK/data-$1" config="$WORK/$1.toml" queued out secs
  queue_backlog "$data"
  queued=$BACKLOG
  # The drain measures the worker, so the one forward destination may use every slot (by
  # default a destination gets half of them).
  local workers=${WORKER_CONCURRENCY:-256}
  write_config "$config" "$data" "$handler" "concurrency = $workers
destination_concurrency = $workers"
  check_quiet
  start_hookbox "$config" "$WORK/$name.log"
  local startup=$WAITED
  out=$(bench "$HOOKBOX_PORT" "$config" --requests 0 --wait-drained --drain-timeout "$DRAIN_LIMIT")
  secs=$(json drain.seconds_from_start <<<"$out")
  if [[ ${BACKEND:-} == postgres ]]; then # every backend of the drain started with this hookbox
    awk -v t="$(cpu_ticks $(pg_backends "$(basename "${DATABASE_URL%%\?*}")"))" -v hz="$(getconf CLK_TCK)" \
      -v q="$queued" 'BEGIN { printf "drain: PostgreSQL backends %.0f µs of CPU per event\n", t * 1e6 / hz / q }' >&2
  fi
  stop "$HOOKBOX_PID"
  drop_store "$data"
  awk -v n="$name" -v q="$queued" -v s="$secs" -v u="$startup" 'BEGIN {
    printf "%-28s %8d queued; start-up %.3fs; drained %.2fs after /healthz = %.0f events/s (%.0f/s counting start-up)\n",
      "drain, " n ":", q, u, s, q / s, q / (s + u) }'
}

# live_drain: ingest QUEUED events into an empty store with `log` and wait until all are done.
live_drain() {
  local config="$WORK/live.toml" out
  write_config "$config" "$WORK/data-live" "$LOG_HANDLER"
  check_quiet
  start_hookbox "$config" "$WORK/live.log"
  out=$(bench "$HOOKBOX_PORT" "$config" --connections "$CONNS" --requests "$QUEUED" \
    --duration 900 --wait-drained --drain-timeout "$DRAIN_LIMIT")
  stop "$HOOKBOX_PID"
  drop_store "$WORK/data-live"
  json requests_per_second drain.events drain.seconds_from_start drain.seconds_after_load \
    drain.events_per_second <<<"$out" | awk '{
    printf "%-28s %8d events ingested at %.0f req/s, all processed %.2fs after the start (%.2fs after the load) = %.0f events/s\n",
      "drain, log, during ingest:", $2, $1, $3, $4, $5 }'
}

drain() {
  start_black_hole
  start_baseline
  drain_backlog log "$LOG_HANDLER"
  drain_backlog forward "$(forward_handler "$BASELINE_PORT" 10s)"
  live_drain
  stop "$BASELINE_PID"
  stop "$HOLE_PID" 5
}

# measure DATA_DIR LABEL: one closed-loop run; prints
# "LABEL req/s p99 rss_kib peak_kib startup_s rss_at_start_kib".
measure() {
  local data=$1 label=$2 config="$WORK/measure.toml" out rss peak idle
  write_config "$config" "$data" "$LOG_HANDLER"
  start_hookbox "$config" "$WORK/stored.log"
  local startup=$WAITED
  idle=$(rss_kib "$HOOKBOX_PID")
  out=$(bench "$HOOKBOX_PORT" "$config" --connections "$CONNS" --duration "$SECS")
  rss=$(rss_kib "$HOOKBOX_PID")
  peak=$(peak_rss_kib "$HOOKBOX_PID")
  stop "$HOOKBOX_PID"
  echo "$label $(json requests_per_second latency_ms.p99 <<<"$out") $rss $peak $startup $idle"
  sleep 1
}

stored() {
  local full="$WORK/data-full" config="$WORK/fill-full.toml" out round
  write_config "$config" "$full" "$LOG_HANDLER"
  log "storing $STORED events with $FILL_CONNS connections"
  start_hookbox "$config" "$WORK/fill-full.log"
  out=$(bench "$HOOKBOX_PORT" "$config" --connections "$FILL_CONNS" --requests "$STORED" \
    --duration 1800)
  log "fill: $(json accepted requests_per_second <<<"$out" | awk '{ printf "%d events at %.0f req/s", $1, $2 }')"
  bench "$HOOKBOX_PORT" "$config" --requests 0 --wait-drained --drain-timeout "$DRAIN_LIMIT" >/dev/null
  log "filled: rss $(rss_kib "$HOOKBOX_PID") KiB, peak $(peak_rss_kib "$HOOKBOX_PID") KiB, data dir $(du -sh "$full" | cut -f1)"
  stop "$HOOKBOX_PID"
  local results="$WORK/stored.txt"
  for ((round = 1; round <= ROUNDS; round++)); do
    check_quiet
    if ((round % 2)); then
      measure "$WORK/data-empty" empty >>"$results"
      measure "$full" full >>"$results"
    else
      measure "$full" full >>"$results"
      measure "$WORK/data-empty" empty >>"$results"
    fi
    rm -rf "$WORK/data-empty"
    tail -2 "$results" >&2
  done
  # The cache bounds most of the memory: once more with a small one.
  check_quiet
  CACHE_BYTES=$SMALL_CACHE measure "$full" small-cache >>"$results"
  tail -1 "$results" >&2
  python3 - "$results" "$STORED" "$SMALL_CACHE" <<'EOF'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
med = lambda label, i: statistics.median(float(r[i]) for r in rows if r[0] == label)
mib = lambda kib: kib / 1024
empty, full = med("empty", 1), med("full", 1)
print(f"stored, empty store:          {empty:8.0f} req/s, p99 {med('empty', 2):.2f} ms")
print(f"stored, {int(sys.argv[2]):>7} stored:       {full:8.0f} req/s, p99 {med('full', 2):.2f} ms"
      f" = {100 * (full / empty - 1):+.1f} % vs the empty store")
print(f"stored, RSS with them stored:  {mib(med('full', 6)):.1f} MiB idle after start-up "
      f"({med('full', 5):.3f}s), {mib(med('full', 3)):.1f} MiB after the run (peak "
      f"{mib(med('full', 4)):.1f} MiB); empty store: {mib(med('empty', 3)):.1f} MiB after the run")
small = [r for r in rows if r[0] == "small-cache"][0]
print(f"stored, cache {int(sys.argv[3]) >> 20} MiB:     {float(small[1]):8.0f} req/s, p99 "
      f"{float(small[2]):.2f} ms, RSS {mib(float(small[6])):.1f} MiB idle, "
      f"{mib(float(small[3])):.1f} MiB after the run")
EOF
}

build
log "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
case "${1:-all}" in
  drain) drain ;;
  stored) stored ;;
  all) drain && stored ;;
  *) echo "usage: $0 [drain|stored|all]" >&2; exit 2 ;;
esac
