#!/usr/bin/env python3
"""report.py RECORDS VERSIONS N OUT WORKDIR COMMAND: turns bench/run.sh's records into
bench/results/<date>.json and prints the table with the jig/ansible and jig/pyinfra ratios."""
import json
import sys
import time

FIELDS = ["tool", "scenario", "exit", "wall_s", "user_s", "sys_s", "peak_rss_kib",
          "tree_rss_kib", "ssh_connections", "ssh_sessions", "changed", "log"]


def main():
    records_path, versions_path, n, out, work, command = sys.argv[1:7]
    n = int(n)
    runs = []
    with open(records_path) as f:
        for line in f:
            row = dict(zip(FIELDS, line.rstrip("\n").split("\t")))
            for k in ("wall_s", "user_s", "sys_s"):
                row[k] = float(row[k])
            for k in ("exit", "peak_rss_kib", "tree_rss_kib", "ssh_connections", "ssh_sessions"):
                row[k] = int(row[k])
            row["changed"] = int(row["changed"]) if row["changed"] else None
            row["cpu_s"] = round(row["user_s"] + row["sys_s"], 2)
            row["ssh_connections_per_host"] = round(row["ssh_connections"] / n, 2)
            row["ssh_sessions_per_host"] = round(row["ssh_sessions"] / n, 2)
            runs.append(row)
    versions = {}
    with open(versions_path) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("=")
            versions[k] = v
    by = {(r["tool"], r["scenario"]): r for r in runs}
    ratios = {}
    for scen in ("first", "nochange", "check"):
        j = by.get(("jig", scen))
        if not j or j["exit"] != 0:
            continue
        for other in ("ansible", "pyinfra"):
            o = by.get((other, scen))
            if o and o["exit"] == 0 and j["wall_s"] > 0:
                ratios.setdefault(scen, {})[f"{other}/jig wall"] = round(o["wall_s"] / j["wall_s"], 1)
                if j["cpu_s"] > 0:
                    ratios[scen][f"{other}/jig cpu"] = round(o["cpu_s"] / j["cpu_s"], 1)
    doc = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "hosts": n,
        "command": command,
        "workdir": work,
        "versions": versions,
        "runs": runs,
        "ratios": ratios,
    }
    with open(out, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    head = ("tool", "scenario", "exit", "wall s", "cpu s", "peak RSS MiB", "tree RSS MiB",
            "conn/host", "sess/host", "changed")
    rows = [head]
    for r in runs:
        rows.append((r["tool"], r["scenario"], str(r["exit"]), f"{r['wall_s']:.2f}",
                     f"{r['cpu_s']:.2f}", f"{r['peak_rss_kib'] / 1024:.1f}",
                     f"{r['tree_rss_kib'] / 1024:.1f}", f"{r['ssh_connections_per_host']:g}",
                     f"{r['ssh_sessions_per_host']:g}",
                     "" if r["changed"] is None else str(r["changed"])))
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    for row in rows:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |")
    for scen, rs in ratios.items():
        print(f"{scen}: " + ", ".join(f"{k} = {v}x" for k, v in rs.items()))


if __name__ == "__main__":
    main()
