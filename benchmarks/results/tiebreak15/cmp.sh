#!/bin/bash
# usage: cmp.sh OUT weeks...; `main` from a worktree at f77b826, the branch from /work/main
out=$1; shift
for round in 1 2 3; do
  for w in "$@"; do
    echo "main   $(PYTHONPATH=/work/wt/gh200 /work/main/.venv/bin/python /tmp/w/one.py /tmp/w/$w.json 10 2>/dev/null)  load $(cut -d' ' -f1 /proc/loadavg)" >> $out
    echo "branch $(PYTHONPATH=/work/main /work/main/.venv/bin/python /tmp/w/one.py /tmp/w/$w.json 10 2>/dev/null)  load $(cut -d' ' -f1 /proc/loadavg)" >> $out
  done
done
