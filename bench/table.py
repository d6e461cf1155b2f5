#!/usr/bin/env python3
"""Turns the RESULT lines of one `bench/run` (reservoir and its peers, same run) into a
Markdown table with ratios.

Usage: bench/table.py RESULTS_TXT
"""
import re
import sys

RESULT = re.compile(r"^RESULT (?P<label>\S+) C=(?P<clients>\d+) .*?ok/s=(?P<ok>[\d.]+) "
                    r"conflict/s=(?P<conflicts>[\d.]+) err/s=(?P<errors>[\d.]+) "
                    r"p50_ms=(?P<p50>[\d.]+|nan) p99_ms=(?P<p99>[\d.]+|nan)")
FAILOVER = re.compile(r"first_ok_after_kill_ms=(?P<first>[\d.]+|nan) max_ok_gap_ms=(?P<gap>[\d.]+|nan)")

# Label prefixes of the systems compared, in column order.
SYSTEMS = [("reservoir", "reservoir (mTLS)"), ("reservoir-insecure", "reservoir --insecure"),
           ("etcd3.4-grpc", "etcd 3.4 gRPC"), ("pysyncobj-journal", "PySyncObj journal")]


def parse(path):
    runs, failovers = {}, {}
    with open(path) as f:
        for line in f:
            m = RESULT.match(line.strip())
            if not m:
                continue
            label = m["label"]
            row = {k: float(v) for k, v in m.groupdict().items() if k != "label"}
            fo = FAILOVER.search(line)
            if fo:
                failovers[label.split("(")[0]] = (float(fo["first"]), float(fo["gap"]))
            else:
                runs[(label, int(row["clients"]))] = row
    return runs, failovers


def cell(row):
    if row is None:
        return "-"
    return f"{row['ok']:,.0f} ({row['p50']:.2f} / {row['p99']:.1f})"


def ratio(a, b):
    if a is None or b is None or b["ok"] == 0:
        return "-"
    return f"{a['ok'] / b['ok']:.2f}"


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    runs, failovers = parse(sys.argv[1])
    clients = sorted({c for (_, c) in runs})
    print("| clients | " + " | ".join(f"{name} ok/s (p50 / p99 ms)" for _, name in SYSTEMS)
          + " | mTLS / insecure | reservoir / etcd | reservoir / PySyncObj |")
    print("|---" * (len(SYSTEMS) + 4) + "|")
    for c in clients:
        got = {key: runs.get((key, c)) for key, _ in SYSTEMS}
        print(f"| {c} | " + " | ".join(cell(got[key]) for key, _ in SYSTEMS)
              + f" | {ratio(got['reservoir'], got['reservoir-insecure'])}"
              + f" | {ratio(got['reservoir'], got['etcd3.4-grpc'])}"
              + f" | {ratio(got['reservoir'], got['pysyncobj-journal'])} |")
    if failovers:
        print()
        print("| failover under load | first ok booking after the fault (ms) | longest gap without a booking (ms) |")
        print("|---|---|---|")
        for label, (first, gap) in sorted(failovers.items()):
            print(f"| {label} | {first:,.0f} | {gap:,.0f} |")


if __name__ == "__main__":
    main()
