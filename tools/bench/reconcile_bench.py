#!/usr/bin/env python3
"""reconcile_bench.py — what a daily deep reconciliation costs, as a share
of a full sync of the same flmock world.

It syncs the world in full (flsyncd --once), runs one incremental pass (the
reconciliation gets scheduled), copies the database twice, and moves flmock's
clock a day on (no events).  Then the copies make the day's pass with
reconciliation off, one before and one after (the baseline is the faster:
its daily user and reference re-reads included), and the original the same pass with the whole round in one slice
(cadence.reconcile_slices = 1, the worst case; by default a round is spread
over 24 passes).  The reconciliation's cost is the difference.

With --pacing 1h,6h,1d it measures instead how the rounds are paced: for
each spacing, a fresh full sync of the world then makes passes that far apart
(flmock's clock moved on with its activity, ~1 event per 10 s) until the first reconciliation round
and the first refresh of every record (cadence.refresh_all) have both
completed, printing each pass's requests (in all, reconciling, refreshing)
and then what the round cost and over how many passes it spread.

usage: reconcile_bench.py FLSYNCD FLMOCK [--scale N] [--seed N] [--pacing SPACINGS]
prints: full sync, incremental pass, reconciling pass (wall s, requests),
        and "reconciliation: X% of a full sync"; with --pacing, per spacing,
        requests per pass and "round: N requests over K passes"
"""
import argparse
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import time
import urllib.request

from benchutil import start_flmock

ap = argparse.ArgumentParser()
ap.add_argument('flsyncd')
ap.add_argument('flmock')
ap.add_argument('--scale', type=int, default=1000000)
ap.add_argument('--seed', type=int, default=3)
ap.add_argument('--pacing', help='spacings of passes, e.g. 1h,6h,1d: how rounds spread over them')
a = ap.parse_args()
UNITS = {'s': 1, 'm': 60, 'h': 3600, 'd': 86400}



def rounds(path):
    """Reconciliation's rounds and the refresh's, as sync_state has them."""
    con = sqlite3.connect(path)
    rec = [(c, json.loads(x)) for c, x in con.execute(
        "SELECT cursor, cursor_extra FROM sync_state WHERE stream LIKE 'reconcile:%'")]
    ref = [json.loads(x) for (x,) in con.execute("SELECT cursor_extra FROM sync_state WHERE stream LIKE 'refresh:%'")]
    ref_req = con.execute("SELECT coalesce(sum(requests), 0) FROM sync_state WHERE stream = 'refresh'").fetchone()[0]
    con.close()
    return rec, ref, ref_req


def pacing(sync, conf):
    """Per spacing: a full sync, then passes that far apart until the first rounds complete."""
    with open(conf, 'w') as f:
        f.write('[cadence]\nreconcile = 1d\nrefresh_all = 1d\n')
    for spacing in a.pacing.split(','):
        every = int(spacing[:-1]) * UNITS[spacing[-1]] if spacing[-1] in UNITS else int(spacing)
        path = os.path.join(tmp, 'pacing-%d.db' % every)
        print('-- passes every %s (%d s)' % (spacing, every))
        sync('full sync', path)
        _, _, ref_before = rounds(path)
        began, rec_round, ref_pass = None, None, None
        for n in range(int(4 * 86400 / every) + 2):
            req = urllib.request.Request(api + '/_mock/advance?seconds=%d' % every, data=b'',
                                         method='POST')
            now = json.loads(urllib.request.urlopen(req, timeout=60).read())['now']
            sync('pass %d' % (n + 1), path)
            rec, ref, ref_req = rounds(path)
            recon = sum(x.get('spent', 0) for _, x in rec if x.get('pass', 0) >= now)
            print('%24s reconciling %6d requests, refreshing %6d' % ('', recon, ref_req - ref_before), flush=True)
            ref_before = ref_req
            if began is None and any(x.get('began') for _, x in rec):
                began = n
            if not rec_round and rec and all(x['end'] > 0 and c >= x['end'] for c, x in rec):
                rec_round = (sum(x.get('requests', 0) for _, x in rec), max(x.get('passes', 0) for _, x in rec),
                             max(x.get('requests', 0) for _, x in rec))
                print('round: reconciliation %d requests over %d passes (a stream at most %d requests)' %
                      rec_round, flush=True)
            if ref_pass is None and ref and all(x['done'] and x['began'] for x in ref):
                ref_pass = n
                print('round: refresh of every record complete', flush=True)
            if rec_round and ref_pass is not None:
                break


tmp = tempfile.mkdtemp(prefix='flsync-reconcile-bench-')
mock, api = start_flmock(a.flmock, tmp, ['--seed', a.seed, '--token', 'bench', '--scale', a.scale,
                                        '--rate-scale', 1000])
try:
    db = os.path.join(tmp, 'bench.db')
    conf = os.path.join(tmp, 'flsyncd.conf')
    with open(conf, 'w') as f:
        f.write('[cadence]\nreconcile = 1d\nreconcile_lookback = 7d\nreconcile_slices = 1\n')

    off = os.path.join(tmp, 'off.conf')
    with open(off, 'w') as f:
        f.write('[cadence]\nreconcile = 0\n')
    copies = [os.path.join(tmp, 'copy%d.db' % i) for i in (1, 2)]

    def sync(what, path=db, config=conf):
        t = time.monotonic()
        p = subprocess.run([a.flsyncd, '--db', path, '--api', api, '--once', '--config', config],
                           capture_output=True, env=dict(os.environ, FLSYNC_TOKEN='bench'))
        secs = time.monotonic() - t
        if p.returncode != 0:
            raise SystemExit('%s failed: %s' % (what, p.stderr.decode()[-2000:]))
        m = re.search(r'pass done: ([\d,]+) rows, ([\d,]+) requests', p.stderr.decode())
        rows, reqs = (int(m.group(1).replace(',', '')), int(m.group(2).replace(',', ''))) if m else (0, 0)
        print('%-22s %8.2f s  %9d rows  %7d requests' % (what, secs, rows, reqs), flush=True)
        return secs, reqs

    if a.pacing:
        pacing(sync, conf)
        raise SystemExit(0)
    full, _ = sync('full sync')
    sync('incremental pass')
    for c in copies:
        src, dst = sqlite3.connect(db), sqlite3.connect(c)
        src.backup(dst)
        src.close()
        dst.close()
    req = urllib.request.Request(api + '/_mock/advance?seconds=90000&quiet=90000', data=b'', method='POST')
    urllib.request.urlopen(req, timeout=60).read()
    # Baselines before and after, on copies: the faster one counts (caches warm).
    base, base_req = sync('a day on, no reconcile', copies[0], off)
    recon, recon_req = sync('a day on, reconciling')
    base = min(base, sync('a day on, no reconcile', copies[1], off)[0])
    con = sqlite3.connect(db)
    repaired = con.execute("SELECT coalesce(sum(rows_synced), 0) FROM sync_state "
                           "WHERE stream LIKE 'reconcile:%'").fetchone()[0]
    span = con.execute("SELECT min(time_created), max(time_created) FROM messages").fetchone()
    con.close()
    cost = max(0.0, recon - base)
    print('world spans %.0f days of messages; the round re-reads the last 7' %
          ((span[1] - span[0]) / 86400 if span[0] else 0))
    print('reconciliation: %.2f s and %d requests over a plain pass, %d rows repaired' %
          (cost, recon_req - base_req, repaired))
    print('reconciliation: %.1f%% of a full sync (target <= 10%%)' % (100.0 * cost / full))
finally:
    mock.terminate()
    mock.wait(30)
    shutil.rmtree(tmp, ignore_errors=True)
