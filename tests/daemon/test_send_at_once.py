"""flsyncd's scheduler against flmock, polling hourly (--interval 3600):

- an action queued from the CLI (flsync queue add), from Python (the
  binding) and from flsync ui's API reaches flmock within 2 s, and once
  more with a webhook round in between; each applied exactly once;
- no lost wake-up: 100 bursts of webhook deliveries, each landing while the
  daemon is busy in a round (flmock stalls the reads) and ending with an
  event nobody maps, are each followed by the whole pass it asks for
  within 2 s;
- SIGUSR1 during a pass causes a pass after it.

usage: test_send_at_once.py FLSYNCD FLSYNC FLMOCK   (PYTHONPATH: the binding)
"""
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
from harness import post, wait_for  # noqa: E402

FLSYNCD, FLSYNC, FLMOCK = sys.argv[1:4]
TOKEN = 'atonce'
ENV = dict(os.environ, FLSYNC_TOKEN=TOKEN)
TRIES = int(os.environ.get('FL_BURST_TRIES', '100'))
h = harness.Run('atonce')
check, tmp, procs = h.check, h.tmp, h.procs


def flsync(*args):
    return subprocess.run([FLSYNC] + list(args), capture_output=True, timeout=60, env=ENV)


def server_messages(api, text):
    """How many of flmock's messages carry text."""
    with urllib.request.urlopen(api + '/_mock/dump?entity=messages', timeout=60) as r:
        return sum(1 for l in r.read().decode().splitlines() if l.strip() and json.loads(l).get('message') == text)


class Log:
    def __init__(self, path):
        self.path = path

    def text(self):
        return open(self.path, 'rb').read().decode(errors='replace')

    def has(self, text, timeout=60):
        return wait_for(lambda: text in self.text(), timeout)


def reaches(api, db, text, queue):
    """Queue (queue() returns the action id), then the seconds until flmock holds text; None if not in 5 s."""
    t0 = time.monotonic()
    action = queue()
    ok = wait_for(lambda: server_messages(api, text) > 0, 5)
    lag = time.monotonic() - t0
    state = harness.one(db, 'SELECT state FROM actions WHERE id = ?', action)
    check(wait_for(lambda: harness.one(db, 'SELECT state FROM actions WHERE id = ?', action) == 'done', 5),
          '%s: the action is done' % text, state)
    return lag if ok else None


def queue_cli(db, thread, text):
    p = flsync('queue', 'add', 'message.send', '--db', db, '--json',
               json.dumps({'thread_id': thread, 'message': text}))
    m = re.search(r'queued action (\d+)', p.stdout.decode())
    check(p.returncode == 0 and m, 'flsync queue add', p)
    return int(m.group(1)) if m else 0


def queue_python(db, thread, text):
    import flsync as binding
    with binding.Database(db) as d:
        return d.enqueue('message.send', thread_id=thread, message=text)


def queue_ui(ui, thread, text):
    base, token = ui.split('/?token=')
    s, body = post(base + '/api/enqueue', urllib.parse.urlencode(
        {'kind': 'message.send', 'params': json.dumps({'thread_id': thread, 'message': text})}).encode(),
        headers={'X-Flsync-Token': token, 'Origin': base, 'Content-Type': 'application/x-www-form-urlencoded'})
    check(s == 201, 'the UI queues', (s, body))
    return json.loads(body)['id'] if s == 201 else 0


def ui_outcome(ui, action):
    base, token = ui.split('/?token=')
    req = urllib.request.Request(base + '/api/action?id=%d' % action, headers={'X-Flsync-Token': token})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def sends(api, db, ui, hook, lags):
    thread = harness.one(db, 'SELECT id FROM threads ORDER BY id LIMIT 1')
    ways = [('cli', lambda t: queue_cli(db, thread, t)), ('python', lambda t: queue_python(db, thread, t)),
            ('ui', lambda t: queue_ui(ui, thread, t))]
    for rnd in ('idle', 'after a webhook round'):
        for name, queue in ways:
            text = 'at once %s %s %d' % (name, rnd, time.monotonic_ns())
            if rnd != 'idle':
                # A delivery first: its round of targeted reads runs as the action is queued.
                post(hook, json.dumps({'type': 'message.received', 'data': {'thread_id': thread},
                                       'n': text}).encode())
            lag = reaches(api, db, text, lambda: queue(text))
            check(lag is not None and lag < 2, '%s, %s: at flmock within 2 s' % (name, rnd), lag)
            lags.append(lag if lag is not None else 99)
            time.sleep(1)
            check(server_messages(api, text) == 1, '%s, %s: applied exactly once' % (name, rnd))
            if name == 'ui':
                a = harness.one(db, "SELECT max(id) FROM actions WHERE json_extract(params, '$.message') = ?", text)
                o = ui_outcome(ui, a)
                check(o['state'] == 'done' and o['why'] is None, 'the UI tells it was sent', o)


def burst(api, hook, log, thread, n):
    """A delivery that starts a slow round, 17 more during it, then an unmapped one: seconds to the pass."""
    # The round's first messages read stalls 300 ms: the rest of the burst lands during it.
    harness.mock_faults(api, 'stall=1,stall_ms=300,path=/api/messages/,count=1')
    start_try = len(log.text())
    post(hook, json.dumps({'type': 'message.received', 'data': {'thread_id': thread}, 'try': n}).encode())
    time.sleep(0.02)  # the round has started: its first read stalls
    for i in range(17):
        post(hook, json.dumps({'type': 'message.received', 'data': {'thread_id': thread + i % 3},
                               'try': n, 'i': i}).encode())
    start = len(log.text())
    busy = 'their targeted reads started' in log.text()[start_try:] and \
        'webhook_hints:' not in log.text()[start_try:]
    t0 = time.monotonic()
    status, _ = post(hook, json.dumps({'type': 'nobody.maps.this', 'data': {}, 'try': n}).encode())
    check(status == 202, 'the unmapped delivery is answered 202', status)

    def fresh():
        tail = log.text()[start:]
        at = tail.find('maps to no targeted read')
        if at < 0:
            return False
        m = re.search(r'pass (\d+) started', tail[at:])
        return bool(m) and 'next pass in 3600 s' in tail[at + m.end():]
    ok = wait_for(fresh, 10)
    return (time.monotonic() - t0 if ok else None), busy


def percentile(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p))]


def main():
    api = h.start([FLMOCK, '--port', '0', '--seed', '61', '--token', TOKEN, '--scale', '1000'], 'flmock')[1]
    db = os.path.join(tmp, 'atonce.db')
    log = Log(os.path.join(tmp, 'flsyncd.err'))
    d = subprocess.Popen([FLSYNCD, '--db', db, '--api', api, '--interval', '3600', '-v',
                          '--webhook-listen', '127.0.0.1:0'], stderr=open(log.path, 'wb'),
                         stdout=subprocess.DEVNULL, env=ENV)
    procs.append(d)
    check(log.has('next pass in 3600 s'), 'flsyncd syncs once and waits its hour', log.text()[-2000:])
    hook = flsync('webhook', 'url', '--db', db).stdout.decode().strip()
    check(hook.startswith('http://127.0.0.1:'), 'the listener', hook)
    ui = h.start([FLSYNC, 'ui', '--db', db, '--listen', '127.0.0.1:0'], 'ui', env=ENV)[1]

    lags = []
    sends(api, db, ui, hook, lags)
    print('queue to flmock: %s s' % ', '.join('%.2f' % x for x in lags))

    # Bursts landing during a slow round.
    thread = harness.one(db, 'SELECT id FROM threads ORDER BY id LIMIT 1')
    times, stale, busy = [], 0, 0
    t_all = time.monotonic()
    for n in range(TRIES):
        t, b = burst(api, hook, log, thread, n)
        busy += b
        if t is None:
            stale += 1
        else:
            times.append(t)
    harness.mock_faults(api, '')
    check(stale == 0 and times and max(times) < 2,
          'every burst ending with an unmapped delivery is followed by a whole pass within 2 s',
          (stale, max(times) if times else None, log.text()[-3000:]))
    if times:
        print('bursts: %d tries in %.0f s (%d landed during a round), %d stale; '
              'last delivery to pass done p50 %.2f s, max %.2f s'
              % (TRIES, time.monotonic() - t_all, busy, stale, percentile(times, 0.5), max(times)))
    check(busy >= TRIES * 0.8, 'the bursts landed while a round ran', busy)

    # SIGUSR1 during a pass: another pass after it.
    harness.mock_faults(api, 'stall=1,stall_ms=1500,path=/api/messages/')
    start = len(log.text())
    d.send_signal(signal.SIGUSR1)
    check(wait_for(lambda: re.search(r'pass \d+ started', log.text()[start:]), 10), 'SIGUSR1: a pass')
    d.send_signal(signal.SIGUSR1)  # while that pass stalls
    harness.mock_faults(api, '')
    check(wait_for(lambda: len(re.findall(r'pass \d+ started', log.text()[start:])) >= 2 and
                   log.text()[start:].count('next pass in 3600 s') >= 2, 20),
          'SIGUSR1 during a pass: a pass after it', log.text()[start:][-2000:])

    d.send_signal(signal.SIGTERM)
    check(d.wait(60) == 0, 'SIGTERM: exit 0')


h.finish(main)
