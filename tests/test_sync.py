#!/usr/bin/env python3
"""test_sync.py FLSYNCD FLMOCK — flsyncd against flmock, table by table.

Every check compares the database with flmock's world (GET /_mock/dump): each
record in the account's scope must be in its table exactly once, with `raw`
equal to the world's object, and nothing else may be there.  Covered: a full
sync; incremental passes after simulated activity (freshness); an idle pass's
request count; window boundaries under many small advances; passes under
every fault flmock injects, and a 429 on the account's own GET /self/;
flsyncd killed with SIGKILL at random points; pages read ahead against
pages read one by one, and SIGTERM while reading ahead; and the write-cost measures
of a first sync (full-text upkeep per batch, indexes built after the load).
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

import harness

FLSYNCD, FLMOCK = sys.argv[1], sys.argv[2]
TOKEN = 'sync-test-token'
VALGRIND = os.environ.get('FL_UNDER_VALGRIND') == '1'
WORLD = ['--users', '300', '--projects', '400', '--bids-per-project', '6', '--milestones', '300',
         '--milestone-requests', '150', '--reviews', '300', '--threads', '120',
         '--messages-per-thread', '8']

LAG = 30  # flsyncd's default safety lag: windows end this long before the server's now
TALLY = harness.Tally()
check = TALLY.check


def advance(mock, seconds):
    """Move flmock's clock with activity, but none in the last LAG seconds: what
    happens there is not due until the next pass, by design."""
    mock.call('POST', '/_mock/advance?seconds=%d&quiet=%d' % (seconds + LAG + 1, LAG + 1))


class Mock(harness.Mock):
    def __init__(self, *args):
        super().__init__(FLMOCK, TOKEN, *args)

    def requests(self):
        stats = json.loads(self.call('GET', '/_mock/stats'))
        return stats.get('total', stats.get('requests', 0)) if isinstance(stats, dict) else 0


def flsyncd(db, url, *extra, timeout=600):
    env = dict(os.environ, FLSYNC_TOKEN=TOKEN, XDG_CONFIG_HOME=os.path.dirname(db))
    return subprocess.run([FLSYNCD, '--db', db, '--api', url, '--once', *extra], env=env,
                          capture_output=True, text=True, timeout=timeout)


def expected_scope(mock):
    """The world's records that belong in the account's database, by table and key."""
    self_id = json.loads(mock.call('GET', '/api/users/0.1/self/'))['result']['id']
    w = {e: mock.dump(e) for e in ('users', 'projects', 'bids', 'milestones',
                                   'milestone_requests', 'reviews', 'threads', 'messages')}
    bids = {b['id']: b for b in w['bids']
            if b.get('bidder_id') == self_id or b.get('project_owner_id') == self_id}
    my_projects = {p['id'] for p in w['projects'] if p.get('owner_id') == self_id}
    bid_projects = {b['project_id'] for b in bids.values() if b.get('bidder_id') == self_id}

    def mine(m):
        return m.get('project_owner_id') == self_id or m.get('bidder_id') == self_id

    milestones = {m.get('transaction_id', m.get('id')): m for m in w['milestones'] if mine(m)}
    milestone_requests = {m['id']: m for m in w['milestone_requests'] if mine(m)}
    reviews = {(r['project_id'], r['from_user_id'], r['to_user_id']): r for r in w['reviews']
               if self_id in (r.get('from_user_id'), r.get('to_user_id'))}
    threads = {t['id']: t for t in w['threads'] if self_id in t['thread'].get('members', [])}
    messages = {m['id']: m for m in w['messages'] if m.get('thread_id') in threads}
    project_ids = (my_projects | bid_projects | {b['project_id'] for b in bids.values()}
                   | {m['project_id'] for m in milestones.values()}
                   | {m['project_id'] for m in milestone_requests.values()}
                   | {r['project_id'] for r in reviews.values()})
    projects = {p['id']: p for p in w['projects'] if p['id'] in project_ids}
    return self_id, {'projects': projects, 'bids': bids, 'milestones': milestones,
                     'milestone_requests': milestone_requests, 'reviews': reviews, 'threads': threads,
                     'messages': messages}


def db_deleted(db, table):
    """Ids flsync marked deleted (a vanished row keeps the raw it was last seen with)."""
    if table not in ('projects', 'bids'):
        return set()
    con = sqlite3.connect(db)
    try:
        return {i for (i,) in con.execute('SELECT id FROM %s WHERE deleted = 1' % table)}
    finally:
        con.close()


def db_rows(db, table):
    con = sqlite3.connect(db)
    try:
        if table == 'reviews':
            rows = con.execute('SELECT project_id, from_user_id, to_user_id, raw FROM reviews').fetchall()
            return {(a, b, c): json.loads(raw) for a, b, c, raw in rows}
        rows = con.execute('SELECT id, raw FROM %s WHERE raw IS NOT NULL' % table).fetchall()
        return {i: json.loads(raw) for i, raw in rows}
    finally:
        con.close()


def compare(name, mock, db):
    """Every table in scope equals the world; returns True when all do."""
    _, want = expected_scope(mock)
    ok = True
    for table, expected in want.items():
        got = db_rows(db, table)
        gone = db_deleted(db, table)
        missing = [k for k in expected if k not in got]
        stale = [k for k in expected if k in got and got[k] != expected[k]
                 and not (expected[k].get('deleted') and k in gone)]
        extra = [k for k in got if k not in expected]
        detail = '%s: %d expected, %d stored; missing %s; stale %s; extra %s' % (
            table, len(expected), len(got), missing[:5], stale[:5], extra[:5])
        if stale:
            k = stale[0]
            diff = {f: (got[k].get(f), expected[k].get(f)) for f in set(got[k]) | set(expected[k])
                    if got[k].get(f) != expected[k].get(f)}
            detail += '\n  first stale %r differs in %s' % (k, json.dumps(diff)[:400])
        ok &= check('%s: %s matches the world' % (name, table), not missing and not stale and not extra,
                    detail)
    con = sqlite3.connect(db)
    integrity = con.execute('PRAGMA integrity_check').fetchone()[0]
    fk = con.execute('PRAGMA foreign_key_check').fetchall()
    dup_users = con.execute('SELECT count(*) FROM users WHERE raw IS NULL').fetchone()[0]
    con.close()
    ok &= check('%s: integrity_check' % name, integrity == 'ok', integrity)
    ok &= check('%s: foreign keys hold' % name, not fk, str(fk[:5]))
    ok &= check('%s: every referenced user fetched' % name, dup_users == 0, '%d stubs' % dup_users)
    return ok


def content(db):
    """Everything the API sent, table by table, for database-to-database comparison."""
    out = {}
    for table in ('projects', 'bids', 'milestones', 'milestone_requests', 'reviews', 'threads',
                  'messages', 'users', 'currencies', 'jobs', 'project_jobs', 'thread_members'):
        con = sqlite3.connect(db)
        cols = 'raw' if table not in ('project_jobs', 'thread_members') else '*'
        out[table] = sorted(map(repr, con.execute('SELECT %s FROM %s' % (cols, table)).fetchall()))
        con.close()
    return out


def run(name, fn):
    try:
        fn()
    except Exception as e:  # a crash of the test itself is a failure, not an abort
        check(name, False, '%s: %s' % (type(e).__name__, e))


def test_full_and_incremental(tmp):
    mock = Mock('--seed', '7', *WORLD)
    try:
        db = os.path.join(tmp, 'full.db')
        r = flsyncd(db, mock.url)
        check('full sync exits 0', r.returncode == 0, r.stderr[-2000:])
        compare('full sync', mock, db)

        r = flsyncd(db, mock.url)
        check('re-sync exits 0', r.returncode == 0, r.stderr[-2000:])
        compare('re-sync', mock, db)

        # Activity: new records, status changes, deletions.
        for step in range(3):
            advance(mock, 3600 * (step + 1))
            r = flsyncd(db, mock.url)
            check('incremental pass %d exits 0' % step, r.returncode == 0, r.stderr[-2000:])
            compare('after advance %d' % step, mock, db)

        # With nothing new, a pass asks little.
        mock.call('POST', '/_mock/advance?seconds=%d&quiet=%d' % (LAG + 5, LAG + 5))
        before = mock.requests()
        r = flsyncd(db, mock.url)
        used = mock.requests() - before
        print('idle pass: %d requests' % used)
        check('idle pass exits 0', r.returncode == 0, r.stderr[-2000:])
        check('idle pass makes a handful of requests', 0 < used <= 30, '%d requests' % used)
    finally:
        mock.stop()


def test_older_read_keeps_fresher_row(tmp):
    """A read older than the stored row (by time_updated) never overwrites it; a newer one does."""
    mock = Mock('--seed', '9', *WORLD)
    try:
        db = os.path.join(tmp, 'fresher.db')
        r = flsyncd(db, mock.url)
        check('fresher: first sync exits 0', r.returncode == 0, r.stderr[-2000:])
        con = sqlite3.connect(db)
        # Own open projects and threads are read again by every pass.
        (fresh_p, stale_p) = [r[0] for r in con.execute(
            "SELECT id FROM projects WHERE owner_id = (SELECT id FROM users WHERE is_self = 1) "
            "AND status = 'active' AND deleted = 0 ORDER BY id LIMIT 2")]
        (fresh_t, stale_t) = [r[0] for r in con.execute('SELECT id FROM threads ORDER BY id LIMIT 2')]
        # As if the database had seen newer versions than the API will serve (fresh_*),
        # or older ones (stale_*).
        for table, fresh, stale in (('projects', fresh_p, stale_p), ('threads', fresh_t, stale_t)):
            # Years ahead: no activity of the pass below can be newer.
            con.execute("UPDATE %s SET time_updated = time_updated + 100000000, raw = raw || ' ' WHERE id = ?"
                        % table, (fresh,))
            con.execute("UPDATE %s SET time_updated = time_updated - 1000000, raw = raw || ' ' WHERE id = ?"
                        % table, (stale,))
        con.commit()
        want = {k: con.execute('SELECT raw FROM %s WHERE id = ?' % k[0], (k[1],)).fetchone()[0]
                for k in (('projects', fresh_p), ('threads', fresh_t))}
        con.close()
        advance(mock, 3600)
        r = flsyncd(db, mock.url)
        check('fresher: a pass exits 0', r.returncode == 0, r.stderr[-2000:])
        con = sqlite3.connect(db)
        for (table, rid), raw in want.items():
            now = con.execute('SELECT raw FROM %s WHERE id = ?' % table, (rid,)).fetchone()[0]
            check('fresher: an older read leaves the fresher %s row' % table[:-1], now == raw)
        world = {o['id']: o for o in mock.dump('projects')}
        got = con.execute('SELECT raw FROM projects WHERE id = ?', (stale_p,)).fetchone()[0]
        check('fresher: a newer read replaces an older project row', json.loads(got) == world[stale_p])
        got = con.execute('SELECT raw FROM threads WHERE id = ?', (stale_t,)).fetchone()[0]
        check('fresher: a newer read replaces an older thread row', not got.endswith(' '))
        con.close()
    finally:
        mock.stop()


def test_boundaries(tmp):
    """Many short advances: windows end at many instants, records share seconds.
    Milestones on untouched projects refresh on the milestones_all cadence, an
    hour by default, longer than these steps: here it is every pass."""
    mock = Mock('--seed', '11', *WORLD)
    try:
        cfg = os.path.join(tmp, 'bounds')
        os.makedirs(os.path.join(cfg, 'flsync'), exist_ok=True)
        with open(os.path.join(cfg, 'flsync', 'flsyncd.conf'), 'w') as f:
            f.write('[cadence]\nmilestones_all = 0\n')
        db = os.path.join(cfg, 'bounds.db')
        steps = random.Random(11)
        check('boundary: first pass', flsyncd(db, mock.url).returncode == 0)
        for step in range(6):
            advance(mock, steps.choice([1, 7, 60, 61, 600]))
            r = flsyncd(db, mock.url)
            check('boundary pass %d exits 0' % step, r.returncode == 0, r.stderr[-1500:])
        compare('after many small advances', mock, db)
    finally:
        mock.stop()


def clean_sync(tmp, name):
    """The seed-5 world synced without faults: what every faulty run must end with."""
    clean = Mock('--seed', '5', *WORLD)
    try:
        clean_db = os.path.join(tmp, 'clean_%s.db' % name.replace(' ', '_'))
        check('clean sync for %s' % name, flsyncd(clean_db, clean.url).returncode == 0)
    finally:
        clean.stop()
    return clean_db


def test_faults(tmp):
    clean_db = clean_sync(tmp, 'faults')
    faults = 'http500=0.04,html503=0.04,rate429=0.04,truncate=0.04,malformed=0.04,reset=0.04,stall=0.01,stall_ms=1500'
    mock = Mock('--seed', '5', '--faults', faults, *WORLD)
    try:
        db = os.path.join(tmp, 'faulty.db')
        codes = []
        for _ in range(4):  # a pass may give up on a stream; the next one resumes it
            r = flsyncd(db, mock.url)
            codes.append(r.returncode)
            if r.returncode == 0:
                break
        check('a pass under faults succeeds eventually', codes[-1] == 0, '%s\n%s' % (codes, r.stderr[-2000:]))
        check('faults end with the same database as a clean sync', content(db) == content(clean_db))
    finally:
        mock.stop()


def test_self_rate_limited(tmp):
    """The account's own GET /self/ is rate limited at the start of a first pass
    (the start-up check got through): nothing that filters on the account may
    run before it is known, so the pass still ends with everything."""
    clean_db = clean_sync(tmp, 'self 429')
    mock = Mock('--seed', '5', '--faults', 'rate429=1,path=/api/users/0.1/self/,skip=1,count=1', *WORLD)
    try:
        db = os.path.join(tmp, 'self429.db')
        r = flsyncd(db, mock.url, '-v')
        stats = json.loads(mock.call('GET', '/_mock/stats'))
        check('self 429: flmock rate-limited the pass\'s GET /self/ once', stats.get('faults', {}).get('rate429') == 1,
              json.dumps(stats.get('faults')))
        check('self 429: the pass succeeds', r.returncode == 0, r.stderr[-2000:])
        check('self 429: the same database as a clean sync', content(db) == content(clean_db),
              r.stderr[-3000:])
    finally:
        mock.stop()


def test_kill9(tmp):
    mock = Mock('--seed', '9', *WORLD)
    try:
        ref = os.path.join(tmp, 'ref.db')
        check('reference sync for kill -9', flsyncd(ref, mock.url).returncode == 0)
        db = os.path.join(tmp, 'killed.db')
        env = dict(os.environ, FLSYNC_TOKEN=TOKEN, XDG_CONFIG_HOME=tmp)
        rng = random.Random(1)
        for i in range(5):
            p = subprocess.Popen([FLSYNCD, '--db', db, '--api', mock.url, '--once'], env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0.02, 0.6 if not VALGRIND else 3))
            p.send_signal(signal.SIGKILL)
            p.wait()
        r = flsyncd(db, mock.url)
        check('re-run after kill -9 exits 0', r.returncode == 0, r.stderr[-2000:])
        check('kill -9 then re-run equals a clean sync', content(db) == content(ref))
        con = sqlite3.connect(db)
        check('kill -9: integrity_check', con.execute('PRAGMA integrity_check').fetchone()[0] == 'ok')
        con.close()
    finally:
        mock.stop()


def feed(db):
    con = sqlite3.connect(db)
    rows = con.execute('SELECT tbl, row_id, op FROM changes ORDER BY seq').fetchall()
    con.close()
    return rows


def test_read_ahead(tmp):
    """Pages read ahead on a thread of their own (sync.read_ahead, default 2)
    store exactly what reading each page when it is needed stores: the same
    rows, the same change feed in the same order, the same requests.  Small
    pages make many of them, and keyset continuations between them.  A pass
    stopped by SIGTERM while reading ahead stops at once, and a re-run
    completes it."""
    mock = Mock('--seed', '11', *WORLD)
    try:
        got = {}
        for ahead, inflight in ((0, 1), (2, 1), (8, 1), (2, 6), (0, 3)):
            home = os.path.join(tmp, 'ahead%d-%d' % (ahead, inflight))
            os.makedirs(os.path.join(home, 'flsync'))
            with open(os.path.join(home, 'flsync', 'flsyncd.conf'), 'w') as f:
                f.write('[sync]\nread_ahead = %d\nmax_in_flight = %d\npage_limit = 10\n' % (ahead, inflight))
            db = os.path.join(home, 'a.db')
            before = mock.requests()
            r = flsyncd(db, mock.url)
            check('read ahead %d, %d in flight: pass exits 0' % (ahead, inflight), r.returncode == 0,
                  r.stderr[-2000:])
            got[ahead, inflight] = (content(db), feed(db), mock.requests() - before)
        base = got[0, 1]
        for ahead in (2, 8):
            g = got[ahead, 1]
            check('read ahead %d: the rows of page-by-page reading' % ahead, g[0] == base[0])
            check('read ahead %d: the change feed of page-by-page reading, in order' % ahead,
                  g[1] == base[1], '%d vs %d changes' % (len(g[1]), len(base[1])))
            check('read ahead %d: the requests of page-by-page reading' % ahead, g[2] == base[2],
                  '%d vs %d' % (g[2], base[2]))
        # Side by side the streams interleave, so a row may be a stub before it is
        # whole: the same rows, and the change feed names the same rows.
        for ahead, inflight in ((2, 6), (0, 3)):
            g = got[ahead, inflight]
            what = '%d in flight (read ahead %d)' % (inflight, ahead)
            check('%s: the rows of one request at a time' % what, g[0] == base[0])
            check('%s: the change feed names the rows of one at a time' % what,
                  set((t, i) for t, i, _ in g[1]) == set((t, i) for t, i, _ in base[1]))
            print('%s: %d requests, one at a time %d' % (what, g[2], base[2]))
            check('%s: sub-windows cost at most a request each, within 1.25x' % what,
                  base[2] <= g[2] <= base[2] * 1.25, '%d vs %d' % (g[2], base[2]))

        home = os.path.join(tmp, 'ahead8-1')
        db = os.path.join(home, 'stopped.db')
        env = dict(os.environ, FLSYNC_TOKEN=TOKEN, XDG_CONFIG_HOME=home)
        p = subprocess.Popen([FLSYNCD, '--db', db, '--api', mock.url, '--once'], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 60
        while time.time() < deadline and p.poll() is None:
            try:
                con = sqlite3.connect(db)
                n = con.execute('SELECT count(*) FROM bids').fetchone()[0]
                con.close()
            except sqlite3.Error:
                n = 0
            if n > 0:
                break
            time.sleep(0.01)
        p.send_signal(signal.SIGTERM)
        t0 = time.time()
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        waited = time.time() - t0
        check('read ahead: SIGTERM stops the pass within 5 s', waited < 5 or VALGRIND, '%.1f s' % waited)
        con = sqlite3.connect(db)
        check('read ahead: integrity_check after SIGTERM',
              con.execute('PRAGMA integrity_check').fetchone()[0] == 'ok')
        con.close()
        r = flsyncd(db, mock.url)
        check('read ahead: a re-run after SIGTERM exits 0', r.returncode == 0, r.stderr[-2000:])
        check('read ahead: a re-run after SIGTERM equals a whole pass', content(db) == got[0, 1][0])
    finally:
        mock.stop()

    # A page the reader waits for when the pass is stopped: the request is given up.
    stall = Mock('--seed', '11', '--faults', 'stall=1,stall_ms=12000,path=/api/messages/0.1/messages/,skip=1',
                 *WORLD)
    try:
        home = os.path.join(tmp, 'ahead2-6')
        db = os.path.join(home, 'stalled.db')
        env = dict(os.environ, FLSYNC_TOKEN=TOKEN, XDG_CONFIG_HOME=home)
        p = subprocess.Popen([FLSYNCD, '--db', db, '--api', stall.url, '--once', '-v'], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 60
        while time.time() < deadline:
            con = sqlite3.connect(db)
            try:
                n = con.execute('SELECT count(*) FROM messages').fetchone()[0]
            except sqlite3.Error:
                n = 0
            con.close()
            if n > 0:
                break
            time.sleep(0.05)
        time.sleep(0.5)  # the second page of messages is now stalled in the server
        p.send_signal(signal.SIGTERM)
        t0 = time.time()
        try:
            _, err = p.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            _, err = p.communicate()
        waited = time.time() - t0
        check('read ahead: SIGTERM during a stalled request stops within 5 s (the stall is 12 s)',
              waited < 5 or VALGRIND, '%.1f s\n%s' % (waited, err[-1500:]))
    finally:
        stall.stop()


def test_reread(tmp):
    """A full re-read of an unchanged world changes nothing; once a stream's
    upserts have found a run of unchanged rows it looks before it writes, and
    a row that differs in the middle of such a run is still put right: exactly
    the rows made stale are rewritten, and the tables end as the API has them."""
    mock = Mock('--seed', '12', *WORLD)
    try:
        db = os.path.join(tmp, 'reread.db')
        check('re-read: first pass exits 0', flsyncd(db, mock.url).returncode == 0)
        want = content(db)
        con = sqlite3.connect(db)
        stale = 0
        for table in ('messages', 'bids', 'projects', 'threads', 'milestones'):
            # Others' projects that reached a final status are not read again, by design.
            own = ' AND owner_id = (SELECT id FROM users WHERE is_self)' if table == 'projects' else ''
            cur = con.execute("UPDATE %s SET raw = raw || ' ' WHERE raw IS NOT NULL AND rowid %% 23 = 5%s"
                              % (table, own))
            stale += cur.rowcount
        con.execute('DELETE FROM sync_state')
        con.commit()
        con.close()
        check('re-read: some rows made stale', stale > 20, str(stale))
        r = flsyncd(db, mock.url)
        check('re-read: the pass exits 0', r.returncode == 0, r.stderr[-2000:])
        con = sqlite3.connect(db)
        rows = con.execute("SELECT sum(rows_synced) FROM sync_state WHERE stream NOT LIKE 'reconcile:%'").fetchone()[0]
        con.close()
        check('re-read: exactly the stale rows were rewritten', rows == stale, '%s rows for %d stale' % (rows, stale))
        check('re-read: the tables are the API\'s again', content(db) == want)
        con = sqlite3.connect(db)
        con.execute('DELETE FROM sync_state')
        con.commit()
        con.close()
        r = flsyncd(db, mock.url)
        con = sqlite3.connect(db)
        rows = con.execute("SELECT sum(rows_synced) FROM sync_state").fetchone()[0]
        con.close()
        check('re-read of an unchanged world: exits 0 and stores nothing', r.returncode == 0 and rows == 0,
              '%s rows; %s' % (rows, r.stderr[-1000:]))
    finally:
        mock.stop()


def test_mass_delete_guard(tmp):
    """Rows that vanish from the API are marked deleted, unless a pass would
    mark a large share of the table gone: then it stops and says so."""
    mock = Mock('--seed', '13', *WORLD)
    try:
        db = os.path.join(tmp, 'guard.db')
        check('guard: first pass', flsyncd(db, mock.url).returncode == 0)
        con = sqlite3.connect(db)
        self_id = con.execute('SELECT id FROM users WHERE is_self').fetchone()[0]
        known = con.execute('SELECT count(*) FROM projects').fetchone()[0]

        def plant(n, base):
            con.executemany("INSERT INTO projects(id, owner_id, status, raw, synced_at) "
                            "VALUES (?, ?, 'active', '{}', 0)", [(base + i, self_id) for i in range(n)])
            con.commit()

        plant(3, 8000000000)  # a few own projects the API no longer has
        r = flsyncd(db, mock.url)
        gone = con.execute('SELECT count(*) FROM projects WHERE id >= 8000000000 AND deleted = 1').fetchone()[0]
        check('guard: a few vanished rows are marked deleted', r.returncode == 0 and gone == 3,
              'exit %d, %d marked\n%s' % (r.returncode, gone, r.stderr[-800:]))

        plant(known, 8100000000)  # half the table vanishing at once
        r = flsyncd(db, mock.url)
        marked = con.execute('SELECT count(*) FROM projects WHERE id >= 8100000000 AND deleted = 1').fetchone()[0]
        check('guard: a mass vanishing stops the stream', r.returncode == 1 and marked == 0,
              'exit %d, %d marked' % (r.returncode, marked))
        check('guard: and says why', 'mass-delete guard' in r.stderr, r.stderr[-800:])
        err = con.execute("SELECT last_error FROM sync_state WHERE stream = 'projects_refresh'").fetchone()[0]
        check('guard: recorded in sync_state', err is not None and 'mass-delete guard' in err, str(err))
        con.close()
    finally:
        mock.stop()


def fts_consistent(con):
    """Both full-text indexes hold exactly their content tables' rows and text."""
    try:
        con.execute("INSERT INTO projects_fts(projects_fts, rank) VALUES ('integrity-check', 1)")
        con.execute("INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)")
        return True, ''
    except sqlite3.DatabaseError as e:
        return False, str(e)


def index_names(db):
    con = sqlite3.connect(db)
    names = {r[0] for r in con.execute("SELECT name FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL")}
    con.close()
    return names


def test_write_upkeep(tmp):
    """What a first sync does to write fast keeps the database as it was: the
    full-text indexes, kept once per batch, match their tables at every commit
    a reader sees and after the pass, and still follow other writers; the
    indexes a first sync builds after its load are all there after it, and
    after a first sync killed mid-load and run again; the change feed holds
    one insert per row."""
    mock = Mock('--seed', '21', *WORLD)
    try:
        # Every index a new database has: one migrated and never synced (no API answers;
        # a refused token leaves no database behind).
        fresh = os.path.join(tmp, 'fresh.db')
        subprocess.run([FLSYNCD, '--db', fresh, '--api', 'http://127.0.0.1:9', '--once'],
                       env=dict(os.environ, FLSYNC_TOKEN='not-the-token', XDG_CONFIG_HOME=tmp),
                       capture_output=True, timeout=120)
        want = index_names(fresh)
        check('upkeep: a new database has its indexes', len(want) > 20, str(sorted(want)))

        # A reader beside the first sync: every snapshot has every row indexed.
        db = os.path.join(tmp, 'upkeep.db')
        env = dict(os.environ, FLSYNC_TOKEN=TOKEN, XDG_CONFIG_HOME=tmp)
        p = subprocess.Popen([FLSYNCD, '--db', db, '--api', mock.url, '--once'], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        snapshots, torn = 0, []
        while p.poll() is None:
            try:
                con = sqlite3.connect('file:%s?mode=ro' % db, uri=True, timeout=10)
                con.execute('BEGIN')
                got = con.execute('SELECT (SELECT count(*) FROM projects), (SELECT count(*) FROM projects_fts_docsize), '
                                  '(SELECT count(*) FROM messages), (SELECT count(*) FROM messages_fts_docsize)').fetchone()
                con.execute('COMMIT')
                con.close()
            except sqlite3.OperationalError:
                time.sleep(0.01)  # not created or not migrated yet
                continue
            snapshots += 1
            if got[0] != got[1] or got[2] != got[3]:
                torn.append(got)
            time.sleep(0.005)
        err = p.stderr.read()
        check('upkeep: first sync exits 0', p.returncode == 0, err[-2000:])
        print('upkeep: %d snapshots read beside the first sync' % snapshots)
        check('upkeep: every snapshot a reader saw had every project and message indexed', not torn, str(torn[:5]))
        compare('upkeep first sync', mock, db)
        db_first = os.path.join(tmp, 'upkeep_first.db')
        first = sqlite3.connect(db)
        first.execute('VACUUM INTO ?', (db_first,))
        first.close()

        con = sqlite3.connect(db)
        ok, why = fts_consistent(con)
        check('upkeep: full-text indexes match their tables after the pass', ok, why)
        check('upkeep: no batch mark left', con.execute('SELECT count(*) FROM sync_batch').fetchone()[0] == 0)
        check('upkeep: no index left aside',
              con.execute('SELECT count(*) FROM sync_deferred_indexes').fetchone()[0] == 0)
        for table in ('projects', 'bids', 'milestones', 'milestone_requests', 'threads', 'messages', 'users'):
            rows, inserts, distinct = con.execute(
                "SELECT (SELECT count(*) FROM %s), count(*), count(DISTINCT row_id) FROM changes "
                "WHERE tbl = ? AND op = 'insert'" % table, (table,)).fetchone()
            check('upkeep: one insert in the change feed per %s row' % table, rows == inserts == distinct,
                  str((rows, inserts, distinct)))

        # Other writers still keep the indexes in step, row by row.
        self_id = con.execute('SELECT id FROM users WHERE is_self').fetchone()[0]
        thread = con.execute('SELECT id FROM threads LIMIT 1').fetchone()[0]
        con.execute("INSERT INTO messages(id, thread_id, from_user_id, message) VALUES (990000001, ?, ?, 'zebracorn alpha')",
                    (thread, self_id))
        con.execute("UPDATE projects SET title = 'quokkaquest' WHERE id = (SELECT min(id) FROM projects WHERE raw IS NOT NULL)")
        con.execute('DELETE FROM messages WHERE id = (SELECT max(id) FROM messages)')
        con.commit()
        hits = (con.execute("SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'zebracorn'").fetchone()[0],
                con.execute("SELECT count(*) FROM projects_fts WHERE projects_fts MATCH 'quokkaquest'").fetchone()[0])
        check('upkeep: text another writer stores is found', hits == (1, 1), str(hits))
        ok, why = fts_consistent(con)
        check('upkeep: full-text indexes match after other writers', ok, why)
        con.close()
        r = flsyncd(db, mock.url)
        check('upkeep: a pass after other writers exits 0', r.returncode == 0, r.stderr[-2000:])
        con = sqlite3.connect(db)
        ok, why = fts_consistent(con)
        check('upkeep: full-text indexes match after that pass', ok, why)
        con.close()
        check('upkeep: indexes after a first sync are those of a new database', index_names(db) == want,
              str(sorted(index_names(db) ^ want)))

        # A first sync killed mid-load (once its indexes are aside, then a
        # little later): the next pass builds what was left aside.
        rng = random.Random(21)
        left_aside = []
        for i in range(4):
            killed = os.path.join(tmp, 'upkeep_killed%d.db' % i)
            p = subprocess.Popen([FLSYNCD, '--db', killed, '--api', mock.url, '--once'], env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 120
            while p.poll() is None and time.monotonic() < deadline:
                try:
                    con = sqlite3.connect('file:%s?mode=ro' % killed, uri=True, timeout=10)
                    n = con.execute('SELECT count(*) FROM sync_deferred_indexes').fetchone()[0]
                    con.close()
                    if n:
                        break
                except sqlite3.OperationalError:
                    pass
                time.sleep(0.005)
            # The first kill lands as soon as the indexes are aside, so that one
            # surely does; the others a little later, wherever they fall.
            time.sleep(0 if i == 0 else rng.uniform(0, 0.3 if not VALGRIND else 2))
            p.send_signal(signal.SIGKILL)
            p.wait()
            con = sqlite3.connect(killed)
            left_aside.append(con.execute('SELECT count(*) FROM sync_deferred_indexes').fetchone()[0])
            con.close()
            r = flsyncd(killed, mock.url)
            check('upkeep: re-run after a killed first sync exits 0 (%d)' % i, r.returncode == 0, r.stderr[-2000:])
            check('upkeep: its indexes are all back (%d)' % i, index_names(killed) == want,
                  str(sorted(index_names(killed) ^ want)))
            con = sqlite3.connect(killed)
            ok, why = fts_consistent(con)
            check('upkeep: its full-text indexes match (%d)' % i, ok, why)
            check('upkeep: nothing left aside (%d)' % i,
                  con.execute('SELECT count(*) FROM sync_deferred_indexes').fetchone()[0] == 0)
            con.close()
            check('upkeep: a killed first sync then re-run equals a clean sync (%d)' % i,
                  content(killed) == content(db_first))
        print('upkeep: indexes left aside by each kill: %s' % left_aside)
        check('upkeep: a kill left indexes aside for the next pass to build', any(left_aside), str(left_aside))
    finally:
        mock.stop()


def main():
    with tempfile.TemporaryDirectory() as tmp:
        run('full and incremental', lambda: test_full_and_incremental(tmp))
        run('boundaries', lambda: test_boundaries(tmp))
        run('older read keeps fresher row', lambda: test_older_read_keeps_fresher_row(tmp))
        run('faults', lambda: test_faults(tmp))
        run('self rate limited', lambda: test_self_rate_limited(tmp))
        run('kill -9', lambda: test_kill9(tmp))
        run('read ahead', lambda: test_read_ahead(tmp))
        run('re-read', lambda: test_reread(tmp))
        run('mass-delete guard', lambda: test_mass_delete_guard(tmp))
        run('write upkeep', lambda: test_write_upkeep(tmp))
    return TALLY.summary()


if __name__ == '__main__':
    sys.exit(main())
