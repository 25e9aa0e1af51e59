"""The refresh of every record against flmock: records changed on the server
with no event and no time moved (/_mock/silent_edit) are missed by every
window, and repaired by the pass after cadence.refresh_all has passed, which
re-reads every stored record by id; only the changed rows count as repaired,
and flsync status (text and --json) shows the refresh.  A refresh larger than
a pass's budget spreads over the passes and completes by its deadline;
refresh_all = 0 reads nothing.

usage: test_refresh.py FLSYNCD FLSYNC FLMOCK
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
TOKEN = 'refresh'
h = harness.Run('refresh')
check, tmp = h.check, h.tmp


def start_flmock(name):
    return h.start([FLMOCK, '--port', '0', '--seed', '43', '--token', TOKEN, '--scale', '4000'], name)[1]


def sync(api, db, conf, what):
    p = subprocess.run([FLSYNCD, '--db', db, '--api', api, '--once', '--config', conf, '-v'],
                       capture_output=True, timeout=300, env=dict(os.environ, FLSYNC_TOKEN=TOKEN))
    check(p.returncode == 0, what + ': flsyncd --once exits 0', p.stderr.decode()[-2000:])
    return p.stderr.decode()


def config(name, text):
    path = os.path.join(tmp, name)
    with open(path, 'w') as f:
        f.write(text)
    return path


def pick(db):
    """One record of each kind no other stream re-reads: not the account's own live work."""
    self_id = one(db, 'SELECT id FROM users WHERE is_self = 1')
    project = one(db, "SELECT id FROM projects WHERE raw IS NOT NULL AND deleted = 0 AND ((owner_id <> ?1 AND id NOT IN "
                  "(SELECT project_id FROM bids WHERE bidder_id = ?1)) OR status IN ('closed', 'complete')) "
                  "ORDER BY id LIMIT 1", self_id)
    bid = one(db, "SELECT id FROM bids WHERE retracted = 1 OR award_status IN ('rejected', 'revoked', 'canceled') "
              "OR complete_status = 'complete' OR paid_status = 'fully paid' ORDER BY id LIMIT 1")
    return {'projects': project, 'bids': bid, 'threads': one(db, 'SELECT min(id) FROM threads'),
            'messages': one(db, 'SELECT min(id) FROM messages')}


def raws(db, picked):
    return {t: one(db, 'SELECT raw FROM %s WHERE id = ?' % t, i) for t, i in picked.items()}


def repaired_once():
    api = start_flmock('flmock')
    db = os.path.join(tmp, 'refresh.db')
    conf = config('flsyncd.conf', '[cadence]\nreconcile = 0\nrefresh_all = 1d\n')
    sync(api, db, conf, 'first sync')
    check(one(db, "SELECT count(*) FROM sync_state WHERE stream LIKE 'refresh:%'") == 8,
          'each table has its refresh scheduled')
    picked = pick(db)
    check(all(picked.values()), 'a record of each kind to change', picked)
    before = raws(db, picked)
    for t, i in picked.items():
        r = mock(api, '/_mock/silent_edit?table=%s&id=%d' % (t, i))
        check(r.get('id') == i, 'flmock changed %s %d silently' % (t, i), r)
    mock(api, '/_mock/advance?seconds=3600&quiet=3600')
    sync(api, db, conf, 'a pass an hour on')
    check(raws(db, picked) == before, 'no window sees a silent change', picked)

    mock(api, '/_mock/advance?seconds=86400&quiet=86400')
    log = sync(api, db, conf, 'the pass a day on')
    after = raws(db, picked)
    changed = [t for t in picked if after[t] != before[t]]
    check(sorted(changed) == sorted(picked), 'the pass after refresh_all repaired every silent change',
          (changed, log[-1500:]))
    st = json.loads(subprocess.run([FLSYNC, 'status', '--json', '--db', db], capture_output=True,
                                   timeout=60).stdout)
    rf = st['refresh']
    check(rf['repaired'] == len(picked), 'only the changed rows count as repaired', rf)
    check(rf['last_complete'] > 0 and len(rf['tables']) == 8, 'status: the last complete refresh, per table', rf)
    check(not any(s['stream'].startswith('refresh:') for s in st['streams']),
          'the refresh rounds are not listed among the streams', st['streams'])
    text = subprocess.run([FLSYNC, 'status', '--db', db], capture_output=True, timeout=60).stdout.decode()
    check('refreshed 4 rows repaired' in text and 'projects 1' in text, 'flsync status shows the refresh', text)
    ref = "SELECT requests FROM sync_state WHERE stream = 'refresh'"
    before = one(db, ref)
    sync(api, db, conf, 'the pass after')
    check(one(db, ref) == before, 'the round is done: the next pass makes no refresh request', (before, one(db, ref)))


def paced(every):
    """Passes every `every` seconds with a budget of 1 request: the first refresh round."""
    api = start_flmock('flmock-%d' % every)
    db = os.path.join(tmp, 'paced-%d.db' % every)
    conf = config('paced-%d.conf' % every, '[cadence]\nreconcile = 0\nrefresh_all = 1d\nreconcile_budget = 1\n')
    sync(api, db, conf, 'paced %d: first sync' % every)
    passes, began, done = 0, None, None
    for n in range(int(3 * 86400 / every)):
        now = mock(api, '/_mock/advance?seconds=%d&quiet=%d' % (every, every))['now']
        sync(api, db, conf, 'paced %d: pass %d' % (every, n))
        rows = [json.loads(x) for (x,) in sqlite3.connect(db).execute(
            "SELECT cursor_extra FROM sync_state WHERE stream LIKE 'refresh:%'")]
        if began is None and any(r['began'] for r in rows):
            began = now
        if began is not None:
            passes += 1
            if all(r['done'] and r['began'] for r in rows):
                done = (now, max(r['due'] for r in rows))
                break
    check(done is not None and done[0] <= done[1], 'paced %d: the round completed by its deadline' % every,
          (began, done))
    return passes


def main():
    repaired_once()
    six = paced(6 * 3600)
    print('refresh rounds at a budget of 1 request: %d passes 6 h apart' % six)
    check(six > 1, 'passes every 6 h: a round larger than the budget spreads over passes', six)
    api = start_flmock('flmock-off')
    db = os.path.join(tmp, 'off.db')
    conf = config('off.conf', '[cadence]\nrefresh_all = 0\n')
    sync(api, db, conf, 'refresh off: first sync')
    mock(api, '/_mock/advance?seconds=90000&quiet=90000')
    sync(api, db, conf, 'refresh off: a day on')
    check(one(db, "SELECT count(*) FROM sync_state WHERE stream LIKE 'refresh:%'") == 0 and
          one(db, "SELECT coalesce(sum(requests), 0) FROM sync_state WHERE stream = 'refresh'") == 0,
          'refresh_all = 0: nothing is refreshed')


h.finish(main)
