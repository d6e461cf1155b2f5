# Shared by the bench/ scripts (sourced): builds the release host once into this repository's
# target dir and the peer benchmark's load generator into its own, starts and stops 3-node
# --prod clusters on loopback with fresh credentials, and reads their status.
# Nodes listen at 127.0.0.1:7101-7103 (API) and 8101-8103 (peers); every process a script
# starts is recorded in STARTED_PIDS and killed on exit (peer-bench's common.sh trap).

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PEER_BENCH="${PEER_BENCH:-$ROOT/../shared/peer-bench}"
# RESERVOIR_HOST and RESERVOIR_PLUGIN measure another build (an A/B run) instead of this tree's.
HOST="${RESERVOIR_HOST:-$ROOT/target/release/host}"
PLUGIN="${RESERVOIR_PLUGIN:-$ROOT/plugins/seat.wasm}"
WORK="${BENCH_DIR:-/tmp/reservoir-bench}"
API_PORTS=(7101 7102 7103)
EPS="127.0.0.1:7101,127.0.0.1:7102,127.0.0.1:7103"
mkdir -p "$WORK"

if [ ! -f "$PEER_BENCH/common.sh" ]; then
  echo "bench: the peer benchmark is missing at $PEER_BENCH (set PEER_BENCH)" >&2
  exit 2
fi
# The host first: common.sh exports CARGO_TARGET_DIR for the load generator's build.
if [ -z "${RESERVOIR_HOST:-}" ]; then
  cargo build --release -q -p host --manifest-path "$ROOT/Cargo.toml" --target-dir "$ROOT/target"
fi
# shellcheck source=/dev/null
source "$PEER_BENCH/common.sh"
build_loadgen

# start_cluster NAME [HOST FLAGS...]: a fresh 3-node --prod cluster under $WORK/NAME, with its
# own credentials (or none with --insecure); returns once node 0 reports a plugin.
start_cluster() {
  CLUSTER_DIR="$WORK/$1"
  shift
  NODE_FLAGS=("$@")
  rm -rf "$CLUSTER_DIR"
  mkdir -p "$CLUSTER_DIR"
  if [[ " ${NODE_FLAGS[*]} " != *" --insecure "* ]]; then
    "$HOST" keygen --out "$CLUSTER_DIR/secrets" >/dev/null
    NODE_FLAGS+=(--secrets "$CLUSTER_DIR/secrets")
    TOKEN="$(cat "$CLUSTER_DIR/secrets/admin.token")"
  else
    # Without credentials every endpoint is open; the catalog script still sends a header.
    echo insecure >"$CLUSTER_DIR/admin.token"
    TOKEN=insecure
  fi
  TOKEN_FILE="${CLUSTER_DIR}/secrets/admin.token"
  [ -f "$TOKEN_FILE" ] || TOKEN_FILE="$CLUSTER_DIR/admin.token"
  # PROFILE_EXTRA: more profile fields for an experiment, e.g. '"local_instances": 1'.
  printf '{"bench": {"nodes": ["127.0.0.1:%s", "127.0.0.1:%s", "127.0.0.1:%s"]%s}}\n' \
    "${API_PORTS[@]}" "${PROFILE_EXTRA:+, $PROFILE_EXTRA}" >"$CLUSTER_DIR/config.json"
  PIDS=()
  for i in 0 1 2; do start_node "$i"; done
  for _ in $(seq 1 300); do
    status 0 | grep -q '"plugin": {' && return 0
    sleep 0.1
  done
  echo "bench: the cluster in $CLUSTER_DIR did not start; node logs:" >&2
  tail -n 5 "$CLUSTER_DIR"/node-*.log >&2
  exit 1
}

# start_node ID: (re)starts one node of the current cluster in the background.
start_node() {
  "$HOST" --id "$1" --prod --config bench --config-file "$CLUSTER_DIR/config.json" \
    --plugin "$PLUGIN" --data-dir "$CLUSTER_DIR/node-$1" \
    --cache-dir "$WORK/compiled" "${NODE_FLAGS[@]}" >>"$CLUSTER_DIR/node-$1.log" 2>&1 &
  PIDS[$1]=$!
  STARTED_PIDS+=($!)
}

# stop_cluster: kill -9 every node of the current cluster.
stop_cluster() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  PIDS=()
}

# status ID: node ID's /v1/status JSON (empty when it does not answer).
status() {
  curl -sf -m 2 -H "authorization: Bearer $TOKEN" "127.0.0.1:${API_PORTS[$1]}/v1/status" || true
}

# field NAME: a top-level field of the JSON on stdin (-1 when absent or null).
field() {
  python3 -c "import json,sys
try: v = json.load(sys.stdin).get('$1')
except Exception: v = None
print(-1 if v is None else v)"
}

# leader: the id of the current leader, as node 0 sees it.
leader() { status 0 | field leader_id; }

# rss_mb PID: resident set size in MB.
rss_mb() { awk '/^VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status" 2>/dev/null || echo "?"; }

# catalog COUNT PREFIX...: showtimes PREFIX0..PREFIX<COUNT-1> for each prefix (bench/catalog.py).
catalog() { python3 "$ROOT/bench/catalog.py" "127.0.0.1:${API_PORTS[0]}" "$TOKEN_FILE" "$@"; }

# book LABEL PREFIX CLIENTS DURATION MAX_OPS [LOADGEN FLAGS...]: one load generator run of
# one-seat bookings on showtimes PREFIX0..; appends its JSON line to $RESULTS/reservoir.jsonl.
book() {
  local label=$1 prefix=$2 clients=$3 duration=$4 max_ops=$5
  shift 5
  "$LOADGEN" book --target http-json --endpoints "$EPS" --clients "$clients" --showtimes "${SHOWTIMES:-20}" \
    --duration "$duration" --warmup "${WARMUP:-1}" --max-ops "$max_ops" --showtime-prefix "$prefix" \
    --path-template '/api/showtimes/{showtime}/bookings' \
    --body-template '{"seats":["{seat}"],"user":"{user}"}' --conflict-status 409 \
    --label "$label" --watch-pids "$(IFS=,; echo "${PIDS[*]}")" --json-out "$RESULTS/reservoir.jsonl" "$@"
}

# last_result KEY: KEY of the last JSON line the load generator appended.
last_result() {
  tail -n 1 "$RESULTS/reservoir.jsonl" | python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"
}
