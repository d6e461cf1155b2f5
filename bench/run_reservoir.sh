#!/usr/bin/env bash
# Durable booking throughput of a 3-node prod cluster, measured with ../shared/peer-bench's load
# generator (http-json target), optionally side by side with etcd in the same run.
#
#   bench/run_reservoir.sh              # reservoir only
#   PEERS=etcd bench/run_reservoir.sh   # then etcd 3.4 (peer-bench/run_etcd.sh), same machine, same run
#
# Knobs as in peer-bench: CLIENTS="1 16 64" SHOWTIMES=20 DURATION=10 WARMUP=1 MAX_OPS=200000
# FAILOVER=1 (kill -9 the leader under load at C=16). Ports 6100-6102. Every loop is bounded.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PEER_BENCH="${PEER_BENCH:-$ROOT/../shared/peer-bench}"
source "$PEER_BENCH/common.sh"
FAILOVER="${FAILOVER:-1}"
FAILOVER_C="${FAILOVER_C:-16}"
SHOWTIME_IDS="${SHOWTIME_IDS:-800}"    # showtimes 0..N-1 created up front (240 seats each)

build_loadgen
(cd "$ROOT" && cargo build --release -q -p host)
HOST="$ROOT/target/release/host"
BASE=/tmp/reservoir-bench
PORTS=(6100 6101 6102)
EPS="127.0.0.1:6100,127.0.0.1:6101,127.0.0.1:6102"

start_cluster() {
  rm -rf "$BASE"; mkdir -p "$BASE"
  cat >"$BASE/config.json" <<JSON
{"bench": {"nodes": ["127.0.0.1:6100", "127.0.0.1:6101", "127.0.0.1:6102"]}}
JSON
  PIDS=()
  for i in 0 1 2; do
    "$HOST" --id "$i" --prod --config bench --config-file "$BASE/config.json" \
      --plugin "$ROOT/plugins/seat.wasm" --data-dir "$BASE/node-$i" >"$BASE/node-$i.log" 2>&1 &
    PIDS+=($!); STARTED_PIDS+=($!)
  done
  for _ in $(seq 1 150); do
    if curl -sf "127.0.0.1:6100/v1/status" | grep -q '"plugin": {'; then break; fi
    sleep 0.2
  done
  "$ROOT/bench/create_showtimes.sh" 6100 "$SHOWTIME_IDS"
}

leader_pid() {
  local leader; leader=$(curl -sf "127.0.0.1:6100/v1/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["leader_id"])')
  echo "${PIDS[$leader]}"
}

stop_cluster() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
}

echo "# reservoir $(git -C "$ROOT" rev-parse --short HEAD), 3 prod nodes, S=$SHOWTIMES, ${DURATION}s/config"
start_cluster
for C in $CLIENTS; do
  "$LOADGEN" book --target http-json --endpoints "$EPS" --clients "$C" --showtimes "$SHOWTIMES" \
    --duration "$DURATION" --warmup "$WARMUP" --max-ops "$MAX_OPS" \
    --path-template '/api/showtimes/{showtime}/bookings' --body-template '{"seats":["{seat}"],"user":"{user}"}' \
    --conflict-status 409 --showtime-prefix 9 --label reservoir-prod \
    --watch-pids "$(IFS=,; echo "${PIDS[*]}")" --json-out "$RESULTS/reservoir.jsonl"
done
if [ "$FAILOVER" = 1 ]; then
  stop_cluster; start_cluster
  LPID=$(leader_pid)
  "$LOADGEN" book --target http-json --endpoints "$EPS" --clients "$FAILOVER_C" --showtimes "$SHOWTIMES" \
    --duration "$DURATION" --warmup "$WARMUP" --max-ops "$MAX_OPS" \
    --path-template '/api/showtimes/{showtime}/bookings' --body-template '{"seats":["{seat}"],"user":"{user}"}' \
    --conflict-status 409 --showtime-prefix 9 --label "reservoir-prod-failover" \
    --kill-pid "$LPID" --kill-after 4 --watch-pids "$(IFS=,; echo "${PIDS[*]}")" --json-out "$RESULTS/reservoir.jsonl"
fi
stop_cluster
if [ "${PEERS:-}" = etcd ]; then
  ETCD_TARGETS=etcd-grpc "$PEER_BENCH/run_etcd.sh"
fi
