#!/usr/bin/env python3
"""accounts_bench.py — one flsyncd over 50 accounts of one flmock world:
a pass over all of them with max_parallel = 4 against the same 50 run one
after another (max_parallel = 1), each into fresh databases.

--latency-ms N makes flmock answer every request N ms late (a WAN-like
round trip; 0 is plain loopback).  Prints both runs' wall seconds, rows and
requests, then parallel/sequential.

usage: accounts_bench.py FLSYNCD FLMOCK [--accounts 50] [--scale 2000] [--latency-ms 0]
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

from benchutil import start_flmock

ap = argparse.ArgumentParser()
ap.add_argument('flsyncd')
ap.add_argument('flmock')
ap.add_argument('--accounts', type=int, default=50)
ap.add_argument('--scale', type=int, default=2000, help='each account\'s share of the world')
ap.add_argument('--latency-ms', type=int, default=0)
a = ap.parse_args()

tmp = tempfile.mkdtemp(prefix='flsync-accounts-bench-')
mock, api = start_flmock(a.flmock, tmp, ['--seed', 45, '--accounts', a.accounts, '--scale', a.scale,
                                        '--token', 'bench'])
try:
    if a.latency_ms:
        spec = 'stall=1,stall_ms=%d' % a.latency_ms
        urllib.request.urlopen(urllib.request.Request(api + '/_mock/faults?spec=' + urllib.parse.quote(spec),
                                                      data=b'', method='POST'), timeout=30).read()
    tokens = []
    for k in range(1, a.accounts + 1):
        path = os.path.join(tmp, 'tok%d' % k)
        with open(path, 'w') as f:
            f.write(('bench' if k == 1 else 'bench-%d' % k) + '\n')
        os.chmod(path, 0o600)
        tokens.append(path)

    def run(parallel):
        d = os.path.join(tmp, 'p%d' % parallel)
        os.makedirs(d)
        conf = os.path.join(tmp, 'p%d.conf' % parallel)
        with open(conf, 'w') as f:
            f.write('[limits]\nmax_parallel = %d\n' % parallel)
            for k, tok in enumerate(tokens, 1):
                f.write('[account a%d]\napi = %s\ntoken_file = %s\ndb = %s/a%d.db\n' % (k, api, tok, d, k))
        t = time.monotonic()
        p = subprocess.run([a.flsyncd, '--config', conf, '--once'], capture_output=True)
        secs = time.monotonic() - t
        if p.returncode != 0:
            raise SystemExit('max_parallel=%d failed: %s' % (parallel, p.stderr.decode()[-2000:]))
        rows = reqs = 0
        for m in re.finditer(r'pass done: ([\d,]+) rows, ([\d,]+) requests', p.stderr.decode()):
            rows += int(m.group(1).replace(',', ''))
            reqs += int(m.group(2).replace(',', ''))
        print('max_parallel=%d  %3d accounts  %7.2f s  %9d rows  %7d requests' % (parallel, a.accounts, secs, rows, reqs),
              flush=True)
        return secs

    seq = run(1)
    par = run(4)
    stats = json.loads(urllib.request.urlopen(api + '/_mock/stats', timeout=30).read())
    limited = sum(v.get('rate_limited', 0) for v in stats.get('accounts', {}).values())
    print('latency %d ms per request; requests refused for an account\'s rate limit: %d' % (a.latency_ms, limited))
    print('parallel/sequential: %.2f (target <= 0.33)' % (par / seq))
finally:
    mock.terminate()
    mock.wait(30)
    shutil.rmtree(tmp, ignore_errors=True)
