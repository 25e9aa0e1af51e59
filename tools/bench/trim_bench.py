#!/usr/bin/env python3
"""trim_bench.py — the first fl_changes_trim of a file with a long feed
history (as one made before flsync pruned its feed: coalesced_through 0),
and what another writer waits meanwhile.

It makes a file with ROWS currencies changed CHANGES times in all (one
feed row each, by the triggers), sets coalesced_through back to 0, then
calls fl_changes_trim (keep 30 days) until the feed is coalesced, while a
second connection (busy timeout 5 s, as every flsync handle) writes a row
every 10 ms.  A trigger on feed_state stamps each slice's commit of
coalesced_through, so the time between two stamps is one slice's write
transaction.

usage: trim_bench.py BUILD [--rows N] [--changes N]
prints: the feed's rows before and after, the trims it took and each
        one's time, the slices (count, p50, p95, max ms), and the other
        writer's waits (count, p50, max ms, failures)
"""
import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import threading
import time

here = os.path.dirname(os.path.abspath(__file__))


def build(path, rows, changes):
    import flsync
    flsync.Database(path).close()  # the schema, as flsync makes it
    con = sqlite3.connect(path, isolation_level=None)
    con.execute('BEGIN')
    con.execute("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
                "INSERT INTO currencies(id, code, name, exchange_rate) SELECT i, 'C' || i, 'c', 1.0 FROM n",
                (rows,))
    con.execute('COMMIT')
    done = rows
    while done < changes:
        k = min(rows, changes - done)
        con.execute('UPDATE currencies SET exchange_rate = exchange_rate + 1 WHERE id <= ?', (k,))
        done += k
    con.execute('UPDATE feed_state SET coalesced_through = 0 WHERE id = 1')
    con.execute('CREATE TABLE bench_slices (through INTEGER, at REAL)')
    con.execute('CREATE TRIGGER bench_slice AFTER UPDATE OF coalesced_through ON feed_state BEGIN '
                "INSERT INTO bench_slices VALUES (new.coalesced_through, julianday('now') * 86400000.0); END")
    con.execute('PRAGMA wal_checkpoint(TRUNCATE)')
    con.close()


def writer(path, stop, waits, fails):
    con = sqlite3.connect(path, isolation_level=None, timeout=5.0)
    con.execute('CREATE TABLE IF NOT EXISTS bench_writes (at REAL)')
    while not stop.is_set():
        t0 = time.monotonic()
        try:
            con.execute('INSERT INTO bench_writes VALUES (?)', (t0,))
            waits.append((time.monotonic() - t0) * 1000)
        except sqlite3.OperationalError:
            fails.append((time.monotonic() - t0) * 1000)
        time.sleep(0.01)
    con.close()


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))] if xs else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('build')
    ap.add_argument('--rows', type=int, default=300000)
    ap.add_argument('--changes', type=int, default=3000000)
    a = ap.parse_args()
    os.environ.setdefault('FLSYNC_LIBRARY', os.path.join(a.build, 'libflsync.so'))
    sys.path.insert(0, os.path.join(here, '..', '..', 'bindings', 'python'))
    import flsync
    tmp = tempfile.mkdtemp(prefix='trim-bench-')
    path = os.path.join(tmp, 'old.db')
    t0 = time.monotonic()
    build(path, a.rows, a.changes)
    print('built %d changes of %d rows in %.1f s' % (a.changes, a.rows, time.monotonic() - t0))
    stop, waits, fails = threading.Event(), [], []
    th = threading.Thread(target=writer, args=(path, stop, waits, fails))
    th.start()
    time.sleep(0.2)
    trims = []
    with flsync.Database(path) as db:
        before = db.query('SELECT count(*) AS n FROM changes')[0]['n']
        while True:
            t = time.monotonic()
            db.changes_trim(30 * 86400)
            trims.append((time.monotonic() - t) * 1000)
            st = db.query('SELECT (SELECT coalesced_through FROM feed_state) AS c, '
                          '(SELECT max(seq) FROM changes) AS l')[0]
            if st['c'] >= st['l']:
                break
        after = db.query('SELECT count(*) AS n FROM changes')[0]['n']
        stamps = [r['at'] for r in db.query('SELECT at FROM bench_slices ORDER BY rowid')]
    stop.set()
    th.join()
    slices = [b - a_ for a_, b in zip(stamps, stamps[1:])]
    print('feed rows: %d before, %d after' % (before, after))
    print('trims to catch up: %d, each %s ms' % (len(trims), ', '.join('%.0f' % t for t in trims[:12]) +
                                                  (' ...' if len(trims) > 12 else '')))
    print('slices: %d, p50 %.0f ms, p95 %.0f ms, max %.0f ms' %
          (len(stamps), pct(slices, 0.5), pct(slices, 0.95), max(slices) if slices else 0))
    print('other writer: %d writes, wait p50 %.1f ms, max %.0f ms, %d failed (busy after 5 s)' %
          (len(waits), pct(waits, 0.5), max(waits) if waits else 0, len(fails)))


main()
