#!/usr/bin/env python3
"""feed_bench.py — the change feed's rows per user-row change, as the
triggers write it (before: every write of a row is a feed row, and nothing
pruned it) and as flsyncd leaves it after each pass (after: coalesced by
fl_changes_trim), and what the trim and the compaction cost a pass.

It syncs an flmock world in full, then makes passes (flmock's clock moved
on --advance seconds each, its activity ~1 event per 10 s) through the
library, as flsyncd does: fl_sync_run, then fl_changes_trim and
fl_db_compact, timed.  Seqs are given as if nothing were deleted (the
newest change is always kept), so the feed's rows without coalescing are
the seqs the passes used.  "User rows changed" are the distinct rows the
passes wrote (one change each is kept, so they are the rows left).  The
same is done again with a consumer that reads the feed and acks after
every pass (as a PostgreSQL sink does).

usage: feed_bench.py BUILD [--scale N] [--passes N] [--advance S]
prints: per run, the feed rows before and after, the user rows changed,
        rows per user-row change before and after, the trim's and the
        compaction's time per pass (p50, max), and the file's size; then
        what the index coalescing looks changes up by (changes_row,
        migration 011) costs each feed row the triggers write: 200,000
        rows into a bare `changes` table with and without it, row ids in
        pages of 100 in order (as a sync stores them) and at random
"""
import argparse
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import urllib.request

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
from benchutil import start_flmock  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument('build')
ap.add_argument('--scale', type=int, default=20000)
ap.add_argument('--passes', type=int, default=24)
ap.add_argument('--advance', type=int, default=3600)
ap.add_argument('--seed', type=int, default=7)
args = ap.parse_args()

os.environ.setdefault('FLSYNC_LIBRARY', os.path.join(os.path.abspath(args.build), 'libflsync.so'))
sys.path.insert(0, os.path.join(here, '..', '..', 'bindings', 'python'))
import flsync  # noqa: E402

TOKEN = 'feedbench'


def ms(v):
    return '%.1f' % (v * 1000)


def run(label, consumer):
    tmp = tempfile.mkdtemp(prefix='flfeedbench.')
    proc, api = start_flmock(os.path.join(args.build, 'tools', 'flmock', 'flmock'), tmp,
                             ['--seed', args.seed, '--token', TOKEN, '--scale', args.scale])
    try:
        path = os.path.join(tmp, 'flsync.db')
        trims, compacts = [], []
        with flsync.Database(path) as db, flsync.Sync(api, token=TOKEN) as sync:
            sync.run(db)
            db.changes_trim()
            start = db.changes_latest()
            if consumer:
                db.changes_register('reader', start)
            for _ in range(args.passes):
                urllib.request.urlopen(urllib.request.Request(
                    api + '/_mock/advance?seconds=%d' % args.advance, data=b'', method='POST'), timeout=120).read()
                sync.run(db)
                if consumer:
                    changes, newest = db.follow('reader')
                    db.changes_ack('reader', newest)
                t0 = time.monotonic()
                db.changes_trim()
                t1 = time.monotonic()
                db.compact()
                t2 = time.monotonic()
                trims.append(t1 - t0)
                compacts.append(t2 - t1)
            written = db.changes_latest() - start
            kept = db.query('SELECT count(*) AS n FROM changes WHERE seq > ?', start)[0]['n']
            rows = db.query('SELECT count(*) AS n FROM (SELECT DISTINCT tbl, row_id FROM changes WHERE seq > ?)',
                            start)[0]['n']
            total = db.query('SELECT count(*) AS n FROM changes')[0]['n']
        size = os.path.getsize(path)
        print('%s: %d passes of %d s over a world of scale %d' % (label, args.passes, args.advance, args.scale))
        print('  feed rows the passes wrote (before: nothing coalesced) %8d' % written)
        print('  feed rows kept after coalescing (after)                %8d  (feed in all: %d)' % (kept, total))
        print('  user rows changed                                      %8d' % rows)
        print('  feed rows per user-row change: before %.2f, after %.2f'
              % (written / rows if rows else 0, kept / rows if rows else 0))
        print('  fl_changes_trim per pass: p50 %s ms, max %s ms; fl_db_compact: p50 %s ms, max %s ms'
              % (ms(statistics.median(trims)), ms(max(trims)), ms(statistics.median(compacts)), ms(max(compacts))))
        print('  file: %d bytes' % size, flush=True)
    finally:
        proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)


def index_cost():
    tmp = tempfile.mkdtemp(prefix='flfeedidx.')
    tables = ('bids', 'messages', 'threads', 'projects', 'users')
    paged = [(tables[(i // 100) % 5], 5000000000 + i) for i in range(200000)]
    scattered = [(tables[i % 5], random.randrange(5000000000, 5000200000)) for i in range(200000)]

    def one(rows, index):
        path = os.path.join(tmp, 'idx.db')
        for suffix in ('', '-wal', '-shm'):
            if os.path.exists(path + suffix):
                os.remove(path + suffix)
        con = sqlite3.connect(path, isolation_level=None)
        con.execute('PRAGMA journal_mode = WAL')
        con.execute('PRAGMA synchronous = NORMAL')
        con.execute('CREATE TABLE changes (seq INTEGER PRIMARY KEY, tbl TEXT NOT NULL, row_id INTEGER NOT NULL, '
                    'op TEXT NOT NULL, at INTEGER NOT NULL) STRICT')
        if index:
            con.execute('CREATE INDEX changes_row ON changes(tbl, row_id)')
        t0 = time.perf_counter()
        for i in range(0, len(rows), 10000):
            con.execute('BEGIN')
            con.executemany("INSERT INTO changes(tbl, row_id, op, at) VALUES (?, ?, 'update', 1)", rows[i:i + 10000])
            con.execute('COMMIT')
        con.close()
        return (time.perf_counter() - t0) / len(rows) * 1e6

    for name, rows in (('ids in pages of 100, in order', paged), ('ids at random', scattered)):
        without = statistics.median(one(rows, False) for _ in range(5))
        with_ = statistics.median(one(rows, True) for _ in range(5))
        print('changes_row index, %s: a feed row costs %.2f us without it, %.2f us with it (+%.2f us; medians of 5)'
              % (name, without, with_, with_ - without), flush=True)
    shutil.rmtree(tmp, ignore_errors=True)


run('no consumer', False)
run('a consumer reading after every pass', True)
index_cost()
