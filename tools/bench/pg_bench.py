#!/usr/bin/env python3
"""pg_bench.py — `flsync pgsync` into PostgreSQL, measured against a ceiling
taken in the same run:

- rows/s of a first (full) mirror of a flmock world synced by flsyncd
  (default 1,000,000 records), against the ceiling: COPY of the very same
  rows (exported by the server from the mirror) into unindexed tables;
- the sink's lag after a pass: from flsyncd's commit (the end of its
  --once pass over a day of new activity) to pgsync's PostgreSQL commit.

usage: tools/bench/pg_bench.py BUILD_DIR [--scale N]

A private cluster (Debian's postgresql, fsync on) in a temporary directory;
prints figures, asserts nothing.
"""
import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'tests', 'pg'))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'tests', 'ui'))
import pgcluster  # noqa: E402
import webdriver  # noqa: E402  (start_listening)

TABLES = ['currencies', 'job_categories', 'jobs', 'users', 'projects', 'project_jobs', 'bids', 'milestones',
          'milestone_requests', 'reviews', 'threads', 'thread_members', 'messages', 'actions', 'sync_state']


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('build')
    ap.add_argument('--scale', type=int, default=1000000)
    a = ap.parse_args()
    b = os.path.abspath(a.build)
    flmock, flsyncd, flsync = (os.path.join(b, p) for p in ('tools/flmock/flmock', 'syncd/flsyncd', 'tools/flsync/flsync'))
    tmp = tempfile.mkdtemp(prefix='flpg-bench.')
    db = os.path.join(tmp, 'bench.db')
    env = dict(os.environ, FLSYNC_TOKEN='bench')
    mock, api = webdriver.start_listening([flmock, '--port', '0', '--seed', '3', '--token', 'bench',
                                           '--scale', str(a.scale)], tmp, 'flmock')
    pg = None
    try:
        t0 = time.time()
        subprocess.run([flsyncd, '--db', db, '--api', api, '--once'], check=True, env=env, capture_output=True)
        con = sqlite3.connect(db)
        rows = sum(con.execute('SELECT count(*) FROM "%s"' % t).fetchone()[0] for t in TABLES)
        con.close()
        print('world: scale %d, %d rows in the mirrored tables (flsyncd %.1f s)' % (a.scale, rows, time.time() - t0))
        pg = pgcluster.Cluster(fsync=True)

        t0 = time.time()
        p = subprocess.run([flsync, 'pgsync', '--db', db, '--pg', pg.conninfo, '--account', 'bench'],
                           check=True, capture_output=True, text=True)
        full = time.time() - t0
        print('pgsync, first run: %.2f s, %.0f rows/s  (%s)' % (full, rows / full, p.stdout.strip()))

        # The ceiling: the same rows, as the server itself exports them, into tables with no index.
        os.chmod(tmp, 0o777)
        pg.psql('CREATE SCHEMA ceiling')
        for t in TABLES:
            pg.psql('CREATE TABLE ceiling."%s" (LIKE flsync."%s")' % (t, t))
            pg.psql("COPY flsync.\"%s\" TO '%s/%s.copy'" % (t, pg.dir, t))
        t0 = time.time()
        for t in TABLES:
            pg.psql("COPY ceiling.\"%s\" FROM '%s/%s.copy'" % (t, pg.dir, t))
        ceiling = time.time() - t0
        print('ceiling, COPY of the same rows into unindexed tables: %.2f s, %.0f rows/s' % (ceiling, rows / ceiling))
        print('pgsync / ceiling: %.2fx of the ceiling\'s rows/s' % (ceiling / full))

        # Lag after a pass: a day of activity, flsyncd's pass, then pgsync.
        lags = []
        for _ in range(3):
            urllib.request.urlopen(urllib.request.Request(api + '/_mock/advance?seconds=86400', method='POST'))
            subprocess.run([flsyncd, '--db', db, '--api', api, '--once'], check=True, env=env, capture_output=True)
            committed = time.time()
            p = subprocess.run([flsync, 'pgsync', '--db', db, '--pg', pg.conninfo, '--account', 'bench'],
                               check=True, capture_output=True, text=True)
            lags.append((time.time() - committed, p.stdout.strip()))
        for lag, out in lags:
            print('lag after a pass: %.2f s  (%s)' % (lag, out))
        print('lag: max %.2f s over %d passes' % (max(x for x, _ in lags), len(lags)))
    finally:
        mock.terminate()
        if pg:
            pg.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    main()
