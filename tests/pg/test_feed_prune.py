#!/usr/bin/env python3
"""test_feed_prune.py FLSYNC FLSYNCD FLMOCK — the change feed pruned by
flsyncd ([feed] keep = 0: everything it may) with its [sink] postgres, into
a private PostgreSQL cluster:

- after every pass the feed is pruned up to the sink's position, never
  past it, and the mirror equals the file; the passes after the first
  follow the feed (no copy in full);
- a registered consumer behind the sink holds the feed at its position;
- a second sink (flsync pgsync --schema second, by hand, now and then)
  holds it too, and goes on from its position without a copy in full;
- coalesced changes (one per row) still bring every changed row over.

Exit 77 (skipped) without the PostgreSQL server binaries.
"""
import os
import sqlite3
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import harness  # noqa: E402
import pgcluster  # noqa: E402

FLSYNC, FLSYNCD, FLMOCK = sys.argv[1:4]
TOKEN = 'feedpg'
H = harness.Run('feedpg')
tmp, check = H.tmp, H.check
PG = None


def one(db, q, *args):
    return harness.one(db, q, *args)


def sink_cursor(db, schema='flsync'):
    return one(db, "SELECT cursor FROM sync_state WHERE stream = ?", 'sink.postgres.' + schema)


def equal(db, what):
    for table in pgcluster.MIRRORED:
        want, got = pgcluster.mirror_rows(PG, [('acct', db)], table)
        check(got == want, '%s: %s equals SQLite (%d rows there, %d in PostgreSQL)' % (what, table, len(want), len(got)))


def flsyncd(db, api, conf, what):
    p = subprocess.run([FLSYNCD, '--config', conf, '--once', '-v'], capture_output=True,
                       timeout=300, env=dict(os.environ, FLSYNC_TOKEN=TOKEN))
    err = p.stderr.decode()
    check(p.returncode == 0, '%s: flsyncd exit 0' % what, err[-3000:])
    return err


def pgsync_second(db):
    p = subprocess.run([FLSYNC, 'pgsync', '--db', db, '--pg', PG.conninfo, '--schema', 'second', '--account', 'acct'],
                       capture_output=True, timeout=300)
    check(p.returncode == 0, 'pgsync --schema second', p.stderr.decode()[-1500:])
    return p.stdout.decode() + p.stderr.decode()


def run_tests():
    api = H.start([FLMOCK, '--port', '0', '--seed', '91', '--token', TOKEN, '--scale', '1000'], 'flmock')[1]
    db = os.path.join(tmp, 'acct.db')
    conf = os.path.join(tmp, 'flsyncd.conf')
    with open(conf, 'w') as f:
        f.write('[sink]\npostgres = %s\nholder = feedtest\n\n[feed]\nkeep = 0\n\n[account acct]\ndb = %s\napi = %s\n'
                % (PG.conninfo, db, api))
    err = flsyncd(db, api, conf, 'pass 1')
    check('copied in full' in err, 'the first pass copies in full', err[-1500:])
    equal(db, 'pass 1')
    latest = one(db, 'SELECT max(seq) FROM changes')
    check(sink_cursor(db) == latest, 'the sink has the whole feed', (sink_cursor(db), latest))
    check(one(db, 'SELECT count(*) FROM changes') == 1, 'pruned up to the sink: only the newest change is left',
          (one(db, 'SELECT count(*) FROM changes'), [l for l in err.splitlines() if 'postgres' in l or 'feed' in l],
           one(db, "SELECT group_concat(stream || '=' || cursor) FROM sync_state WHERE stream LIKE 'sink.%'")))

    # A registered app behind the sink, and a second sink by hand.
    import flsync
    with flsync.Database(db) as d:
        d.changes_register('app', latest)
    out = pgsync_second(db)
    second = sink_cursor(db, 'second')
    for n in range(2, 6):
        harness.mock_post(api, '/_mock/advance?seconds=3600')
        err = flsyncd(db, api, conf, 'pass %d' % n)
        check('copied in full' not in err and 'postgres: ' in err, 'pass %d follows the feed' % n, err[-1500:])
        equal(db, 'pass %d' % n)
        check(one(db, 'SELECT min(seq) FROM changes') == min(latest, second),
              'pass %d: pruned up to the oldest held position, not past it' % n,
              (one(db, 'SELECT min(seq) FROM changes'), latest, second))
        if n == 3:
            out = pgsync_second(db)
            check('copied everything' not in out, 'the second sink goes on from its position', out[-800:])
            second = sink_cursor(db, 'second')
    held = ('seq NOT IN (SELECT position FROM feed_consumers UNION SELECT cursor FROM sync_state '
            'WHERE stream LIKE \'sink.%\')')
    check(one(db, 'SELECT count(*) FROM changes WHERE ' + held) ==
          one(db, 'SELECT count(*) FROM (SELECT DISTINCT tbl, row_id FROM changes WHERE %s)' % held),
          'coalesced: one change per row, but those at held positions')
    with flsync.Database(db) as d:
        d.changes_unregister('app')
    harness.mock_post(api, '/_mock/advance?seconds=3600')
    flsyncd(db, api, conf, 'pass after the app left')
    check(one(db, 'SELECT min(seq) FROM changes') == second, 'the app gone, only the second sink holds the feed',
          (one(db, 'SELECT min(seq) FROM changes'), second))
    out = pgsync_second(db)
    check('copied everything' not in out, 'the second sink still follows the feed', out[-800:])
    equal(db, 'at the end')

    # The second mirror gone for good: let its position go; if it comes back it copies in full.
    p = subprocess.run([FLSYNC, 'feed', 'unregister', 'sink.postgres.second', '--db', db], capture_output=True,
                       timeout=60)
    check(p.returncode == 0, 'flsync feed unregister sink.postgres.second', p.stderr.decode()[-800:])
    check(sink_cursor(db, 'second') is None, 'the second sink holds no position', sink_cursor(db, 'second'))
    harness.mock_post(api, '/_mock/advance?seconds=3600')
    flsyncd(db, api, conf, 'pass after the second sink left')
    check(one(db, 'SELECT min(seq) FROM changes') > second, 'the feed is pruned past the second sink',
          (one(db, 'SELECT min(seq) FROM changes'), second))
    out = pgsync_second(db)
    check('copied everything' in out, 'the second sink, back, copies in full', out[-800:])
    check(sink_cursor(db, 'second') == one(db, 'SELECT max(seq) FROM changes'),
          'the second sink holds its position again', sink_cursor(db, 'second'))


def main():
    global PG
    if not pgcluster.bindir():
        print('skipped: no PostgreSQL server binaries (the postgresql package; scripts/test installs it)')
        return 77
    # The sanitizer runtimes preloaded for the binding (in a sanitizer build) are this
    # process's; PostgreSQL's programs must not get them.
    os.environ.pop('LD_PRELOAD', None)
    PG = pgcluster.Cluster()
    try:
        run_tests()
    finally:
        PG.close()
    return 0


H.finish(main)
