#!/usr/bin/env python3
"""Creates benchmark showtimes through one node, over one keep-alive connection.

One 240-seat theater (rows a-l x 20 seats, the load generator's seat names) and, for every
PREFIX given, showtimes PREFIX0 .. PREFIX<COUNT-1> (the load generator's --showtime-prefix
turns its showtime N into PREFIX followed by N, so each prefix is a fresh set of screenings).
Also lifts the per-customer seat limit: the load generator books as one customer per client.

Usage: bench/catalog.py HOST:PORT ADMIN_TOKEN_FILE COUNT PREFIX [PREFIX ...]
"""
import http.client
import json
import sys


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    addr, token_file, count, prefixes = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
    with open(token_file) as f:
        token = f.read().strip()
    host, port = addr.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    headers = {"content-type": "application/json", "authorization": f"Bearer {token}"}

    def send(method, path, body):
        conn.request(method, path, json.dumps(body), headers)
        reply = conn.getresponse()
        text = reply.read().decode()
        if reply.status >= 300:
            sys.exit(f"{method} {path}: {reply.status} {text}")
        return json.loads(text) if text else None

    send("PUT", "/api/settings", {"max_seats_per_customer": 2600})
    rows = [{"row": chr(97 + i), "seats": 20} for i in range(12)]
    theater = send("POST", "/api/theaters", {"name": "Bench hall", "location": "bench", "rows": rows})
    for prefix in prefixes:
        for n in range(count):
            send("POST", "/api/showtimes", {
                "id": int(f"{prefix}{n}"), "movie_id": 1, "theater_id": theater["id"],
                "starts_at": "2026-12-31T20:00:00Z", "price_cents": 1000,
            })


if __name__ == "__main__":
    main()
