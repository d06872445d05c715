#!/bin/sh
# Measures the rows of docs/performance.md: for each shape, a fresh server, a bench run
# with the server's pid, and `bench baseline` for the same fan-out; ROUNDS times.
# JSON reports go to OUT (default /tmp/switchboard-perf); take medians per row.
# SERVE_ARGS adds flags to serve (e.g. --port-per-connection); SHAPES picks rows
# (default: all, e.g. SHAPES="fanout:100").
#
# Run it inside a private network namespace with nothing but loopback, as root:
#   go build -o bin/switchboard ./cmd/switchboard
#   unshare -n sh -c 'ip link set lo up; scripts/perf.sh'
set -eu
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/switchboard-perf}
rounds=${ROUNDS:-3}
mkdir -p "$out"
shapes=${SHAPES:-"fanout:1 fanout:10 fanout:50 fanout:100 fanout:200 rooms:0"}
for round in $(seq "$rounds"); do
  for spec in $shapes; do
    # shellcheck disable=SC2046 # two words
    set -- $(echo "$spec" | tr : ' ')
    # shellcheck disable=SC2086 # SERVE_ARGS are several flags
    ./bin/switchboard serve --addr 127.0.0.1:18080 --ice-loopback --log-level warn ${SERVE_ARGS:-} >/dev/null 2>&1 &
    server=$!
    sleep 0.5
    if [ "$1" = fanout ]; then
      args="--shape fanout --subscribers $2"; name=fanout-$2; fan=$2
    else
      args="--shape rooms --rooms 10 --participants 4"; name=rooms-10x4; fan=3
    fi
    # shellcheck disable=SC2086 # args are several flags
    ./bin/switchboard bench --target http://127.0.0.1:18080 --server-pid "$server" \
      --duration 10s --bitrate 1000000 --json $args >"$out/$name.$round.json" 2>"$out/$name.$round.log" || true
    kill "$server"; wait "$server" || true
    ./bin/switchboard bench baseline --receivers "$fan" --duration 5s --json >"$out/baseline-$name.$round.json"
    echo "$(date -u +%T) $name round $round (load $(cut -d' ' -f1 /proc/loadavg))"
  done
done
