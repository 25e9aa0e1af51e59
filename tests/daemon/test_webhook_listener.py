"""flsyncd --webhook-listen against flmock's webhooks: a change in the
world reaches the database within seconds although the poll interval is an
hour; duplicated, reordered and delayed deliveries leave it equal to a clean
sync; an unmappable delivery starts an early pass; bad deliveries get a
4xx and a flood is shed, while the daemon goes on syncing; the API's
deactivation of the webhook is noticed and the webhook registered again.

usage: test_webhook_listener.py FLSYNCD FLSYNC FLMOCK
"""
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
from harness import one as count, post, wait_for  # noqa: E402

FLSYNCD, FLSYNC, FLMOCK = sys.argv[1:4]
TOKEN = 'hooks'
ENV = dict(os.environ, FLSYNC_TOKEN=TOKEN)
h = harness.Run('hooks')
check, tmp, procs = h.check, h.tmp, h.procs


def start_flmock(*extra):
    return h.start([FLMOCK, '--port', '0', '--seed', '51', '--token', TOKEN, '--scale', '3000'] + list(extra),
                   'flmock')[1]


def flsync(*args):
    return subprocess.run([FLSYNC] + list(args), capture_output=True, timeout=60, env=ENV)


def dump_ids(api, entity):
    with urllib.request.urlopen(api + '/_mock/dump?entity=' + entity, timeout=60) as r:
        return sorted(json.loads(l)['id'] for l in r.read().decode().splitlines() if l.strip())


def db_ids(db, table):
    con = sqlite3.connect(db)
    try:
        return sorted(r[0] for r in con.execute('SELECT id FROM %s WHERE raw IS NOT NULL' % table))
    finally:
        con.close()


TABLES = ('projects', 'bids', 'milestones', 'milestone_requests', 'threads', 'messages')


last_clean = [None]


def rows(db):
    """Every synced table's rows by value, but for when each was stored."""
    return harness.rows(db, TABLES)


def clean_sync(api):
    """Every table's ids in a fresh database synced now: what equal means."""
    clean = os.path.join(tmp, 'clean-%d.db' % time.monotonic_ns())
    last_clean[0] = clean
    p = subprocess.run([FLSYNCD, '--db', clean, '--api', api, '--once'], capture_output=True, timeout=300, env=ENV)
    check(p.returncode == 0, 'a clean sync', p.stderr.decode()[-1500:])
    return {t: db_ids(clean, t) for t in TABLES}


def equal_to_clean(db, api, timeout):
    want = clean_sync(api)
    ok = wait_for(lambda: {t: db_ids(db, t) for t in TABLES} == want, timeout)
    if not ok:
        got = {t: db_ids(db, t) for t in TABLES}
        return False, {t: (len(got[t]), len(want[t])) for t in TABLES if got[t] != want[t]}
    return True, None


def webhooks_of(out):
    j = json.loads(out)
    return j['webhooks'] if isinstance(j, dict) else j


def main():
    api = start_flmock('--webhook-faults', 'fail_after=3')
    db = os.path.join(tmp, 'hooks.db')
    log = open(os.path.join(tmp, 'flsyncd.err'), 'wb+')
    d = subprocess.Popen([FLSYNCD, '--db', db, '--api', api, '--interval', '3600', '-v',
                          '--webhook-listen', '127.0.0.1:0'], stderr=log, stdout=subprocess.DEVNULL, env=ENV)
    procs.append(d)

    def logged(text, timeout=60):
        return wait_for(lambda: text in open(log.name, 'rb').read().decode(errors='replace'), timeout)

    check(logged('next pass in 3600 s'), 'flsyncd syncs once and waits its hour',
          open(log.name, 'rb').read().decode()[-2000:])
    p = flsync('webhook', 'url', '--db', db)
    url = p.stdout.decode().strip()
    check(p.returncode == 0 and url.startswith('http://127.0.0.1:') and len(url.rsplit('/', 1)[1]) >= 32,
          'flsync webhook url names the listener and its secret path', p)
    base = url.rsplit('/', 1)[0]
    p = flsync('webhook', 'register', url, '--api', api, '--db', db)
    check(p.returncode == 0, 'flsync webhook register', p)

    # A change on the server is in the database within seconds, not at the next poll.
    # (The last minute of the advance is quiet, so a clean sync's windows, which end 30 s
    # before the server's now, see every change too.)
    msgs_before = count(db, 'SELECT count(*) FROM messages')
    t0 = time.monotonic()
    post(api + '/_mock/advance?seconds=180&quiet=60')
    ok = wait_for(lambda: db_ids(db, 'messages') == dump_ids(api, 'messages'), 15)
    lag = time.monotonic() - t0
    check(ok and count(db, 'SELECT count(*) FROM messages') > msgs_before,
          'with an hour between polls, new messages arrive through webhooks', (msgs_before, lag))
    print('world change to database: %.2f s' % lag)
    ok, diff = equal_to_clean(db, api, 15)
    check(ok, 'every table equals a clean sync', diff)

    # Bad deliveries: 4xx, never acted on.
    hook = url
    check(post(base + '/wrong-path', b'{}')[0] == 404, 'a wrong path: 404')
    check(post(hook, method='GET')[0] == 405, 'GET: 405')
    check(post(hook, b'{"truncated": ')[0] == 400, 'not JSON: 400')
    check(post(hook, b'<html>error</html>')[0] == 400, 'an HTML page: 400')
    check(post(hook, b'[' + b'1,' * (600 * 1024) + b'1]')[0] == 413, 'over 1 MiB: 413')
    hints = json.loads(flsync('status', '--json', '--db', db).stdout)['webhooks']
    # An unmappable delivery: an early pass, logged.
    check(post(hook, json.dumps({'type': 'something.new', 'data': {}}).encode())[0] == 202,
          'an unknown event is answered 2xx')
    check(logged('maps to no targeted read', 10), 'and logged as an early pass')
    check(logged('pass 2 started', 15), 'an early whole pass runs',
          open(log.name, 'rb').read().decode()[-2000:])

    # Duplicates, reordering and delays: the database still equals a clean sync.
    post(api + '/_mock/webhooks?spec=dup=0.5,reorder=0.3,delay=0.3,delay_ms=700,fail_after=0')
    post(api + '/_mock/advance?seconds=300&quiet=60')
    time.sleep(1.5)
    ok, diff = equal_to_clean(db, api, 20)
    check(ok, 'duplicated, reordered and delayed deliveries: the same rows as a clean sync', diff)
    # Row by row, after the poll that webhooks never replace (thread states are not announced).
    d.send_signal(signal.SIGUSR1)
    check(logged('pass 3 started', 15) and wait_for(lambda: 'next pass in 3600 s' in
          open(log.name, 'rb').read().decode().rsplit('pass 3 started', 1)[-1], 30), 'SIGUSR1: a poll')
    check(rows(db) == rows(last_clean[0]), 'then every row equals a clean sync by value')
    st = json.loads(flsync('status', '--json', '--db', db).stdout)['webhooks']
    check(st['duplicates_hour'] > 0 and st['deliveries_hour'] > hints['deliveries_hour'],
          'duplicates are counted', st)

    # A flood: answered or shed, and the daemon goes on.
    codes = {}
    lock = threading.Lock()

    def flood(n):
        for i in range(n):
            s, _ = post(hook, json.dumps({'type': 'message.received', 'data': {'thread_id': 1 + i % 7}}).encode())
            with lock:
                codes[s] = codes.get(s, 0) + 1
    t0 = time.monotonic()
    threads = [threading.Thread(target=flood, args=(250,)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rate = 2000 / (time.monotonic() - t0)
    print('flood: %d deliveries at %.0f/s: %s' % (sum(codes.values()), rate, codes))
    check(set(codes) <= {202, 503} and codes.get(202, 0) > 0, 'a flood is answered 202 or shed with 503', codes)
    # A slow client is cut off; a delivery beside it is served.
    s = socket.create_connection(('127.0.0.1', int(base.rsplit(':', 1)[1])))
    s.sendall(b'POST ' + hook.split('/', 3)[3].encode().join([b'/', b'']) + b' HTTP/1.1\r\nHost: x\r\n')
    check(post(hook, json.dumps({'type': 'message.received', 'data': {'thread_id': 1}}).encode())[0] == 202,
          'a delivery is served beside a trickling client')
    post(api + '/_mock/webhooks?spec=')
    post(api + '/_mock/advance?seconds=120&quiet=60')
    ok, diff = equal_to_clean(db, api, 30)
    check(ok, 'after the flood and the trickle, changes still arrive: equal to a clean sync', diff)
    s.settimeout(30)
    try:
        cut = s.recv(1) == b''
    except (ConnectionResetError, socket.timeout):
        cut = True
    check(cut, 'the trickling client is cut off')
    s.close()
    check(d.poll() is None, 'the daemon is still running')

    d.send_signal(signal.SIGTERM)
    check(d.wait(60) == 0, 'SIGTERM: exit 0')
    text = open(log.name, 'rb').read().decode()
    check('deliveries received' in text, 'says how many deliveries it took', text[-1500:])

    # The API deactivates the webhook after failed deliveries; flsyncd registers it again.
    post(api + '/_mock/webhooks?spec=fail_after=2')
    lst = []
    for _ in range(40):
        post(api + '/_mock/advance?seconds=120')  # nobody listens now: deliveries fail
        time.sleep(0.3)
        lst = webhooks_of(flsync('webhook', 'list', '--json', '--api', api, '--db', db).stdout)
        if any(w['inactive'] for w in lst):
            break
    check(any(w['inactive'] for w in lst), 'flmock deactivated the unreachable webhook', lst)
    log2 = open(os.path.join(tmp, 'flsyncd2.err'), 'wb+')
    conf = os.path.join(tmp, 'hook.conf')
    with open(conf, 'w') as f:
        f.write('[webhook]\nlisten = %s\ncheck = 1m\n' % base.split('//')[1])
    d2 = subprocess.run([FLSYNCD, '--db', db, '--api', api, '--once', '-v', '--config', conf],
                        stderr=log2, stdout=subprocess.DEVNULL, env=ENV, timeout=120)
    text = open(log2.name, 'rb').read().decode()
    check(d2.returncode == 0 and 'registering it again' in text, 'an inactive webhook is registered again',
          text[-2000:])
    lst = webhooks_of(flsync('webhook', 'list', '--json', '--api', api, '--db', db).stdout)
    check(any(not w['inactive'] for w in lst), 'and is active again', lst)


h.finish(main)
