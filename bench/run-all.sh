#!/bin/sh
# Runs every scenario of bench/scenarios/ once, in a fixed order, appending to bench/results/results.jsonl.
# About 15 minutes on a 2-core machine. Usage: sh bench/run-all.sh [extra flags, e.g. --no-save]
set -e
cd "$(dirname "$0")/.."
npm run build --silent
for s in closed-loop closed-loop-k4 steady-1k steady-5k steady-19k boot-storm-19k reconnect-storm fanout webhook http; do
  echo "=== $s ==="
  node dist/bench/run.js "$s" "$@"
done
