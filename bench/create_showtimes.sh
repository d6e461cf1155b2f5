#!/usr/bin/env bash
# Creates the benchmark's showtimes through the node at 127.0.0.1:PORT: one 240-seat theater
# (rows a-l x 20 seats) and showtimes 90, 91, ... (the load generator's --showtime-prefix 9
# turns its showtime N into id 9N; showtimes 1-5 are the default catalog).
# Usage: bench/create_showtimes.sh PORT COUNT
set -euo pipefail
port=$1 count=$2
rows=$(python3 -c 'import json; print(json.dumps([{"row": chr(97+i), "seats": 20} for i in range(12)]))')
theater=$(curl -sf -X POST "127.0.0.1:$port/api/theaters" -H 'content-type: application/json' \
  -d "{\"name\":\"Bench hall\",\"location\":\"bench\",\"rows\":$rows}" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])') || { echo "cannot create the bench theater" >&2; exit 1; }
for id in $(seq 0 $((count - 1))); do
  curl -sf -o /dev/null -X POST "127.0.0.1:$port/api/showtimes" -H 'content-type: application/json' \
    -d "{\"id\":9$id,\"movie_id\":1,\"theater_id\":$theater,\"starts_at\":\"2026-12-31T20:00:00Z\",\"price_cents\":1000}" ||
    { echo "cannot create showtime 9$id" >&2; exit 1; }
done
