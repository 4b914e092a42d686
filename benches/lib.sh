# Helpers shared by benches/*.sh (sourced, not run). Everything listens on 127.0.0.1 only, and
# every wait is bounded: a process that does not stop in time is killed by its own pid.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HOOKBOX=${HOOKBOX_BIN:-$ROOT/target/release/hookbox} # another build to compare against
LOADGEN=${LOADGEN_BIN:-$HOOKBOX}                      # the `hookbox bench` that makes the load
BASELINE=${BASELINE_BIN:-$ROOT/target/release/examples/baseline}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/hookbox-bench.XXXXXX")
ADMIN_TOKEN="bench-admin-token-0123456789"
FORWARD_SECRET="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
HOOKBOX_PORT=${HOOKBOX_PORT:-18480}
BASELINE_PORT=${BASELINE_PORT:-18490}
HOLE_PORT=${HOLE_PORT:-18499}
STARTED_PIDS=()

# Secrets from the environment would override the generated config's on one side only.
unset HOOKBOX_ADMIN_TOKEN STRIPE_WEBHOOK_SECRET STRIPE_FORWARD_SECRET

cleanup() {
  local pid
  for pid in "${STARTED_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  if [[ -z "${KEEP_WORK:-}" ]]; then rm -rf "$WORK"; else echo "kept $WORK" >&2; fi
}
trap cleanup EXIT

log() { echo "[$(date +%T)] $*" >&2; }

build() {
  if [[ -n ${NO_BUILD:-} ]]; then return; fi # binaries given through HOOKBOX_BIN, BASELINE_BIN
  log "building release binaries"
  (cd "$ROOT" && timeout 1200 cargo build --release --quiet --bin hookbox --example baseline)
}

# Percent of CPU time spent busy over the next 2 seconds, over all cores.
cpu_busy_pct() {
  local a b
  a=$(awk '/^cpu / { print $2+$3+$4+$5+$6+$7+$8+$9, $5+$6 }' /proc/stat)
  sleep 2
  b=$(awk '/^cpu / { print $2+$3+$4+$5+$6+$7+$8+$9, $5+$6 }' /proc/stat)
  awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " ");
    t = y[1] - x[1]; busy = (t > 0) ? 100 * (1 - (y[2] - x[2]) / t) : 0; printf "%d", busy }'
}

# Waits (at most QUIET_WAIT seconds, default 600) until other work on the machine leaves the
# CPUs at most QUIET_BUSY percent busy (default 10), so runs do not measure someone's build.
check_quiet() {
  local limit=${QUIET_WAIT:-600} waited=0 busy
  while busy=$(cpu_busy_pct); ((busy > ${QUIET_BUSY:-10})); do
    if ((waited >= limit)); then
      log "WARNING: CPUs still ${busy}% busy after ${limit}s of waiting; the numbers will be noisy"
      return 0
    fi
    if ((waited == 0)); then log "CPUs ${busy}% busy with other work; waiting for a quiet moment"; fi
    waited=$((waited + 2))
  done
}

# write_config FILE DATA_DIR HANDLER_TOML [WORKER_TOML]: stripe source, BACKEND (default redb),
# DURABILITY (default fsync), cache CACHE_BYTES (default 64 MiB, as shipped); ROUTES=N gives the
# source N routes (each taking every event) instead of one handler.
write_config() {
  local file=$1 data=$2 handler=$3 worker=${4:-}
  cat >"$file" <<EOF
[server]
listen = "127.0.0.1:$HOOKBOX_PORT"
shutdown_timeout = "2s"

[storage]
backend = "${BACKEND:-redb}"
data_dir = "$data"
cache_capacity_bytes = ${CACHE_BYTES:-67108864}
durability = "${DURABILITY:-fsync}"

[worker]
$worker

[admin]
token = "$ADMIN_TOKEN"

[sources.stripe]
scheme = "stripe"
secrets = ["whsec_bench_stripe_secret"]
EOF
  if [[ ${BACKEND:-} == postgres ]]; then # a fresh schema per run in DATABASE_URL's database
    printf 'database_url = "%s"\ndatabase_schema = "bench_%s"\npool_size = %s\n' \
      "${DATABASE_URL:?BACKEND=postgres needs DATABASE_URL}" "$(basename "$data" | tr -c 'a-z0-9\n' _)" \
      "${POOL_SIZE:-16}" >"$file.storage"
    sed -i "/^durability = /r $file.storage" "$file"
  fi
  if [[ -n ${ROUTES:-} ]]; then # ROUTES=N: N routes that each take every event, same handler
    for ((i = 1; i <= ROUTES; i++)); do
      printf '\n[[sources.stripe.routes]]\nname = "r%s"\n[sources.stripe.routes.handler]\n%s\n' \
        "$i" "$handler" >>"$file"
    done
  else
    printf '\n[sources.stripe.handler]\n%s\n' "$handler" >>"$file"
  fi
}

LOG_HANDLER='type = "log"'
forward_handler() { # forward_handler PORT TIMEOUT
  printf 'type = "forward"\nurl = "http://127.0.0.1:%s/hook"\nsecret = "%s"\ntimeout = "%s"\n' \
    "$1" "$FORWARD_SECRET" "$2"
}

# wait_http URL SECONDS: polls until URL answers 2xx; sets WAITED to the seconds it took.
wait_http() {
  local url=$1 limit=$2 start now
  start=$(date +%s.%N)
  while ! curl -sf -m 1 -o /dev/null "$url"; do
    now=$(date +%s.%N)
    if awk -v s="$start" -v n="$now" -v l="$limit" 'BEGIN { exit !(n - s > l) }'; then
      log "$url did not answer within ${limit}s"
      return 1
    fi
    sleep 0.01
  done
  now=$(date +%s.%N)
  WAITED=$(awk -v s="$start" -v n="$now" 'BEGIN { printf "%.3f", n - s }')
}

# start_hookbox CONFIG LOGFILE: runs hookbox in the background; sets HOOKBOX_PID, and WAITED
# to the seconds until /healthz answered.
start_hookbox() {
  RUST_LOG=${HOOKBOX_LOG:-info} "$HOOKBOX" serve --config "$1" >>"$2" 2>&1 &
  HOOKBOX_PID=$!
  STARTED_PIDS+=("$HOOKBOX_PID")
  wait_http "http://127.0.0.1:$HOOKBOX_PORT/healthz" "${STARTUP_LIMIT:-120}"
}

start_baseline() {
  "$BASELINE" "127.0.0.1:$BASELINE_PORT" 2>/dev/null &
  BASELINE_PID=$!
  STARTED_PIDS+=("$BASELINE_PID")
  wait_http "http://127.0.0.1:$BASELINE_PORT/" 10
}

# A TCP listener that never accepts: a forward to it hangs until the handler's timeout, so
# every event but the one in flight stays queued.
start_black_hole() {
  python3 -c "
import socket, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $HOLE_PORT))
s.listen(1)
time.sleep(1800)
" &
  HOLE_PID=$!
  STARTED_PIDS+=("$HOLE_PID")
  sleep 0.3
}

# stop PID [SECONDS]: SIGTERM, then SIGKILL if it has not exited in time.
stop() {
  local pid=$1 limit=${2:-30} i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < limit * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  log "pid $pid still running after ${limit}s; killing it"
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# bench PORT CONFIG ARGS...: one `hookbox bench --json` run against 127.0.0.1:PORT.
bench() {
  local port=$1 config=$2
  shift 2
  timeout "${BENCH_LIMIT:-1500}" "$LOADGEN" bench --to "http://127.0.0.1:$port" --source stripe \
    --config "$config" --json "$@"
}

# json FIELD...: reads one JSON object on stdin, prints the given dotted fields.
json() {
  python3 -c '
import json, sys
doc = json.load(sys.stdin)
out = []
for path in sys.argv[1:]:
    v = doc
    for part in path.split("."):
        v = v[part] if isinstance(v, dict) else None
    out.append(str(v))
print(" ".join(out))
' "$@"
}

# drop_store DATA_DIR: removes a run's store: the data dir, and with BACKEND=postgres its schema.
drop_store() {
  rm -rf "$1"
  if [[ ${BACKEND:-} == postgres ]]; then
    PGOPTIONS="-c client_min_messages=warning" psql "$DATABASE_URL" -qc "DROP SCHEMA IF EXISTS bench_$(basename "$1" | tr -c 'a-z0-9\n' _) CASCADE" >/dev/null
  fi
}

# cpu_ticks PID...: user + system clock ticks the processes used so far, summed.
cpu_ticks() {
  local pid sum=0
  for pid in "$@"; do
    if [[ -r /proc/$pid/stat ]]; then
      sum=$((sum + $(awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$pid/stat")))
    fi
  done
  echo "$sum"
}

# pg_backends DB: pids of the PostgreSQL backends serving database DB (their titles name it).
pg_backends() { pgrep -f "^postgres: ([^ ]+: )?[^ ]+ $1 " || true; }

rss_kib() { ps -o rss= -p "$1" | tr -d ' '; }
peak_rss_kib() { awk '/VmHWM/ { print $2 }' "/proc/$1/status"; }
