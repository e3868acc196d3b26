#!/usr/bin/env python3
"""Print the manifest of a directory tree in the format of tests/parity/cases/*/expected.tree.

One line per entry below ROOT (ROOT itself excluded), sorted by path (bytewise, UTF-8):

    <kind> <mode> <json path> <sha256 | json link target | ->

kind is file, dir or link; mode is the permission bits in 4-digit octal (links: 0777).
Every occurrence of ROOT's absolute path in file contents and link targets is replaced by
@OUT@ before hashing, so manifests do not depend on where the tree was made. The Rust
harness (tests/it/tree.rs) implements the same format; tests/it/tree.rs checks them
against each other through tests/parity/selftest.tree.
"""
import hashlib
import json
import os
import stat
import sys


def quote(s):
    return json.dumps(s, ensure_ascii=False)


def manifest(root):
    root = os.path.abspath(root)
    root_b = os.fsencode(root)
    lines = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root)
            st = os.lstat(full)
            mode = "%04o" % stat.S_IMODE(st.st_mode)
            if stat.S_ISLNK(st.st_mode):
                target = os.fsencode(os.readlink(full)).replace(root_b, b"@OUT@")
                lines.append((rel, "link %s %s %s" % (mode, quote(rel), quote(os.fsdecode(target)))))
            elif stat.S_ISDIR(st.st_mode):
                lines.append((rel, "dir %s %s -" % (mode, quote(rel))))
            elif stat.S_ISREG(st.st_mode):
                with open(full, "rb") as f:
                    data = f.read().replace(root_b, b"@OUT@")
                lines.append((rel, "file %s %s %s" % (mode, quote(rel), hashlib.sha256(data).hexdigest())))
            else:
                lines.append((rel, "other %s %s -" % (mode, quote(rel))))
    lines.sort(key=lambda e: os.fsencode(e[0]))
    return "".join(line + "\n" for _, line in lines)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: tree.py ROOT")
    sys.stdout.write(manifest(sys.argv[1]))
