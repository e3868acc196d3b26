#!/usr/bin/env python3
"""rss_tree.py OUT CMD...: runs CMD, samples the summed RSS of its whole process tree every
50 ms, writes the peak in KiB to OUT and exits with CMD's status.

/usr/bin/time reports the largest single process only; ansible-core forks a worker per host,
so the tree's sum is the number that compares with a one-process controller. Shared pages are
counted once per process, so the sum overstates a forked tree somewhat."""
import os
import subprocess
import sys
import time


def children_map():
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        kids.setdefault(ppid, []).append(int(d))
    return kids


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss(root):
    kids = children_map()
    total, todo = 0, [root]
    while todo:
        p = todo.pop()
        total += rss_kib(p)
        todo.extend(kids.get(p, []))
    return total


def main():
    out, cmd = sys.argv[1], sys.argv[2:]
    proc = subprocess.Popen(cmd)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, tree_rss(proc.pid))
        time.sleep(0.1)
    with open(out, "w") as f:
        f.write(f"{peak}\n")
    sys.exit(proc.returncode)


if __name__ == "__main__":
    main()
