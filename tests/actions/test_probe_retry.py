#!/usr/bin/env python3
"""test_probe_retry.py FLSYNCD FLSYNC FLMOCK — the read-back after an uncertain send is retried like every read.

A queued bid's reply is lost (flmock's lostreply: the bid is placed, the
connection reset), so the next pass reads back what the server has before
sending again (lib/action_probe.c).  That read-back's first try is answered
HTTP 500 (flmock's http500 aimed at the bids path, once; the queue runs
before every read of the pass, so it is the read-back that meets it).  The
read-back goes again, finds the bid, and `flsyncd --once` exits 0 with the
action done and the bid placed exactly once.
"""
import json
import os
import re
import sqlite3
import subprocess
import sys
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402

FLSYNCD, FLSYNC, FLMOCK = sys.argv[1], sys.argv[2], sys.argv[3]
TOKEN = 'probe-retry-token'
BIDS = '/api/projects/0.1/bids/'
h = harness.Run('probe-retry')


def env():
    return dict(os.environ, FLSYNC_TOKEN=TOKEN, XDG_CONFIG_HOME=h.tmp)


def flsyncd(db, url):
    return subprocess.run([FLSYNCD, '--db', db, '--api', url, '--once', '-v'], env=env(),
                          capture_output=True, text=True, timeout=300)


def flsync(db, *args):
    return subprocess.run([FLSYNC, '--db', db, *args], env=env(), capture_output=True, text=True, timeout=60)


def dump(url, entity):
    with urllib.request.urlopen(url + '/_mock/dump?entity=' + entity, timeout=60) as r:
        return [json.loads(line) for line in r.read().decode().splitlines() if line.strip()]


def log(url):
    with urllib.request.urlopen(url + '/_mock/log', timeout=60) as r:
        return [json.loads(line) for line in r.read().decode().splitlines() if line.strip()]


def action(db, aid):
    con = sqlite3.connect(db, timeout=30)
    try:
        return con.execute('SELECT state, attempts, error_message FROM actions WHERE id = ?', (aid,)).fetchone()
    finally:
        con.close()


def main():
    os.makedirs(os.path.join(h.tmp, 'flsync'))
    with open(os.path.join(h.tmp, 'flsync', 'flsyncd.conf'), 'w') as f:
        f.write('[sync]\nretry_base_ms = 100\n')
    _, url = h.start([FLMOCK, '--port', '0', '--seed', '7', '--token', TOKEN], 'flmock')
    db = os.path.join(h.tmp, 'probe.db')
    r = flsyncd(db, url)
    if not h.check(r.returncode == 0, 'the first sync exits 0', r.stderr[-2000:]):
        return 1
    S = harness.mock_get(url, '/_mock/self')['id']
    mine = {b['project_id'] for b in dump(url, 'bids') if b['bidder_id'] == S}
    pids = [p['id'] for p in dump(url, 'projects') if p['status'] == 'active' and not p.get('deleted')
            and p['owner_id'] != S and p['id'] not in mine]
    if not h.check(pids, 'the world has a project to bid on'):
        return 1
    pid = pids[0]

    # 1. The send's reply is lost: the bid is placed, flsync cannot know it.
    harness.mock_faults(url, 'lostreply=1,writes=1,count=1')
    r = flsync(db, 'queue', 'add', 'bid.create', '--json',
               json.dumps({'project_id': pid, 'amount': 75, 'period': 5, 'milestone_percentage': 50,
                           'description': 'a bid whose reply is lost'}))
    m = re.search(r'queued action (\d+)', r.stdout)
    if not h.check(r.returncode == 0 and m, 'the bid is queued', r.stdout + r.stderr):
        return 1
    aid = int(m.group(1))
    flsyncd(db, url)
    harness.mock_faults(url, '')
    sent = [e for e in log(url) if e['method'] == 'POST' and e['path'] == BIDS]
    h.check([e['fault'] for e in sent] == ['lostreply'], 'the send lost its reply', sent)
    st = action(db, aid)
    h.check(st and st[0] in ('queued', 'sending') and st[1] >= 1, 'the action waits, its send uncertain', st)

    # 2. The read-back's first try meets a 500: it goes again, finds the bid, and the pass succeeds.
    con = sqlite3.connect(db, timeout=30)
    con.execute('UPDATE actions SET next_attempt = 0 WHERE id = ?', (aid,))  # no back-off to wait out
    con.commit()
    con.close()
    before = harness.mock_get(url, '/_mock/stats')['faults']
    harness.mock_faults(url, 'http500=1,path=%s,count=1' % BIDS)
    r = flsyncd(db, url)
    harness.mock_faults(url, '')
    after = harness.mock_get(url, '/_mock/stats')['faults']
    h.check(after.get('http500', 0) == before.get('http500', 0) + 1, 'one read of the bids met a 500',
            (before, after))
    h.check(re.search(r'read-back GET [^\n]*bids[^\n]*retrying', r.stderr), 'it was the read-back, retried',
            r.stderr[-3000:])
    h.check(r.returncode == 0, 'flsyncd --once exits 0 though the read-back met a 500', r.stderr[-3000:])
    st = action(db, aid)
    h.check(st and st[0] == 'done', 'the action is done', st)
    sent = [e for e in log(url) if e['method'] == 'POST' and e['path'] == BIDS]
    h.check(len(sent) == 1, 'the bid was sent once (no resend)', sent)
    world = [b for b in dump(url, 'bids') if b['project_id'] == pid and b['bidder_id'] == S]
    h.check(len(world) == 1 and world[0].get('description') == 'a bid whose reply is lost',
            'the bid is in the world exactly once', world)
    return 0


h.finish(main)
