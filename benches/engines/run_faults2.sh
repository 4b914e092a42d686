#!/bin/bash
# Extra fault checks: fjall blob files; redb clean open with integrity check (cost)
cd "$(dirname "$0")"
B=./target/release/storebench
OUT=results/faults.txt
f() { echo "=== $(date -u +%H:%M:%S) $B fault $*" >> $OUT; timeout 300 $B fault --events 100000 "$@" >> $OUT 2>&1; echo "exit=$?" >> $OUT; rm -rf /tmp/sbfault; }
f --engine fjall --dir /tmp/sbfault --mode truncate --target blob
f --engine fjall --dir /tmp/sbfault --mode garbage --target blob
f --engine redb --dir /tmp/sbfault --mode none --integrity
echo "# done $(date -u +%H:%M:%S)" >> $OUT
