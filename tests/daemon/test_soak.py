#!/usr/bin/env python3
"""test_soak.py SOAK BUILD — a short soak (tools/bench/soak.py, about two minutes).

flsyncd runs as a daemon against flmock moving time, with faults on
requests and webhook deliveries, kills, SIGHUP, expiring tokens and queued
actions.  Only correctness is asserted: the database equals a clean sync of
the same world, and every queued action was applied exactly once.  The
slopes it prints are for reading, not for asserting (tools/bench/ measures).
"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402

SOAK, BUILD = sys.argv[1], sys.argv[2]
ACTIONS = 12
h = harness.Run('soak')


def main():
    keep = os.path.join(h.tmp, 'soak')
    r = subprocess.run([sys.executable, SOAK, '--build', BUILD, '--minutes', '2', '--scale', '3000',
                        '--interval', '10', '--sample-s', '5', '--kills', '2', '--reloads', '2',
                        '--actions', str(ACTIONS), '--keep', keep],
                       capture_output=True, text=True, timeout=900)
    out = r.stdout + r.stderr
    print(out[-6000:])
    h.check(re.search(r'^sample t=', r.stdout, re.M), 'the soak sampled the daemon', out[-3000:])
    h.check('data equal to a clean sync: yes' in r.stdout, 'the data equals a clean sync', out[-3000:])
    # An action whose project went away before it was sent is refused and never applied: right too.
    m = re.search(r'^actions applied exactly once: (\d+) of (\d+)$', r.stdout, re.M)
    gone = re.search(r'^actions refused because the project had gone, never applied: (\d+)', r.stdout, re.M)
    h.check(m and m.group(1) == m.group(2) and int(m.group(2)) >= ACTIONS // 2
            and int(m.group(2)) + int(gone.group(1) if gone else 0) == ACTIONS,
            'every queued action was applied exactly once (or refused, the project gone)', out[-3000:])
    h.check(r.returncode == 0, 'soak.py exits 0', r.returncode)
    return 0


h.finish(main)
