"""The change feed's retention and the file's size, with flsyncd against
flmock:

- after each pass flsyncd prunes the feed behind [feed] keep (30 days by
  default; changes aged by hand here), never past a registered consumer's
  position; the consumer still reads every change after it, an
  unregistered reader further behind gets FL_ERR_PRUNED and re-reads;
  once the consumer unregisters, the rest goes; [feed] keep from the
  config file is obeyed;
- coalescing: with nobody registered, a row changed by several passes has
  one change in the feed;
- flsync ui's live updates (its /events stream) go on after pruning; a
  pass run by flsync ui itself obeys [feed] keep of flsyncd.conf;
- the file stays within a bound while a world whose rows change is re-read
  100 times (keep = 0), the WAL truncated after each pass.

usage: test_feed_retention.py FLSYNCD FLSYNC FLMOCK   (PYTHONPATH: the binding)
"""
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
from harness import mock_post, one  # noqa: E402

import flsync  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402

FLSYNCD, FLSYNC, FLMOCK = sys.argv[1:4]
TOKEN = 'feedkeep'
ENV = dict(os.environ, FLSYNC_TOKEN=TOKEN)
PASSES = int(os.environ.get('FL_FEED_PASSES', '100'))
DAY = 86400
ENTITY_TABLES = ('currencies', 'job_categories', 'jobs', 'users', 'projects', 'bids', 'milestones',
                 'milestone_requests', 'reviews', 'threads', 'messages')
h = harness.Run('feed')
check, tmp = h.check, h.tmp


def flsyncd(db, api, conf=None):
    args = [FLSYNCD, '--db', db, '--api', api, '--once', '-v']
    if conf:
        args += ['--config', conf]
    p = subprocess.run(args, capture_output=True, timeout=300, env=ENV)
    check(p.returncode == 0, 'flsyncd --once: exit 0', p.stderr.decode()[-3000:])
    return p.stderr.decode()


def config(name, keep):
    path = os.path.join(tmp, name + '.conf')
    with open(path, 'w') as f:
        f.write('[feed]\nkeep = %s\n' % keep)
    return path


def sql(db, q, *args):
    con = sqlite3.connect(db)
    try:
        con.execute(q, args)
        con.commit()
    finally:
        con.close()


def age_all(db, seconds):
    sql(db, 'UPDATE changes SET at = at - ?', seconds)


def churn(api, db, conf=None):
    """flmock's world moves on (activity from other users), and a pass reads it."""
    mock_post(api, '/_mock/advance?seconds=3600')
    return flsyncd(db, api, conf)


def retention(api):
    db = os.path.join(tmp, 'keep.db')
    flsyncd(db, api)
    first = one(db, 'SELECT max(seq) FROM changes')
    check(first and first > 50, 'the first pass fills the feed', first)
    # Everything so far is 40 days old; an app registers halfway through.
    age_all(db, 40 * DAY)
    mid = one(db, 'SELECT seq FROM changes WHERE seq >= ? ORDER BY seq LIMIT 1', first // 2)
    with flsync.Database(db) as d:
        d.changes_register('app', mid)
    log = churn(api, db)
    check('pruned' in log, 'the pass says what it pruned', log[-2000:])
    oldest = one(db, 'SELECT min(seq) FROM changes')
    check(oldest == mid, 'pruned behind 30 days up to the registered position, not past it',
          (oldest, mid))
    check(one(db, 'SELECT count(*) FROM changes WHERE seq > ?', first) > 0,
          'the changes of the new pass (young) are kept')
    with flsync.Database(db, readonly=True) as d:
        mine = d.changes_since(mid)
        check(mine and mine[0]['seq'] > mid, 'the registered app reads on from its position', mine[:2])
        try:
            d.changes_since(1)
            check(False, 'an unregistered reader from seq 1 is told it was pruned past')
        except flsync.Error as e:
            check(e.code == flsync.FL_ERR_PRUNED, 'an unregistered reader past the horizon: FL_ERR_PRUNED',
                  e)
    # The app goes away: the next pass prunes on (only what is 30 days old).
    with flsync.Database(db) as d:
        d.changes_unregister('app')
    age_all(db, 40 * DAY)
    latest = one(db, 'SELECT max(seq) FROM changes')
    churn(api, db)
    check(one(db, 'SELECT min(seq) FROM changes') > mid, 'unregistered: pruned past its old position')
    check(one(db, 'SELECT count(*) FROM changes WHERE seq <= ?', latest) <= 1,
          'everything aged is gone but the newest of then', one(db, 'SELECT count(*) FROM changes'))
    # [feed] keep from the file: 1h keeps what is 30 minutes old, prunes 2 hours.
    conf = config('keep1h', '1h')
    age_all(db, 1800)
    young = one(db, 'SELECT min(seq) FROM changes WHERE at > strftime(\'%s\', \'now\') - 3000')
    churn(api, db, conf)
    with flsync.Database(db, readonly=True) as d:
        horizon = d.changes_horizon()
        # (coalescing may have replaced some by newer changes of their rows: nothing lost)
        check(young and horizon < young and d.changes_since(young - 1) is not None,
              '[feed] keep = 1h keeps changes 30 minutes old', (young, horizon))
    age_all(db, 7200)
    churn(api, db, conf)
    check(one(db, 'SELECT count(*) FROM changes WHERE at < strftime(\'%s\', \'now\') - 3600') <= 1,
          '[feed] keep = 1h prunes changes 2 hours old')


def coalescing(api):
    db = os.path.join(tmp, 'coalesce.db')
    flsyncd(db, api)
    for _ in range(3):
        churn(api, db)
    dup = one(db, 'SELECT count(*) FROM (SELECT tbl, row_id FROM changes GROUP BY tbl, row_id HAVING count(*) > 1)')
    rows = one(db, 'SELECT count(*) FROM changes')
    distinct = one(db, 'SELECT count(*) FROM (SELECT DISTINCT tbl, row_id FROM changes)')
    check(dup == 0 and rows == distinct, 'nobody registered: one change per changed row', (dup, rows, distinct))
    # A registered reader's position: what it reached stays, what follows coalesces.
    with flsync.Database(db) as d:
        d.changes_register('reader', d.changes_latest())
        pos = d.changes_latest()
    churn(api, db)
    churn(api, db)
    with flsync.Database(db, readonly=True) as d:
        seen = d.changes_since(pos)
    keys = [(c['table'], c['row_id']) for c in seen]
    check(len(keys) == len(set(keys)), 'after a reader: one change per row it has not seen', len(keys))
    check(one(db, 'SELECT count(*) FROM changes WHERE seq = ?', pos) == 1, 'the change at its position stays')


def sse_event(sock_file):
    """The next SSE event's (event, data) from a stream, skipping comments."""
    event = data = None
    while True:
        line = sock_file.readline().decode()
        if not line:
            return None
        line = line.rstrip('\n')
        if line == '' and event:
            return event, data
        if line.startswith('event: '):
            event = line[7:]
        elif line.startswith('data: '):
            data = line[6:]


def ui_after_pruning(api):
    db = os.path.join(tmp, 'ui.db')
    flsyncd(db, api, config('keep0', '0'))
    p, url = h.start([FLSYNC, 'ui', '--db', db, '--listen', '127.0.0.1:0'], 'ui')
    u = urllib.parse.urlsplit(url)
    token = urllib.parse.parse_qs(u.query)['token'][0]
    s = socket.create_connection((u.hostname, u.port), timeout=30)
    s.sendall(('GET /events?token=%s HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\n\r\n'
               % (token, u.netloc)).encode())
    f = s.makefile('rb')
    hello = sse_event(f)
    check(hello and hello[0] == 'hello', 'the live-update stream says hello', hello)
    # A pass that prunes everything it may (keep = 0), then one more commit by another process.
    churn(api, db, config('keep0', '0'))
    check(one(db, 'SELECT count(*) FROM changes') < one(db, 'SELECT max(seq) FROM changes'),
          'the feed was pruned')
    sql(db, 'UPDATE threads SET is_read = 1 - is_read WHERE id = (SELECT min(id) FROM threads)')
    latest = one(db, 'SELECT max(seq) FROM changes')
    got = None
    for _ in range(5):
        ev = sse_event(f)
        if ev and ev[0] == 'change' and str(latest) in ev[1]:
            got = ev
            break
    check(got, 'after pruning, the page is told of the next commit', got)
    s.close()


def ui_api(base, token, method, path):
    req = urllib.request.Request(base + path, data=b'' if method == 'POST' else None, method=method,
                                 headers={'X-Flsync-Token': token, 'Origin': base,
                                          'Content-Type': 'application/x-www-form-urlencoded'})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def ui_pass_keeps(api):
    """A pass run by flsync ui (--api, no flsyncd) prunes behind flsyncd.conf's [feed] keep, not 30 days."""
    db = os.path.join(tmp, 'uikeep.db')
    flsyncd(db, api)
    age_all(db, 40 * DAY)
    xdg = os.path.join(tmp, 'xdg')
    os.makedirs(os.path.join(xdg, 'flsync'), exist_ok=True)
    with open(os.path.join(xdg, 'flsync', 'flsyncd.conf'), 'w') as f:
        f.write('[feed]\nkeep = 100d\n')
    _, url = h.start([FLSYNC, 'ui', '--db', db, '--listen', '127.0.0.1:0', '--api', api], 'ui-keep',
                     env=dict(ENV, XDG_CONFIG_HOME=xdg))
    base, token = url.split('/?token=')
    ui_api(base, token, 'POST', '/api/sync')
    status = None
    for _ in range(1200):
        status = ui_api(base, token, 'GET', '/api/status')
        if status['sync']['passes'] >= 1 and not status['sync']['running']:
            break
        time.sleep(0.05)
    check(status['sync']['passes'] >= 1, 'flsync ui ran a pass', status)
    old = one(db, 'SELECT count(*) FROM changes WHERE at < strftime(\'%s\', \'now\') - 35 * 86400')
    check(old > 1, 'changes 40 days old stay under [feed] keep = 100d', old)


def file_size_bound(api):
    db = os.path.join(tmp, 'size.db')
    conf = config('size', '0')
    flsyncd(db, api, conf)
    sizes = []
    for i in range(PASSES):
        mock_post(api, '/_mock/advance?seconds=600')
        p = subprocess.run([FLSYNCD, '--db', db, '--api', api, '--once', '--config', conf],
                           capture_output=True, timeout=300, env=ENV)
        if not check(p.returncode == 0, 'pass %d: exit 0' % i, p.stderr.decode()[-2000:]):
            return
        sizes.append(os.path.getsize(db) / sum(one(db, 'SELECT count(*) FROM %s' % t) for t in ENTITY_TABLES))
    wal = wal_size(db)
    rows = sum(one(db, 'SELECT count(*) FROM %s' % t) for t in ENTITY_TABLES)
    feed = one(db, 'SELECT count(*) FROM changes')
    distinct = one(db, 'SELECT count(*) FROM (SELECT DISTINCT tbl, row_id FROM changes)')
    print('after %d passes: %d bytes, %.0f bytes per user row (after the first pass %.0f, at half-way %.0f, '
          'most %.0f), WAL %d bytes, %d user rows, %d feed rows'
          % (PASSES, os.path.getsize(db), sizes[-1], sizes[0], sizes[len(sizes) // 2], max(sizes), wal, rows, feed),
          flush=True)
    clean = os.path.join(tmp, 'clean.db')
    flsyncd(clean, api, conf)
    print('a clean sync of the same world: %d bytes' % os.path.getsize(clean), flush=True)
    check(os.path.getsize(db) <= os.path.getsize(clean) * 1.2,
          'the file re-read %d times is within 20%% of a clean sync of the same world' % PASSES,
          (os.path.getsize(db), os.path.getsize(clean)))
    # The world grows with activity; the file grows with it, not with the passes that re-read it.
    check(max(sizes) <= sizes[0] * 1.25, 'bytes per user row stay within 25% of the first pass\'s',
          (sizes[0], max(sizes)))
    check(feed == distinct, 'the feed holds one change per row', (feed, distinct, rows))
    check(one(db, 'PRAGMA freelist_count') * 8 <= one(db, 'PRAGMA page_count') + 8,
          'free pages were given back', one(db, 'PRAGMA freelist_count'))
    daemon_wal(api, db, conf)


def wal_size(db):
    return os.path.getsize(db + '-wal') if os.path.exists(db + '-wal') else 0


def daemon_wal(api, db, conf):
    """flsyncd as a daemon: the WAL truncated after a pass, unless a reader holds it (the pass goes on)."""
    err = open(os.path.join(tmp, 'daemon.err'), 'wb+')
    p = subprocess.Popen([FLSYNCD, '--db', db, '--api', api, '--interval', '3600', '-v', '--config', conf],
                         stderr=err, env=ENV)
    h.procs.append(p)

    def passes():
        err.seek(0)
        return err.read().decode(errors='replace').count('change feed:')

    check(harness.wait_for(lambda: passes() >= 1, 120), 'the daemon\'s first pass ends')
    check(wal_size(db) == 0, 'after a pass, with no reader, the WAL is truncated', wal_size(db))
    reader = sqlite3.connect(db, isolation_level=None)
    reader.execute('BEGIN')
    reader.execute('SELECT count(*) FROM projects').fetchone()
    mock_post(api, '/_mock/advance?seconds=600')
    p.send_signal(signal.SIGUSR1)
    check(harness.wait_for(lambda: passes() >= 2, 120), 'a reader holding the WAL does not hold up the pass')
    check(wal_size(db) > 0, 'a reader holding the WAL keeps it (checkpointed as far as it allows)')
    reader.execute('COMMIT')
    reader.close()
    p.send_signal(signal.SIGUSR1)
    check(harness.wait_for(lambda: passes() >= 3, 120), 'the next pass ends')
    check(wal_size(db) == 0, 'the reader gone, the next pass truncates the WAL', wal_size(db))
    p.terminate()
    p.wait(30)


def main():
    api = h.start([FLMOCK, '--port', '0', '--seed', '71', '--token', TOKEN, '--scale', '400'], 'flmock')[1]
    retention(api)
    coalescing(api)
    ui_after_pruning(api)
    ui_pass_keeps(api)
    file_size_bound(api)


h.finish(main)
