#!/usr/bin/env bash
# Durable ingest against the bare-hyper baseline (examples/baseline.rs) under identical load.
#
# Each round runs `hookbox bench` for SECS seconds against the baseline and against hookbox
# (fresh data dir, fsync durability, `log` handler, default info logging to a file), swapping
# which goes first every round. First closed-loop (throughput), then open-loop at RATE req/s
# (latency without coordinated omission; default: half of hookbox's closed-loop median).
# Prints every run and the hookbox ÷ baseline ratios of the medians.
#
#   benches/ingest.sh            # ROUNDS=3 SECS=10 CONNS=32 BODY=1024 RATE=auto
#   ALSO_INTERVAL=1 benches/ingest.sh   # also hookbox with durability = "interval"
#   ALSO_SLED=1 benches/ingest.sh       # also hookbox on the sled backend
#   ALSO_ROUTES=3 benches/ingest.sh     # also hookbox with the source split into 3 routes
#   BACKEND=postgres DATABASE_URL=postgres://postgres@127.0.0.1/hb_bench benches/ingest.sh
#       # hookbox on PostgreSQL (a fresh schema per run, dropped after it); also reports the
#       # CPU per accepted event of hookbox and of the database's backends
#
# Bounded: ROUNDS × 4 runs of SECS seconds, each under `timeout`.

source "$(dirname "$0")/lib.sh"

ROUNDS=${ROUNDS:-3}
SECS=${SECS:-10}
CONNS=${CONNS:-32}
BODY=${BODY:-1024}
RATE=${RATE:-auto}
RESULTS="$WORK/results.txt"
BENCH_LIMIT=$((SECS * 3 + 60))

build
log "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

# run SERVER MODE ROUND ARGS...: one bench run against a fresh server; appends a result line.
run() {
  local server=$1 mode=$2 round=$3 port out
  shift 3
  local config="$WORK/config-$round-$mode.toml"
  check_quiet
  if [[ $server == hookbox-interval ]]; then
    DURABILITY=interval write_config "$config" "$WORK/data-$round-$mode" "$LOG_HANDLER"
  elif [[ $server == hookbox-sled ]]; then
    BACKEND=sled write_config "$config" "$WORK/data-$round-$mode" "$LOG_HANDLER"
  elif [[ $server == hookbox-routes ]]; then
    ROUTES=$ALSO_ROUTES write_config "$config" "$WORK/data-$round-$mode" "$LOG_HANDLER"
  else
    write_config "$config" "$WORK/data-$round-$mode" "$LOG_HANDLER"
  fi
  if [[ $server == baseline ]]; then
    start_baseline
    port=$BASELINE_PORT
  else
    start_hookbox "$config" "$WORK/hookbox.log"
    port=$HOOKBOX_PORT
  fi
  local pg_db="" pg_before=() pg_pids=() hb_before=0
  if [[ ${BACKEND:-} == postgres && $server != baseline ]]; then
    pg_db=$(basename "${DATABASE_URL%%\?*}")
    mapfile -t pg_pids < <(pg_backends "$pg_db")
    for pid in "${pg_pids[@]}"; do pg_before+=("$pid:$(cpu_ticks "$pid")"); done
    hb_before=$(cpu_ticks "$HOOKBOX_PID")
  fi
  out=$(bench "$port" "$config" --connections "$CONNS" --duration "$SECS" --body-size "$BODY" "$@")
  if [[ -n $pg_db ]]; then cpu_per_event "$server" "$mode" "$pg_db" "$out" "$hb_before" "${pg_before[@]}"; fi
  if [[ $server == baseline ]]; then stop "$BASELINE_PID"; else stop "$HOOKBOX_PID"; fi
  drop_store "$WORK/data-$round-$mode"
  echo "$server $mode $round $out" >>"$RESULTS"
  log "$server $mode round $round: $(json requests_per_second latency_ms.p99 errors <<<"$out" |
    awk '{ printf "%.0f req/s, p99 %.2f ms, %s errors", $1, $2, $3 }')"
  sleep 1
}

# cpu_per_event SERVER MODE DB REPORT HOOKBOX_TICKS_BEFORE PID:TICKS...: logs µs of CPU per
# accepted event of hookbox and of DB's backends over the run, and appends them to $CPU.
CPU="$WORK/cpu.txt"
cpu_per_event() {
  local server=$1 mode=$2 db=$3 report=$4 hb_before=$5 pid ticks pg=0 accepted hz
  shift 5
  declare -A before=()
  for entry in "$@"; do before[${entry%%:*}]=${entry#*:}; done
  for pid in $(pg_backends "$db"); do
    ticks=$(cpu_ticks "$pid")
    pg=$((pg + ticks - ${before[$pid]:-0}))
  done
  accepted=$(json accepted <<<"$report")
  hz=$(getconf CLK_TCK)
  awk -v s="$server" -v m="$mode" -v pg="$pg" -v hb=$(($(cpu_ticks "$HOOKBOX_PID") - hb_before)) \
    -v n="$accepted" -v hz="$hz" 'BEGIN { if (n > 0) printf "%s %s %.0f %.0f\n", s, m,
      pg * 1e6 / hz / n, hb * 1e6 / hz / n }' | tee -a "$CPU" |
    awk '{ printf "CPU per accepted event: PostgreSQL backends %s µs, hookbox %s µs\n", $3, $4 }' >&2
}

# alternate MODE ARGS...: ROUNDS rounds, swapping the order each round.
alternate() {
  local mode=$1 round
  shift
  for ((round = 1; round <= ROUNDS; round++)); do
    if ((round % 2)); then
      run baseline "$mode" "$round" "$@"
      run hookbox "$mode" "$round" "$@"
    else
      run hookbox "$mode" "$round" "$@"
      run baseline "$mode" "$round" "$@"
    fi
    if [[ -n ${ALSO_INTERVAL:-} ]]; then run hookbox-interval "$mode" "$round" "$@"; fi
    if [[ -n ${ALSO_SLED:-} ]]; then run hookbox-sled "$mode" "$round" "$@"; fi
    if [[ -n ${ALSO_ROUTES:-} ]]; then run hookbox-routes "$mode" "$round" "$@"; fi
  done
}

alternate closed
if [[ $RATE == auto ]]; then
  RATE=$(awk '$1 == "hookbox" && $2 == "closed"' "$RESULTS" | cut -d' ' -f4- |
    while read -r line; do json requests_per_second <<<"$line"; done |
    sort -g | awk '{ v[NR] = $1 } END { printf "%d", v[int((NR + 1) / 2)] / 2 }')
fi
log "open loop at $RATE req/s"
alternate open --rate "$RATE"

python3 - "$RESULTS" "$CONNS" "$BODY" "$SECS" <<'EOF'
import json, statistics, sys
path, conns, body, secs = sys.argv[1:]
runs = {}
for line in open(path):
    server, mode, _round, doc = line.split(" ", 3)
    runs.setdefault((server, mode), []).append(json.loads(doc))
print(f"\n{conns} connections, {body}-byte stripe events, {secs}s per run; medians of "
      f"{len(runs[('hookbox', 'closed')])} runs each")
print(f"{'mode':<8}{'server':<18}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'p99.9 ms':>10}{'errors':>8}")
for mode in ("closed", "open"):
    med = {}
    for server in ("baseline", "hookbox", "hookbox-interval", "hookbox-sled", "hookbox-routes"):
        rs = runs.get((server, mode))
        if not rs:
            continue
        m = lambda f: statistics.median(f(r) for r in rs)
        med[server] = (m(lambda r: r["requests_per_second"]), m(lambda r: r["latency_ms"]["p50"]),
                       m(lambda r: r["latency_ms"]["p99"]), m(lambda r: r["latency_ms"]["p999"]))
        errors = sum(r["errors"] for r in rs)
        print(f"{mode:<8}{server:<18}{med[server][0]:>10.0f}{med[server][1]:>10.2f}"
              f"{med[server][2]:>10.2f}{med[server][3]:>10.2f}{errors:>8}")
    b = med["baseline"]
    for server in ("hookbox", "hookbox-sled", "hookbox-routes"):
        if server in med:
            h = med[server]
            print(f"{mode:<8}{server + '/baseline':<18}{h[0] / b[0]:>10.2f}{h[1] / b[1]:>10.2f}"
                  f"{h[2] / b[2]:>10.2f}{h[3] / b[3]:>10.2f}")
EOF
if [[ -s $CPU ]]; then
  for mode in closed open; do
    awk -v m="$mode" '$2 == m { pg[++n] = $3; hb[n] = $4 } END { if (n) {
      asort(pg); asort(hb); printf "%s: CPU per accepted event, median of %d: PostgreSQL backends %d µs, hookbox %d µs\n",
        m, n, pg[int((n + 1) / 2)], hb[int((n + 1) / 2)] } }' "$CPU"
  done
fi
