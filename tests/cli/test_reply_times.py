#!/usr/bin/env python3
"""test_reply_times.py FLSYNC FLSYNCD FLMOCK — reply_times (migration 016),
the table insight_response_monthly and report_response_times read, stays
what the messages say, whoever writes them and in whatever order:

- after a first sync (the messages indexes set aside, the table filled when
  they are built again), passes with new, edited and removed messages, and
  late messages (times inside threads already stored: out of order) read
  again by `flsync resync --stream messages`;
- after direct rows (the per-message triggers, as the sqlite3 shell or a
  queued action writes): a message deleted (one that opened a wait, one of
  the account's replies), one inserted between two others, one moved in
  time and to another thread, one made a pending local row and back, one
  whose author changes; and a change of the account (users.is_self);

each time: every row of reply_times equals this script's own walk over the
messages, insight_response_monthly (kept per month in reply_months, or
computed for the months marked stale) equals the figures computed from scratch
(here in Python, and by migration 003's window query over the messages), and
`flsync report` shows the median and p90 of all replies.
"""
import math
import os
import random
import re
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import harness  # noqa: E402

FLSYNC, FLSYNCD, FLMOCK = sys.argv[1:4]
H = harness.Run('reply-times')
check = H.check

# Migration 003's report_response_times and 014's insight_response_monthly:
# every message of every thread numbered at each read, the figures from scratch.
FROM_SCRATCH = '''
WITH m AS (
	SELECT thread_id, id, time_created AS t,
	       coalesce(from_user_id = (SELECT id FROM users WHERE is_self = 1), 0) AS mine
	FROM messages
	WHERE thread_id IS NOT NULL AND time_created IS NOT NULL AND local_state IS NULL),
g AS (
	SELECT thread_id, id, t, mine,
	       sum(mine) OVER (PARTITION BY thread_id ORDER BY t, id ROWS UNBOUNDED PRECEDING) - mine AS grp
	FROM m),
rt AS (
	SELECT max(CASE WHEN mine THEN t END) AS replied_at,
	       max(CASE WHEN mine THEN t END) - min(CASE WHEN NOT mine THEN t END) AS seconds
	FROM g GROUP BY thread_id, grp
	HAVING min(CASE WHEN NOT mine THEN t END) IS NOT NULL AND max(CASE WHEN mine THEN t END) IS NOT NULL),
r AS (
	SELECT strftime('%Y-%m', replied_at, 'unixepoch') AS month, seconds,
	       row_number() OVER (PARTITION BY strftime('%Y-%m', replied_at, 'unixepoch') ORDER BY seconds) AS rn,
	       count(*) OVER (PARTITION BY strftime('%Y-%m', replied_at, 'unixepoch')) AS n
	FROM rt)
SELECT month, max(n) AS replies,
       avg(CASE WHEN rn IN ((n + 1) / 2, (n + 2) / 2) THEN seconds END) AS median_reply_s,
       max(CASE WHEN rn = (9 * n + 9) / 10 THEN seconds END) AS p90_reply_s
FROM r GROUP BY month ORDER BY month
'''


def month(t):
    return time.strftime('%Y-%m', time.gmtime(t))


def walk(db):
    """reply_times as this script reads the messages: {id: row}, and the waits per month."""
    con = sqlite3.connect(db)
    me = (con.execute('SELECT id FROM users WHERE is_self = 1').fetchone() or [None])[0]
    threads = {}
    for i, thread, user, t in con.execute('SELECT id, thread_id, from_user_id, time_created FROM messages '
                                          'WHERE local_state IS NULL AND thread_id IS NOT NULL '
                                          'AND time_created IS NOT NULL'):
        threads.setdefault(thread, []).append((t, i, user))
    con.close()
    rows, waits = {}, {}
    for thread, ms in threads.items():
        asked = None
        for t, i, user in sorted(ms):
            if me is not None and user == me:
                a_id, a_t = asked or (None, None)
                rows[i] = (thread, t, a_id, a_t, None if a_t is None else t - a_t, month(t))
                if a_t is not None:
                    waits.setdefault(month(t), []).append(t - a_t)
                asked = None
            elif asked is None:
                asked = (i, t)
    return rows, waits


def figures(waits):
    out = {}
    for mo, s in waits.items():
        s = sorted(s)
        n = len(s)
        out[mo] = (n, (s[(n - 1) // 2] + s[n // 2]) / 2, s[math.ceil(0.9 * n) - 1])
    return out


def same(db, label):
    rows, waits = walk(db)
    con = sqlite3.connect(db)
    got = {r[0]: tuple(r[1:]) for r in con.execute(
        'SELECT id, thread_id, replied_at, asked_id, asked_at, seconds, month FROM reply_times')}
    view = {r[0]: tuple(r[1:]) for r in con.execute('SELECT * FROM insight_response_monthly')}
    scratch = {r[0]: tuple(r[1:]) for r in con.execute(FROM_SCRATCH)}
    times = sorted(tuple(r) for r in con.execute('SELECT thread_id, reply_id, asked_at, replied_at, seconds '
                                               'FROM report_response_times'))
    fresh = {r[0] for r in con.execute('SELECT month FROM reply_months')}
    stale = {r[0] for r in con.execute('SELECT month FROM reply_months_stale')}
    con.close()
    bad = sorted(set(got) ^ set(rows)) + sorted(i for i in set(got) & set(rows) if got[i] != rows[i])
    check(not bad, '%s: reply_times has every message of the account with its wait (%d rows)' % (label, len(rows)),
          [(i, got.get(i), rows.get(i)) for i in bad[:5]])
    want = figures(waits)
    check(view == want, '%s: insight_response_monthly equals the figures computed here (%d months)'
          % (label, len(want)), (view, want))
    check(view == scratch, '%s: ... and the window query over every message' % label, (view, scratch))
    check(not fresh & stale and set(want) <= fresh | stale and fresh <= set(want),
          '%s: each month with replies is either kept (reply_months) or stale' % label, (fresh, stale, set(want)))
    want_times = sorted((r[0], i, r[3], r[1], r[4]) for i, r in rows.items() if r[4] is not None)
    check(times == want_times, '%s: report_response_times has each reply' % label)
    return rows, waits


def sync(db, api, label):
    p = subprocess.run([FLSYNCD, '--db', db, '--api', api, '--once'], capture_output=True, timeout=300,
                       env=dict(os.environ, FLSYNC_TOKEN='demo'))
    check(p.returncode == 0, '%s: flsyncd --once' % label, p.stderr.decode()[-1500:])
    check(harness.one(db, 'SELECT count(*) FROM reply_months_stale') == 0,
          '%s: the pass left every month\'s figures kept' % label)


def sql(db, *stmts):
    con = sqlite3.connect(db)
    for s in stmts:
        con.execute(*s) if isinstance(s, tuple) else con.execute(s)
    con.commit()
    con.close()


def queue_replies(db, n):
    """Queue the account's reply in n threads whose newest message is another member's."""
    threads = [r[0] for r in sqlite3.connect(db).execute(
        'SELECT m.thread_id FROM messages m WHERE m.local_state IS NULL AND m.id = (SELECT id FROM messages x '
        'WHERE x.thread_id = m.thread_id ORDER BY time_created DESC, id DESC LIMIT 1) '
        'AND m.from_user_id <> (SELECT id FROM users WHERE is_self = 1) ORDER BY m.thread_id LIMIT ?', (n,))]
    for t in threads:
        p = subprocess.run([FLSYNC, '--db', db, 'queue', 'add', 'message.send', '--param', 'thread_id=%d' % t,
                            '--param', 'message=on it'], capture_output=True, timeout=60)
        check(p.returncode == 0, 'queue a reply in thread %d' % t, p.stderr.decode()[-500:])
    return threads


def fuzz(db, me, other):
    rnd = random.Random(22)
    threads = [r[0] for r in sqlite3.connect(db).execute('SELECT id FROM threads ORDER BY id LIMIT 3')]
    base = harness.one(db, 'SELECT max(time_created) FROM messages') + 1000
    ids = []
    for n in range(1, 201):
        op = rnd.random()
        if op < 0.45 or not ids:
            i = 991000000 + n
            sql(db, ('INSERT INTO messages(id, thread_id, from_user_id, message, time_created) VALUES (?, ?, ?, ?, ?)',
                     (i, rnd.choice(threads), rnd.choice((me, me, other, other, 7)), 'fuzz', base + rnd.randrange(60))))
            ids.append(i)
        elif op < 0.6:
            i = ids.pop(rnd.randrange(len(ids)))
            sql(db, ('DELETE FROM messages WHERE id = ?', (i,)))
        elif op < 0.72:
            sql(db, ('UPDATE messages SET time_created = ? WHERE id = ?', (base + rnd.randrange(60), rnd.choice(ids))))
        elif op < 0.82:
            sql(db, ('UPDATE messages SET from_user_id = ? WHERE id = ?', (rnd.choice((me, other)), rnd.choice(ids))))
        elif op < 0.9:
            sql(db, ('UPDATE messages SET local_state = CASE WHEN local_state IS NULL THEN \'pending\' END '
                     'WHERE id = ?', (rnd.choice(ids),)))
        else:
            sql(db, ('UPDATE messages SET thread_id = ? WHERE id = ?', (rnd.choice(threads), rnd.choice(ids))))
        if n % 20 == 0:
            same(db, 'random writes by hand, %d' % n)


def report(db, waits):
    out = os.path.join(H.tmp, 'report.html')
    p = subprocess.run([FLSYNC, '--db', db, 'report', '--out', out], capture_output=True, timeout=120)
    check(p.returncode == 0, 'flsync report', p.stderr.decode()[-1500:])
    html = open(out).read()
    s = sorted(x for v in waits.values() for x in v)
    n = len(s)
    tiles = {k: (v, lab) for k, v, lab in re.findall(r'data-fig="(\w+)"><b>([^<]*)</b>([^<]*)<', html)}

    def duration(x):
        return '%.0f min' % (x / 60) if x < 3600 else '%.1f h' % (x / 3600) if x < 172800 else '%.1f d' % (x / 86400)

    med, p90 = (s[(n - 1) // 2] + s[n // 2]) / 2, s[math.ceil(0.9 * n) - 1]
    check(tiles.get('median_reply', ('',))[0] == duration(med) and tiles.get('p90_reply', ('',))[0] == duration(p90),
          'the report shows the median and p90 of all %d replies' % n, (tiles, duration(med), duration(p90)))
    check('%d replies' % n in tiles.get('median_reply', ('', ''))[1], 'the median tile says over how many replies',
          tiles.get('median_reply'))


def main():
    _, api = H.start([FLMOCK, '--port', '0', '--seed', '11', '--token', 'demo', '--scale', '4000'], 'flmock')
    db = os.path.join(H.tmp, 'replies.db')
    sync(db, api, 'first sync')
    rows, waits = same(db, 'first sync')
    check(sum(1 for r in rows.values() if r[4] is not None) >= 20, 'the world has replies to check', len(rows))

    # Passes: the account's replies queued (a pending local row until sent
    # and read back), new messages, edits and removals (flmock's events).
    for i in range(3):
        waiting = queue_replies(db, 6)
        check(len(waiting) == 6, 'pass %d: replies queued in threads that wait' % i, waiting)
        same(db, 'pass %d: replies queued, not sent' % i)
        sync(db, api, 'pass %d: replies sent' % i)
        harness.mock_post(api, '/_mock/advance?seconds=20000')
        sync(db, api, 'pass %d' % i)
        rows, _ = same(db, 'pass %d' % i)
        check(len([r for r in rows.values() if r[1] > 0 and r[0] in waiting]) >= 6,
              'pass %d: the sent replies are rows' % i)

    # Late messages: dated anywhere inside threads already stored, read by a
    # later pass: out of order, before replies stored passes ago.
    now = harness.mock_get(api, '/_mock/clock')['now']
    first = harness.one(db, 'SELECT min(time_created) FROM messages')
    span = now - first
    late = [harness.mock_post(api, '/_mock/late?kind=message&behind=%d' % (span * k // 60)) for k in range(1, 60)]
    sync(db, api, 'a pass the late messages are too old for')
    subprocess.run([FLSYNC, 'resync', '--db', db, '--stream', 'messages', '--since', str(first - 1)],
                   capture_output=True, timeout=60, check=True)
    before = dict(rows)
    sync(db, api, 'after resync')
    check(harness.one(db, 'SELECT count(*) FROM messages WHERE id IN (%s)' % ','.join(str(x['id']) for x in late))
          == len(late), 'the late messages are stored')
    rows, waits = same(db, 'late messages out of order')
    moved = [i for i in rows if i in before and rows[i][2] != before[i][2]]
    check(moved, 'late messages opened earlier waits of replies stored before them', len(moved))

    # Direct rows: the per-message triggers.
    me = harness.one(db, 'SELECT id FROM users WHERE is_self = 1')
    reply = max((r for r in rows.items() if r[1][2] is not None), key=lambda r: r[1][1])
    rid, (thread, t, asked_id, asked_at, _, _) = reply
    sql(db, ('DELETE FROM messages WHERE id = ?', (asked_id,)))
    same(db, 'the message that opened a wait deleted')
    sql(db, ('DELETE FROM messages WHERE id = ?', (rid,)))
    rows, _ = same(db, 'a reply deleted')
    rid, (thread, t, asked_id, asked_at, _, _) = max((r for r in rows.items() if r[1][2] is not None),
                                                     key=lambda r: r[1][4])
    other = harness.one(db, 'SELECT user_id FROM thread_members WHERE thread_id = ? AND user_id <> ?', thread, me) or 2
    sql(db, ('INSERT INTO messages(id, thread_id, from_user_id, message, time_created) VALUES (?, ?, ?, ?, ?)',
             (990000001, thread, other, 'in between', (asked_at + t) // 2)))
    same(db, 'a message inserted between two')
    sql(db, ('INSERT INTO messages(id, thread_id, from_user_id, message, time_created) VALUES (?, ?, ?, ?, ?)',
             (990000002, thread, me, 'mine, in between', (asked_at + t) // 2 + 1)))
    same(db, 'a reply inserted between two')
    sql(db, ('UPDATE messages SET time_created = ? WHERE id = 990000002', (t + 7,)))
    same(db, 'a reply moved after the next')
    sql(db, ('UPDATE messages SET time_created = ? WHERE id = 990000001', (asked_at - 100,)))
    same(db, 'a message moved before the wait')
    sql(db, "UPDATE messages SET local_state = 'pending' WHERE id = 990000002")
    same(db, 'a reply made a pending local row')
    sql(db, 'UPDATE messages SET local_state = NULL WHERE id = 990000002')
    same(db, 'and sent')
    sql(db, ('UPDATE messages SET from_user_id = ? WHERE id = 990000001', (me,)))
    same(db, 'an author changed to the account')
    t2 = harness.one(db, 'SELECT thread_id FROM messages WHERE thread_id <> ? AND thread_id IS NOT NULL LIMIT 1', thread)
    sql(db, ('UPDATE messages SET thread_id = ? WHERE id = ?', (t2, rid)))
    same(db, 'a reply moved to another thread')
    sql(db, ('UPDATE messages SET time_created = NULL WHERE id = ?', (rid,)))
    same(db, 'a reply without a time')
    sql(db, ('UPDATE messages SET id = 990000003 WHERE id = 990000002',))
    same(db, 'a reply given another id')

    # Random writes by hand on three threads, times drawn from a minute so
    # that ties (the same second, told apart by id) come up.
    fuzz(db, me, other)

    # Another account, then back.
    sql(db, 'UPDATE users SET is_self = 0 WHERE is_self = 1', ('UPDATE users SET is_self = 1 WHERE id = ?', (other,)))
    rows, _ = same(db, 'another account')
    check(rows, 'the other account has messages too')
    sql(db, 'UPDATE users SET is_self = 0 WHERE is_self = 1', ('UPDATE users SET is_self = 1 WHERE id = ?', (me,)))
    same(db, 'the account back')

    # Passes after the direct rows, then the report.
    harness.mock_post(api, '/_mock/advance?seconds=20000')
    sync(db, api, 'a pass after the direct rows')
    _, waits = same(db, 'a pass after the direct rows')
    report(db, waits)
    return 0


H.finish(main)
