#!/usr/bin/env python3
"""Requests side by side (sync.max_in_flight) against flmock.

- kill -9 at 20 random points of first syncs made side by side over a
  link with latency, each followed by a clean pass: equal to a clean sync,
  integrity ok;
- records that share their second at sub-window edges (a world packed into
  five minutes, 10-result pages): the rows of one request at a time, none
  lost, none doubled, and sub-windows really were read;
- every endpoint's rate budget kept with six requests in flight: flmock
  refused none (no 429) with its limits scaled down to the limiter's.

usage: test_side_by_side.py FLSYNCD FLMOCK
"""
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

import test_sync as base
from test_sync import Mock, check, content, flsyncd, WORLD


def configure(db, text):
    """flsyncd.conf in the config home flsyncd() gives db (its directory)."""
    home = os.path.join(os.path.dirname(db), 'flsync')
    os.makedirs(home, exist_ok=True)
    with open(os.path.join(home, 'flsyncd.conf'), 'w') as f:
        f.write(text)


def stats(mock):
    return json.loads(mock.call('GET', '/_mock/stats'))


def test_kill9_side_by_side(tmp):
    mock = Mock('--seed', '13', '--latency', '20', *WORLD)
    conf = '[sync]\nmax_in_flight = 6\npage_limit = 20\n'
    try:
        ref = os.path.join(tmp, 'k-ref', 'ref.db')
        configure(ref, conf)
        t0 = time.time()
        check('side by side: reference sync', flsyncd(ref, mock.url).returncode == 0)
        took = time.time() - t0
        rng = random.Random(5)
        want = content(ref)
        for i in range(20):
            db = os.path.join(tmp, 'k%d' % i, 'killed.db')
            configure(db, conf)
            env = dict(os.environ, FLSYNC_TOKEN=base.TOKEN, XDG_CONFIG_HOME=os.path.dirname(db))
            p = subprocess.Popen([base.FLSYNCD, '--db', db, '--api', mock.url, '--once'], env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0.02, took))
            p.send_signal(signal.SIGKILL)
            p.wait()
            r = flsyncd(db, mock.url)
            check('side by side: re-run after kill -9 %d exits 0' % i, r.returncode == 0, r.stderr[-2000:])
            check('side by side: kill -9 %d then a pass equals a clean sync' % i, content(db) == want)
            con = sqlite3.connect(db)
            check('side by side: kill -9 %d: integrity_check' % i,
                  con.execute('PRAGMA integrity_check').fetchone()[0] == 'ok')
            con.close()
        print('side by side: 20 kills within a %.2f s first sync' % took)
    finally:
        mock.stop()


def test_equal_times_at_edges(tmp):
    mock = Mock('--seed', '17', '--span', '300', '--threads', '200', '--messages-per-thread', '20',
                '--projects', '400', '--users', '200')
    try:
        got = {}
        for inflight, ahead in ((1, 0), (6, 2), (4, 0)):
            db = os.path.join(tmp, 'edges%d' % inflight, 'a.db')
            configure(db, '[sync]\nmax_in_flight = %d\nread_ahead = %d\npage_limit = 10\n' % (inflight, ahead))
            before = mock.requests()
            r = flsyncd(db, mock.url)
            check('edges: %d in flight exits 0' % inflight, r.returncode == 0, r.stderr[-2000:])
            con = sqlite3.connect(db)
            times = con.execute('SELECT count(*), count(DISTINCT time_created) FROM messages').fetchone()
            con.close()
            got[inflight] = (content(db), mock.requests() - before, times)
        one = got[1]
        print('edges: %d messages in %d distinct seconds' % one[2])
        check('edges: many messages share each second', one[2][0] >= 5 * one[2][1], str(one[2]))
        for inflight in (6, 4):
            g = got[inflight]
            check('edges: %d in flight stores the rows of one at a time' % inflight, g[0] == one[0],
                  ' '.join('%s %d vs %d' % (t, len(g[0][t]), len(one[0][t]))
                           for t in g[0] if g[0][t] != one[0][t]))
            check('edges: %d in flight read sub-windows (%d requests, one at a time %d)'
                  % (inflight, g[1], one[1]), g[1] > one[1])
    finally:
        mock.stop()


def test_rate_budget(tmp):
    """Users' reads are 200 a minute, scaled to 4: the pass needs 6 of them,
    which its id batches would send side by side; the limiter holds two
    back for a minute rather than let flmock refuse them."""
    scale = '0.02'
    mock = Mock('--seed', '19', '--rate-scale', scale, '--latency', '20', '--users', '1500',
                '--projects', '1500', '--threads', '300', '--messages-per-thread', '8')
    try:
        db = os.path.join(tmp, 'budget', 'a.db')
        configure(db, '[limits]\nrate_scale = %s\n[sync]\nmax_in_flight = 6\n' % scale)
        t0 = time.time()
        r = flsyncd(db, mock.url, '-v', timeout=300)
        took = time.time() - t0
        check('budget: the pass exits 0', r.returncode == 0, r.stderr[-2000:])
        s = stats(mock)
        users = s.get('endpoints', {}).get('GET /api/users/0.1/users/', {})
        refused = {ep: c.get('429', 0) for ep, c in s.get('endpoints', {}).items() if c.get('429', 0)}
        print('budget: %d requests (users %s), at most %d in flight, %.1f s, refused %s' %
              (s.get('requests', 0), users, s.get('max_in_flight', 0), took, refused or 'none'))
        check('budget: more users requests than a minute allows', sum(users.values()) > 4, str(users))
        check('budget: no request refused for a budget (429)', not refused, str(refused))
        check('budget: requests went side by side', s.get('max_in_flight', 0) > 1, str(s.get('max_in_flight')))
    finally:
        mock.stop()


def main():
    with tempfile.TemporaryDirectory() as tmp:
        base.run('kill -9 side by side', lambda: test_kill9_side_by_side(tmp))
        base.run('equal times at sub-window edges', lambda: test_equal_times_at_edges(tmp))
        base.run('rate budgets side by side', lambda: test_rate_budget(tmp))
    return base.TALLY.summary()


if __name__ == '__main__':
    sys.exit(main())
