#!/usr/bin/env bash
# contrib/prometheus: the rules parse, their unit tests pass, and each rule broken on purpose
# makes the unit tests fail (so they can). Needs promtool (Debian's `prometheus` package).
set -euo pipefail
cd "$(dirname "$0")/../contrib/prometheus"
promtool check rules alerts.yml
promtool test rules alerts_test.yml
broken=$(mktemp -d)
trap 'rm -rf "$broken"' EXIT
cp alerts_test.yml "$broken/"
# One mutation per alert: a wrong metric name, threshold, label, range or join.
for mutation in 's/hookbox_dead_total/hookbox_dead_totals/' 's/state="open"/state="closed"/' \
    's/> 900/> 9000/' 's/\[6h\]/[1h]/' 's/unless on/and on/' 's/< 14 \* 86400/< 140 * 86400/'; do
    sed "$mutation" alerts.yml > "$broken/alerts.yml"
    if cmp -s alerts.yml "$broken/alerts.yml"; then
        echo "the mutation $mutation no longer changes alerts.yml; update .ci/promtool.sh"
        exit 1
    fi
    if promtool test rules "$broken/alerts_test.yml" > "$broken/out" 2>&1; then
        echo "promtool test rules passed with a rule broken on purpose ($mutation)"
        exit 1
    fi
done
echo "promtool test rules fails for each rule broken on purpose"
