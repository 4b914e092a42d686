#!/usr/bin/env bash
# Checks the running server against its OpenAPI document (src/http/openapi.json, served at
# /openapi.json): schemathesis (from PyPI, in a venv) generates requests for every documented
# operation — valid and invalid ones — and fails on any 5xx, or any answer whose status,
# content type, headers or body the document does not describe. The built binary runs on a
# loopback port with the shipped config.toml, a temp data dir and a throwaway admin token,
# seeded with one event so lookups can find something. Bounded: a few examples per operation,
# and the whole run is stopped after 170 s.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=$(realpath -m "${SCHEMATHESIS_VENV:-target/schemathesis-venv}")
VERSION=4.32.5
if [ ! -x "$VENV/bin/schemathesis" ] || ! "$VENV/bin/schemathesis" --version | grep -q "$VERSION"; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$VERSION"
fi

cargo build --locked --quiet
BIN=$PWD/target/debug/hookbox
work=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE=http://127.0.0.1:$PORT
export HOOKBOX_ADMIN_TOKEN=schemathesis-admin-token-0123456789
"$BIN" serve --config config.toml --listen "127.0.0.1:$PORT" --data-dir "$work/data" \
    >"$work/hookbox.log" 2>&1 &
pid=$!
cleanup() {
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

for _ in $(seq 1 100); do
    curl -fsS "$BASE/readyz" >/dev/null 2>&1 && break
    sleep 0.1
done
curl -fsS "$BASE/readyz" >/dev/null || { cat "$work/hookbox.log"; exit 1; }

# One signed Stripe event, so status and admin lookups have something to find.
echo '{"id":"evt_schemathesis","object":"event","type":"invoice.paid"}' >"$work/evt.json"
mapfile -t signed < <("$BIN" sign --source stripe --config config.toml --body-file "$work/evt.json")
args=()
for h in "${signed[@]}"; do args+=(-H "$h"); done
curl -fsS "${args[@]}" --data-binary @"$work/evt.json" "$BASE/webhooks/stripe" >/dev/null

status=0
# Run from the temp dir: schemathesis keeps a cache in its working directory.
cd "$work"
timeout 170 "$VENV/bin/schemathesis" run "$BASE/openapi.json" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
    --header "Authorization: Bearer $HOOKBOX_ADMIN_TOKEN" \
    --phases examples,coverage,fuzzing \
    --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-25}" \
    --seed "${SCHEMATHESIS_SEED:-1}" \
    --request-timeout 10 \
    --generation-database none \
    --workers 1 \
    --no-color || status=$?
if [ "$status" -ne 0 ]; then
    echo "== hookbox log (last 40 lines)"
    grep -v " INFO " "$work/hookbox.log" | tail -40
fi
exit "$status"
