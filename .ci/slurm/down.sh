#!/usr/bin/env bash
# Stops exactly the daemons whose PIDs up.sh wrote to the file $1 (TERM, then waits).
set -uo pipefail
pids="$1"
[ -f "$pids" ] || exit 0
while read -r p; do
    [ -n "$p" ] || continue
    kill -TERM "$p" 2>/dev/null || continue
    for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
done <"$pids"
rm -f /run/slurmctld.pid /run/slurmd.pid "$pids"
