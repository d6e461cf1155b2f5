#!/usr/bin/env bash
# Fill to a million: a fresh 3-node --prod cluster takes BOOKINGS (default 1,000,000) one-seat
# bookings from FILL_CLIENTS (default 64) load-generator clients, in ten tenths, each on fresh
# showtimes; prints bookings/s per tenth and the last tenth's ratio to the first. Then the
# nodes' memory, and the restart of a follower holding the full state (kill -9, start, time
# until it serves with everything applied).
#   bench/fill.sh                       # 1,000,000 bookings at 64 clients
#   BOOKINGS=200000 FILL_CLIENTS=16 bench/fill.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"
BOOKINGS="${BOOKINGS:-1000000}"
FILL_CLIENTS="${FILL_CLIENTS:-64}"
TENTH=$((BOOKINGS / 10))
# Showtimes one load generator run may open: its active set plus every one it sells out.
per_run() { echo $(($1 / 240 + ${SHOWTIMES:-20} + 20)); }

echo "# fill: reservoir ${RESERVOIR_HOST:-$(git -C "$ROOT" rev-parse --short HEAD)} (plugin $(sha256sum "$PLUGIN" | cut -c1-12)), 3 --prod nodes, $BOOKINGS bookings, C=$FILL_CLIENTS, $(nproc) cores"
start_cluster fill
idle="$(for p in "${PIDS[@]}"; do printf '%s ' "$(rss_mb "$p")"; done)"
total=0
first_rate=""
for tenth in $(seq 1 10); do
  got=0 secs=0 attempt=0 errors=0 p99=""
  # A tenth may need a second, shorter run when conflicts ate part of the first: each run
  # gets its own fresh showtimes (prefix 1TTA: tenth TT, attempt A).
  while [ "$got" -lt "$TENTH" ] && [ "$attempt" -lt 5 ]; do
    prefix=$(printf '1%02d%d' "$tenth" "$attempt")
    want=$((TENTH - got))
    catalog "$(per_run "$want")" "$prefix"
    WARMUP=0 book "fill-$tenth" "$prefix" "$FILL_CLIENTS" 600 "$want" >/dev/null
    got=$((got + $(last_result ok)))
    secs=$(python3 -c "print($secs + $(last_result window_s))")
    errors=$((errors + $(last_result errors)))
    # The first run of a tenth carries nearly all of it; later ones only top it up.
    [ -n "$p99" ] || p99=$(last_result p99_ms)
    attempt=$((attempt + 1))
  done
  total=$((total + got))
  rate=$(python3 -c "print(round($got / $secs))")
  [ -n "$first_rate" ] || first_rate=$rate
  printf 'tenth %2d: %7d bookings in %6.1f s = %6d bookings/s (p99 %s ms, %d errors), total %d\n' \
    "$tenth" "$got" "$secs" "$rate" "$p99" "$errors" "$total"
done
ratio=$(python3 -c "print(f'{$rate / $first_rate:.2f}')")
echo "RESULT fill: $total bookings; first tenth $first_rate/s, last tenth $rate/s, last/first = $ratio (target >= 0.80)"
full="$(for p in "${PIDS[@]}"; do printf '%s ' "$(rss_mb "$p")"; done)"
echo "RESULT rss MB per node: idle $idle| at $total bookings $full"
snapshot_bytes=$(find "$CLUSTER_DIR/node-0/snapshots" -name '*.snap' -printf '%s\n' | sort -n | tail -1)
echo "RESULT snapshot: ${snapshot_bytes:-0} bytes"
# Every base point stops the apply thread while the state is serialised and restored.
python3 - "$CLUSTER_DIR/node-0.log" <<'PY'
import re, sys
points = [tuple(int(v) for v in m.groups()) for m in re.finditer(
    r"base point index=(\d+) bytes=(\d+) snapshot_ms=(\d+) restore_ms=(\d+)", open(sys.argv[1]).read())]
if points:
    index, size, snap, restore = max(points, key=lambda p: p[1])
    print(f"RESULT base points on node 0: {len(points)}; the largest: {size} bytes at index {index}, "
          f"snapshot {snap} ms, restore {restore} ms")
PY

# Restart of a follower holding everything: from its start until it serves a local read with
# every entry it had applied.
victim=$(( ($(leader) + 1) % 3 ))
applied=$(status "$victim" | field last_applied)
kill -9 "${PIDS[$victim]}"
wait "${PIDS[$victim]}" 2>/dev/null || true
t0=$(date +%s%N)
start_node "$victim"
served=0
for _ in $(seq 1 6000); do
  if [ "$(status "$victim" | field last_applied)" -ge "$applied" ] &&
    curl -sf -o /dev/null "127.0.0.1:${API_PORTS[$victim]}/api/showtimes/10100/seats?consistency=local"; then
    served=1
    break
  fi
  sleep 0.01
done
t1=$(date +%s%N)
[ "$served" = 1 ] || { echo "RESULT restart: node $victim did not serve within 60 s" >&2; exit 1; }
echo "RESULT restart: node $victim served with $applied entries applied $(( (t1 - t0) / 1000000 )) ms after its start (target <= 2000)"
grep -o 'state restored from the latest snapshot.*' "$CLUSTER_DIR/node-$victim.log" | tail -1 |
  sed 's/^/RESULT restart: /' || true
stop_cluster
