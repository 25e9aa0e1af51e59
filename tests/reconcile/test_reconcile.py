"""Deep reconciliation and flsync resync against flmock: records the API
returns late (an hour, a day, ten days behind their own time) are missed by
polling, found by the one pass a day later that finds the round due (a small
world's week is within one pass's request budget), and counted as repaired;
a round larger than a pass's budget spreads over the passes and completes
within its cadence whether they come every hour, every six hours or once a
day; a re-read asked for with flsync resync finds what lies beyond the
lookback; the database then equals a clean sync.

usage: test_reconcile.py FLSYNCD FLSYNC FLMOCK
"""
import json
import os
import sqlite3
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
from harness import mock_post as mock, one  # noqa: E402

FLSYNCD, FLSYNC, FLMOCK = sys.argv[1:4]
TOKEN = 'late'
h = harness.Run('reconcile')
check, tmp = h.check, h.tmp


def start_flmock(name='flmock'):
    return h.start([FLMOCK, '--port', '0', '--seed', '41', '--token', TOKEN, '--scale', '4000'], name)[1]


def sync(api, db, conf, what):
    p = subprocess.run([FLSYNCD, '--db', db, '--api', api, '--once', '--config', conf, '-v'],
                       capture_output=True, timeout=300, env=dict(os.environ, FLSYNC_TOKEN=TOKEN))
    check(p.returncode == 0, what + ': flsyncd --once exits 0', p.stderr.decode()[-2000:])
    return p.stderr.decode()


def status(db):
    p = subprocess.run([FLSYNC, 'status', '--json', '--db', db], capture_output=True, timeout=60)
    return json.loads(p.stdout)


def rounds_of(db):
    """Each stream's round: where it is, its state, whether it is complete."""
    out = {}
    for stream, cursor, extra in sqlite3.connect(db).execute(
            "SELECT substr(stream, 11), cursor, cursor_extra FROM sync_state WHERE stream LIKE 'reconcile:%'"):
        x = json.loads(extra)
        x['cursor'], x['done'] = cursor, x['end'] > 0 and cursor >= x['end']
        out[stream] = x
    return out


def spread(every, budget):
    """Passes every `every` seconds with a budget of `budget`: how the first round goes."""
    api = start_flmock('flmock-%d' % every)
    db = os.path.join(tmp, 'spread-%d.db' % every)
    conf = os.path.join(tmp, 'spread-%d.conf' % every)
    with open(conf, 'w') as f:
        f.write('[cadence]\nreconcile = 1d\nreconcile_budget = %d\nrefresh_all = 0\n' % budget)
    sync(api, db, conf, 'spread %d: first sync' % every)
    passes, done_at = [], {}
    for n in range(int(3 * 86400 / every)):
        now = mock(api, '/_mock/advance?seconds=%d&quiet=%d' % (every, every))['now']
        sync(api, db, conf, 'spread %d: pass %d' % (every, n))
        rounds = rounds_of(db)
        passes.append(rounds)
        for s, r in rounds.items():
            if r['done'] and s not in done_at:
                done_at[s] = (now, r)
        if rounds and len(done_at) == len(rounds):
            break
    check(done_at and len(done_at) == len(passes[-1]), 'spread %d: every round completed' % every, passes[-1])
    late = {s: (t, r['due']) for s, (t, r) in done_at.items() if t > r['due']}
    check(not late, 'spread %d: every round completed within its cadence (by its deadline)' % every, late)
    return {s: r['passes'] for s, (t, r) in done_at.items()}


def main():
    api = start_flmock()
    db = os.path.join(tmp, 'late.db')
    conf = os.path.join(tmp, 'flsyncd.conf')
    with open(conf, 'w') as f:
        f.write('[cadence]\nreconcile = 1d\nreconcile_lookback = 7d\n')
    sync(api, db, conf, 'first sync')
    sync(api, db, conf, 'second pass')
    check(one(db, "SELECT count(*) FROM sync_state WHERE stream LIKE 'reconcile:%'") >= 5,
          'each windowed stream has its reconciliation scheduled')

    msgs = one(db, 'SELECT count(*) FROM messages')
    revs = one(db, 'SELECT count(*) FROM reviews')
    hour = mock(api, '/_mock/late?kind=message&behind=3600')
    day = mock(api, '/_mock/late?kind=review&behind=86400')
    ten = mock(api, '/_mock/late?kind=message&behind=%d' % (10 * 86400))
    log = sync(api, db, conf, 'a pass after the late records')
    check(one(db, 'SELECT count(*) FROM messages') == msgs and one(db, 'SELECT count(*) FROM reviews') == revs,
          'polling alone misses records an hour and a day behind', log[-1500:])

    # A day on the server's clock: the round is due, and one pass (as from a daily cron) completes it.
    mock(api, '/_mock/advance?seconds=90000&quiet=90000')
    log = sync(api, db, conf, 'the pass a day later')
    found = (one(db, 'SELECT count(*) FROM messages') - msgs, one(db, 'SELECT count(*) FROM reviews') - revs)
    check(found == (1, 1), 'one pass a day later: the hour-late message and the day-late review are in', found)
    rounds = rounds_of(db)
    check(rounds and all(r['done'] and r['passes'] == 1 for r in rounds.values()),
          'every round completed in that pass', rounds)
    check(all(r['requests'] <= 16 for r in rounds.values()),
          "a small world's week is within one pass's budget (16 requests a stream)", rounds)
    check(one(db, "SELECT count(*) FROM messages WHERE time_created = ?", hour['time']) == 1,
          'the hour-late message is stored with its own time', hour)
    check(one(db, "SELECT count(*) FROM reviews WHERE time_submitted = ?", day['time']) == 1,
          'the day-late review is stored with its own time', day)
    check(one(db, "SELECT count(*) FROM messages WHERE time_created = ?", ten['time']) == 0,
          'ten days behind is past the 7-day lookback', ten)
    st = status(db)
    rc = st['reconciliation']
    check(rc['repaired'] >= 2 and rc['last_repair'] > 0, 'status counts the repaired rows', rc)
    rec = {s['stream']: s for s in rc['streams']}
    check(rec.get('messages', {}).get('repaired', 0) >= 1 and rec.get('reviews_to', {}).get('repaired', 0) >= 1,
          'repaired per stream: messages and reviews_to', rec)
    check(not any(s['stream'].startswith('reconcile:') for s in st['streams']),
          'the rounds are not listed among the streams', st['streams'])
    text = subprocess.run([FLSYNC, 'status', '--db', db], capture_output=True, timeout=60).stdout.decode()
    check('repaired' in text and 'messages' in text, 'flsync status shows the repaired line', text)
    # The round is over: the next pass does not read the week again.
    before = one(db, 'SELECT sum(requests) FROM sync_state')
    sync(api, db, conf, 'after the round')
    after = one(db, 'SELECT sum(requests) FROM sync_state')
    check(after - before < 40, 'a pass after the round makes only its usual requests', (before, after))

    # flsync resync reaches past the lookback.
    p = subprocess.run([FLSYNC, 'resync', '--db', db, '--stream', 'nope'], capture_output=True, timeout=60)
    check(p.returncode == 1 and b'messages' in p.stderr, 'resync of an unknown stream names the real ones', p.stderr)
    p = subprocess.run([FLSYNC, 'resync', '--db', db, '--stream', 'messages', '--since', str(ten['time'] - 1)],
                       capture_output=True, timeout=60)
    check(p.returncode == 0 and b'1 stream will re-read' in p.stdout, 'resync moves the messages cursor', p)
    check(one(db, "SELECT cursor FROM sync_state WHERE stream = 'messages'") == ten['time'] - 1,
          'the cursor went back', one(db, "SELECT cursor FROM sync_state WHERE stream = 'messages'"))
    rows = one(db, 'SELECT count(*) FROM messages')
    sync(api, db, conf, 'the pass after resync')
    check(one(db, "SELECT count(*) FROM messages WHERE time_created = ?", ten['time']) == 1,
          'after resync the ten-day-late message is in')
    check(one(db, 'SELECT count(*) FROM messages') == rows + 1, 'resync kept every row and added the one')
    p = subprocess.run([FLSYNC, 'resync', '--db', db, '--since', 'yesterday'], capture_output=True, timeout=60)
    check(p.returncode == 2, 'a bad --since is a usage error', p)

    # Equal to a clean sync of the same world.
    clean = os.path.join(tmp, 'clean.db')
    sync(api, clean, conf, 'clean sync')
    for t, key in (('messages', 'id'), ('reviews', 'project_id, from_user_id'), ('threads', 'id'), ('bids', 'id')):
        a = sqlite3.connect(db).execute('SELECT %s FROM %s ORDER BY 1, 2' % (key, t) if ',' in key else
                                        'SELECT %s FROM %s ORDER BY 1' % (key, t)).fetchall()
        b = sqlite3.connect(clean).execute('SELECT %s FROM %s ORDER BY 1, 2' % (key, t) if ',' in key else
                                           'SELECT %s FROM %s ORDER BY 1' % (key, t)).fetchall()
        check(a == b, '%s equal a clean sync' % t, (len(a), len(b)))

    # A round larger than a pass's budget (1 request) spreads over the passes, done within the cadence.
    six = spread(6 * 3600, 1)
    print("passes per round: every 6 h", six)
    check(max(six.values()) > 1, 'passes every 6 h: a round spreads over more than one pass', six)
    hourly = spread(3600, 1)
    print("passes per round: every hour", hourly)
    check(max(hourly.values()) > max(six.values()), 'passes every hour: over more passes still', (hourly, six))
    daily = spread(86400, 1)
    print("passes per round: daily", daily)
    check(set(daily.values()) == {1}, 'a pass once a day completes the due round in that pass', daily)


h.finish(main)
