#!/usr/bin/env python3
"""test_world.py FLSYNC FLSYNCD FLMOCK — flsync on a world synced from flmock:
CSV of every entity table re-imports equal to it, JSON parses, FTS finds a
message the world holds, sqlite-utils reads tables, views and FTS as is,
and the change feed holds exactly the rows a sync
pass changed (compared with before/after snapshots) and, after an action is
queued and a pass sends it, exactly what enqueue and replay changed; and
flsync queries a larger world while flsyncd syncs it: every read succeeds and
sees the rows only grow.
"""
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402

FLSYNC, FLSYNCD, FLMOCK = sys.argv[1:4]
TOKEN = 'worldtest'
ENTITY = ['currencies', 'job_categories', 'jobs', 'users', 'projects', 'bids', 'milestones',
          'milestone_requests', 'reviews', 'threads', 'messages', 'actions']
tmp = tempfile.mkdtemp(prefix='flworld.')
DB = os.path.join(tmp, 'world.db')
H = harness.Run('world')
check = H.check


def run(cmd, code=0, env=None):
    e = dict(os.environ, FLSYNC_TOKEN=TOKEN, **(env or {}))
    p = subprocess.run(cmd, capture_output=True, env=e, timeout=600, cwd=tmp)
    check(p.returncode == code, '%s: exit %d, want %d' % (' '.join(os.path.basename(c) for c in cmd[:3]),
                                                        p.returncode, code), p.stderr.decode()[-2000:])
    return p.stdout


def snapshot():
    """Every entity row by (table, rowid), without synced_at (not a change)."""
    con = sqlite3.connect(DB)
    snap = {}
    for t in ENTITY:
        cols = [r[1] for r in con.execute('PRAGMA table_info(%s)' % t) if r[1] != 'synced_at']
        for r in con.execute('SELECT rowid, %s FROM %s' % (', '.join(cols), t)):
            snap[(t, r[0])] = r[1:]
    con.close()
    return snap


def feed_since(seq):
    out = run([FLSYNC, '--db', DB, 'query', 'SELECT seq, tbl, row_id, op FROM changes WHERE seq > ? ORDER BY seq',
               '--param', str(seq), '-f', 'jsonl'])
    return [json.loads(l) for l in out.decode().splitlines()]


def latest():
    out = run([FLSYNC, '--db', DB, 'query', 'SELECT coalesce(max(seq), 0) AS s FROM changes', '-f', 'json'])
    return json.loads(out)[0]['s']


def compare(before, after, feed, what):
    inserted = {k for k in after if k not in before}
    deleted = {k for k in before if k not in after}
    updated = {k for k in after if k in before and after[k] != before[k]}
    touched = {(c['tbl'], c['row_id']) for c in feed}
    check(touched == inserted | deleted | updated, '%s: the feed names exactly the rows that changed' % what,
          'only in feed: %s\nonly in diff: %s' % (sorted(touched - (inserted | deleted | updated))[:10],
                                                 sorted((inserted | deleted | updated) - touched)[:10]))
    ops = {}
    for c in feed:
        ops.setdefault((c['tbl'], c['row_id']), []).append(c['op'])
    check(all(ops.get(k, [''])[0] == 'insert' for k in inserted), '%s: new rows come as inserts' % what)
    check(all(ops.get(k, [''])[-1] == 'delete' for k in deleted), '%s: removed rows come as deletes' % what)
    check(all('update' in ops.get(k, []) or 'insert' in ops.get(k, []) for k in updated),
          '%s: changed rows come as updates' % what)
    return inserted, deleted, updated


def start_mock(seed, scale):
    """flmock on a free port: (process, URL); the suite is skipped (77) if it cannot start."""
    proc = subprocess.Popen([FLMOCK, '--port', '0', '--seed', str(seed), '--token', TOKEN, '--scale', str(scale)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    line = proc.stdout.readline().decode()
    if not line.startswith('listening on '):
        print('SKIP: flmock did not start:', line)
        proc.kill()
        sys.exit(77)
    return proc, line.split()[-1]


mock, url = start_mock(7, 3000)
try:
    # first pass: everything is new
    run([FLSYNCD, '--db', DB, '--api', url, '--once'])
    snap1 = snapshot()
    check(len(snap1) > 500, 'the world synced', len(snap1))
    feed = feed_since(0)
    ins, _, _ = compare({}, snap1, feed, 'first pass')

    # CSV re-imported equals the table; JSON parses
    for t in ['projects', 'bids', 'messages', 'users', 'reviews', 'milestones']:
        data = run([FLSYNC, '--db', DB, 'query', 'SELECT * FROM %s ORDER BY rowid' % t, '-f', 'csv'])
        path = os.path.join(tmp, t + '.csv')
        open(path, 'wb').write(data)
        imp = os.path.join(tmp, 'imp_%s.db' % t)
        r = subprocess.run(['sqlite3', imp, '.import --csv %s t' % path], capture_output=True)
        check(r.returncode == 0, 'sqlite3 imports %s.csv' % t, r.stderr)
        a = sqlite3.connect(imp).execute('SELECT * FROM t').fetchall()
        con = sqlite3.connect(DB)
        b = con.execute('SELECT * FROM %s ORDER BY rowid' % t).fetchall()
        b = [tuple('' if v is None else con.execute('SELECT CAST(? AS TEXT)', (v,)).fetchone()[0]
                   if isinstance(v, float) else str(v) for v in r) for r in b]
        con.close()
        check(a == b, 'CSV of %s (%d rows) re-imported equals the table' % (t, len(b)))
        out = run([FLSYNC, '--db', DB, 'query', 'SELECT * FROM %s' % t, '-f', 'json'])
        check(len(json.loads(out)) == len(b), 'JSON of %s parses, one object per row' % t)

    # FTS finds a message the world holds: its rarest word
    con = sqlite3.connect(DB)
    mid, text = con.execute("SELECT id, message FROM messages WHERE length(message) > 30 ORDER BY id LIMIT 1").fetchone()
    words = [w.strip('.,!?;:"\'()') for w in text.split()]
    words = [w for w in words if len(w) > 3 and w.isalpha()]
    word = min(words, key=lambda w: con.execute('SELECT count(*) FROM messages_fts WHERE messages_fts MATCH ?',
                                                ('"%s"' % w,)).fetchone()[0])
    con.close()
    out = run([FLSYNC, '--db', DB, 'search', word, '--in', 'messages', '--limit', '1000', '-f', 'json'])
    res = json.loads(out)
    check(any(r['id'] == mid for r in res), 'search finds message %d by "%s"' % (mid, word), out[:500])
    check(all('[' in r['snippet'] for r in res), 'every result is highlighted')

    # sqlite-utils reads the file as is: tables, views, full-text search
    su = shutil.which('sqlite-utils')
    if not su:
        print('SKIP: sqlite-utils checks: sqlite-utils is not installed (apt-get install sqlite-utils)')
    else:
        tables = {r['table']: r['count'] for r in json.loads(run([su, 'tables', DB, '--counts']))}
        con = sqlite3.connect(DB)
        check(all(tables.get(t) == con.execute('SELECT count(*) FROM %s' % t).fetchone()[0] for t in ENTITY),
              'sqlite-utils tables --counts agrees with every entity table', tables)
        views = {r['view'] for r in json.loads(run([su, 'views', DB]))}
        check({'my_active_bids', 'open_projects_with_bids', 'milestone_balances', 'unread_threads'} <= views,
              'sqlite-utils lists the views', views)
        rows = json.loads(run([su, 'rows', DB, 'my_active_bids']))
        check(len(rows) == con.execute('SELECT count(*) FROM my_active_bids').fetchone()[0],
              'sqlite-utils rows reads a view', len(rows))
        found = json.loads(run([su, 'search', DB, 'messages', word, '-c', 'id']))
        check(mid in [r['id'] for r in found], 'sqlite-utils search finds message %d by "%s"' % (mid, word), found[:5])
        title = con.execute('SELECT title FROM projects WHERE title IS NOT NULL ORDER BY id LIMIT 1').fetchone()[0]
        term = max((w for w in title.split() if w.isalpha()), key=len)
        want = {r[0] for r in con.execute('SELECT rowid FROM projects_fts WHERE projects_fts MATCH ?', ('"%s"' % term,))}
        found = json.loads(run([su, 'search', DB, 'projects', term, '-c', 'id', '--limit', '1000']))
        check(want and {r['id'] for r in found} == want, 'sqlite-utils search projects "%s" finds the same rows as FTS5'
              % term, (sorted(want)[:5], found[:5]))
        con.close()

    # a quiet re-sync: only what the world changed
    base = latest()
    run([FLSYNCD, '--db', DB, '--api', url, '--once'])
    snap2 = snapshot()
    compare(snap1, snap2, feed_since(base), 'unchanged re-sync')

    # the world moves on: the next pass records exactly what it brought
    urllib.request.urlopen(urllib.request.Request(url + '/_mock/advance?seconds=3600', method='POST'), timeout=30).read()
    base = latest()
    run([FLSYNCD, '--db', DB, '--api', url, '--once'])
    snap3 = snapshot()
    i, d, u = compare(snap2, snap3, feed_since(base), 'pass after an hour of activity')
    print('after an hour of activity: %d inserted, %d deleted, %d updated rows' % (len(i), len(d), len(u)))

    # an action: enqueue changes the queue and the optimistic row; the pass sends it
    con = sqlite3.connect(DB)
    thread = con.execute('SELECT t.id FROM threads t JOIN thread_members m ON m.thread_id = t.id '
                         'JOIN self s ON s.id = m.user_id ORDER BY t.id LIMIT 1').fetchone()
    con.close()
    if thread:
        base = latest()
        run([FLSYNC, '--db', DB, 'queue', 'add', 'message.send', '--param', 'thread_id=%d' % thread[0],
             '--param', 'message=change feed test message'])
        snap4 = snapshot()
        i, d, u = compare(snap3, snap4, feed_since(base), 'enqueue')
        check({k[0] for k in i} == {'actions', 'messages'}, 'enqueue adds the action and the optimistic message', i)
        base = latest()
        run([FLSYNCD, '--db', DB, '--api', url, '--once'])
        snap5 = snapshot()
        i, d, u = compare(snap4, snap5, feed_since(base), 'the pass that sends the action')
        check(any(k[0] == 'actions' for k in u), 'the action\'s outcome is in the feed', u)
        out = run([FLSYNC, '--db', DB, 'search', '"change feed test message"', '--in', 'messages', '-f', 'json'])
        check(len(json.loads(out)) == 1, 'the sent message is found once', out)
    out = run([FLSYNC, '--db', DB, 'status', '--json'])
    st = json.loads(out)
    check(len(st['streams']) > 3 and all(s['last_success'] > 0 for s in st['streams']), 'status shows synced streams', out)
    rep = os.path.join(tmp, 'r.html')
    run([FLSYNC, '--db', DB, 'report', '--out', rep])
    check(open(rep).read().count('<svg') >= 4, 'the report of the synced world has its charts')
finally:
    mock.kill()
    mock.wait()
    shutil.rmtree(tmp, ignore_errors=True)

# ---- readers while flsyncd syncs ---------------------------------------------------
# flsync queries a database flsyncd is filling: every read succeeds (WAL readers
# never wait for the writer), and what it sees only grows, commit by commit.
# The longest read is printed for the record, not asserted.
big, url = start_mock(11, 150000)
try:
    tmp = tempfile.mkdtemp(prefix='flworld.')
    live = os.path.join(tmp, 'live.db')
    log = open(os.path.join(tmp, 'flsyncd.log'), 'w+')
    sync = subprocess.Popen([FLSYNCD, '--db', live, '--api', url, '--once'], env=dict(os.environ, FLSYNC_TOKEN=TOKEN),
                            stdout=subprocess.DEVNULL, stderr=log)
    reads = []
    while sync.poll() is None:
        if not os.path.exists(live):
            time.sleep(0.01)
            continue
        t0 = time.monotonic()
        p = subprocess.run([FLSYNC, '--db', live, 'query',
                            'SELECT (SELECT count(*) FROM projects) + (SELECT count(*) FROM bids) + '
                            '(SELECT count(*) FROM messages) AS n', '-f', 'json'], capture_output=True, timeout=60)
        reads.append((time.monotonic() - t0, p.returncode, p.stdout, p.stderr, sync.poll() is None))
    code = sync.wait()
    log.seek(0)
    check(code == 0, 'flsyncd synced the larger world', log.read()[-2000:])
    log.close()
    during = [r for r in reads if r[4]]
    # reads before flsyncd's first commit may find the file not yet an flsync database
    first = next((i for i, r in enumerate(during) if r[1] == 0), len(during))
    settled = during[first:]
    check(len(settled) >= 5, 'flsync read the database while flsyncd synced it (%d reads)' % len(settled))
    check(all(r[1] == 0 for r in settled), 'every read during the sync succeeded',
          [r[3].decode()[-300:] for r in settled if r[1] != 0][:3])
    counts = [json.loads(r[2])[0]['n'] for r in settled if r[1] == 0]
    check(counts == sorted(counts), 'reads during the sync see the rows only grow', counts[:50])
    if settled:
        print('%d reads during a %d-row sync: longest %.0f ms, median %.0f ms; rows seen went %d -> %d' % (
            len(settled), counts[-1] if counts else 0, max(r[0] for r in settled) * 1000,
            sorted(r[0] for r in settled)[len(settled) // 2] * 1000, counts[0] if counts else 0,
            counts[-1] if counts else 0))
finally:
    big.kill()
    big.wait()
    shutil.rmtree(tmp, ignore_errors=True)

H.exit()
