#!/usr/bin/env bash
# Restart time of a prod node holding N applied bookings (default 100000): load a 3-node prod
# cluster with ../shared/peer-bench's load generator until N bookings are applied, kill -9 one
# follower, restart it, and time until it serves again with everything applied.
#   bench/restart.sh            # N=100000
#   BOOKINGS=20000 bench/restart.sh
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PEER_BENCH="${PEER_BENCH:-$ROOT/../shared/peer-bench}"
source "$PEER_BENCH/common.sh"
BOOKINGS="${BOOKINGS:-100000}"
SHOWTIME_IDS=$(( BOOKINGS / 240 + 40 ))

build_loadgen
(cd "$ROOT" && cargo build --release -q -p host)
HOST="$ROOT/target/release/host"
BASE=/tmp/reservoir-restart
EPS="127.0.0.1:6100,127.0.0.1:6101,127.0.0.1:6102"
rm -rf "$BASE"; mkdir -p "$BASE"
echo '{"bench": {"nodes": ["127.0.0.1:6100", "127.0.0.1:6101", "127.0.0.1:6102"]}}' >"$BASE/config.json"
start_node() {
  "$HOST" --id "$1" --prod --config bench --config-file "$BASE/config.json" \
    --plugin "$ROOT/plugins/seat.wasm" --data-dir "$BASE/node-$1" >>"$BASE/node-$1.log" 2>&1 &
  PIDS[$1]=$!; STARTED_PIDS+=($!)
}
status() { curl -sf "127.0.0.1:$1/v1/status" || true; }
field() { python3 -c "import json,sys; d=json.load(sys.stdin); print(d.get('$1') if d.get('$1') is not None else -1)" 2>/dev/null || echo -1; }
PIDS=()
for i in 0 1 2; do start_node "$i"; done
for _ in $(seq 1 150); do status 6100 | grep -q '"plugin": {' && break; sleep 0.2; done
"$ROOT/bench/create_showtimes.sh" 6100 "$SHOWTIME_IDS"
# Fill: the load generator stops at MAX_OPS requests (bookings + conflicts) or 300 s.
"$LOADGEN" book --target http-json --endpoints "$EPS" --clients 64 --showtimes 20 --duration 300 --warmup 0 \
  --max-ops "$BOOKINGS" --path-template '/api/showtimes/{showtime}/bookings' \
  --body-template '{"seats":["{seat}"],"user":"{user}"}' --conflict-status 409 --showtime-prefix 9 --label fill
booked=$(curl -sf 127.0.0.1:6100/api/showtimes?consistency=local | python3 -c 'import json,sys; print(sum(s["booked"] for s in json.load(sys.stdin)["showtimes"]))')
leader=$(status 6100 | field leader_id)
victim=$(( (leader + 1) % 3 )); port=$((6100 + victim))
applied=$(status "$port" | field last_applied)
echo "applied bookings: $booked (log index $applied); restarting node $victim"
kill -9 "${PIDS[$victim]}"; wait "${PIDS[$victim]}" 2>/dev/null || true
t0=$(date +%s.%N)
start_node "$victim"
for _ in $(seq 1 6000); do
  got=$(status "$port" | field last_applied)
  if [ "$got" -ge "$applied" ] && curl -sf -o /dev/null "127.0.0.1:$port/api/showtimes/1?consistency=local"; then break; fi
  sleep 0.01
done
t1=$(date +%s.%N)
snap=$(status "$port" | field snapshot)
echo "RESULT restart: $(python3 -c "print(round(($t1-$t0)*1000))") ms until node $victim served with last_applied >= $applied ($booked bookings, its snapshot at $snap)"
for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
