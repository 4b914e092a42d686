#!/bin/bash
# Fault checks: build 100k-event store (20 worker passes done), clean close, corrupt, reopen, read all.
cd "$(dirname "$0")"
B=./target/release/storebench
OUT=results/faults.txt
f() { echo "=== $(date -u +%H:%M:%S) $B fault $*" >> $OUT; timeout 300 $B fault --events 100000 "$@" >> $OUT 2>&1; echo "exit=$?" >> $OUT; rm -rf /tmp/sbfault; }
f --engine fjall --dir /tmp/sbfault --mode none
f --engine fjall --dir /tmp/sbfault --mode truncate --target largest
f --engine fjall --dir /tmp/sbfault --mode garbage --target largest
f --engine fjall --dir /tmp/sbfault --mode truncate --target journal
f --engine fjall --dir /tmp/sbfault --mode garbage --target journal
f --engine fjall --dir /tmp/sbfault --mode truncate --target sst
f --engine fjall --dir /tmp/sbfault --mode garbage --target sst
f --engine redb --dir /tmp/sbfault --mode none
f --engine redb --dir /tmp/sbfault --mode truncate
f --engine redb --dir /tmp/sbfault --mode garbage
f --engine redb --dir /tmp/sbfault --mode truncate --integrity
f --engine redb --dir /tmp/sbfault --mode garbage --integrity
echo "# done $(date -u +%H:%M:%S)" >> $OUT
