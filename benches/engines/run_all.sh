#!/bin/bash
# Full benchmark: alternating rounds fjall, redb, fjall, redb, ... Results: results/raw.txt
set -u
cd "$(dirname "$0")"
B=./target/release/storebench
D=/tmp/sbdata
OUT=results/raw.txt
run() { # label, args...
  local label=$1; shift
  echo "# $(date -u +%H:%M:%S) load=$(cut -d' ' -f1-3 /proc/loadavg) :: $B $*" >> $OUT
  timeout 900 $B "$@" 2>>results/stderr.txt | grep RESULT | sed "s/^/$label /" >> $OUT
  rm -rf $D/*
}
mkdir -p $D
PHASES=${PHASES:-"accept drain mixed fill"}
for ph in $PHASES; do
case $ph in
accept)
  for r in 1 2 3; do for n in 32 256; do for e in fjall redb; do
    run "r$r" accept --engine $e --dir $D/$e --n $n --events 200000
  done; done; done ;;
drain)
  for r in 1 2 3; do for e in fjall redb; do
    run "r$r" drain --engine $e --dir $D/$e --events 200000
  done; done ;;
mixed)
  for r in 1 2 3; do for e in fjall redb; do
    run "r$r" mixed --engine $e --dir $D/$e --n 256 --secs 10
  done; done ;;
fill)
  for e in fjall redb; do
    echo "# $(date -u +%H:%M:%S) load=$(cut -d' ' -f1-3 /proc/loadavg) :: fill 1M $e" >> $OUT
    timeout 900 $B fill --engine $e --dir $D/$e --n 256 --events 1000000 --body 1024 2>>results/stderr.txt | grep RESULT | sed "s/^/r1 /" >> $OUT
    du -sb $D/$e >> $OUT
    for r in 1 2 3; do
      echo "# $(date -u +%H:%M:%S) :: open $e" >> $OUT
      timeout 300 $B open --engine $e --dir $D/$e 2>>results/stderr.txt | grep RESULT | sed "s/^/r$r /" >> $OUT
    done
    rm -rf $D/*
  done
  for e in fjall redb; do
    run "r1" fill --engine $e --dir $D/$e --n 32 --events 10000 --body 65536
    run "r1" fill --engine $e --dir $D/$e --n 32 --events 2000 --body 1048576
  done ;;
esac
done
echo "# done $(date -u +%H:%M:%S)" >> $OUT
