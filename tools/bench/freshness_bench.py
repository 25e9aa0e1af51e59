#!/usr/bin/env python3
"""freshness_bench.py — how soon a change on the server is in the database:
with webhooks (flsyncd --webhook-listen, flmock delivering) and with
polling only at the default interval (5 minutes).

Each change is one new message in one of the account's threads (flmock's
POST /_mock/late?kind=message&behind=0, announced to webhooks like any).
flmock's clock is moved on with the wall's (quiet advances, no events),
as a real server's is, so that polling's windows reach the new messages.
A watcher reads the database every 20 ms and notes when each message's row
appears.  Prints, per mode: changes, p50/p99/max seconds from the change to
its row, and API requests per change (flmock's count, the passes included).

usage: freshness_bench.py FLSYNCD FLSYNC FLMOCK [--changes 200] [--scale 20000]
                          [--poll-interval 300] [--poll-spread 600] [--skip-polling]
"""
import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import threading
import time
import urllib.request

from benchutil import start_flmock

ap = argparse.ArgumentParser()
ap.add_argument('flsyncd')
ap.add_argument('flsync')
ap.add_argument('flmock')
ap.add_argument('--changes', type=int, default=200)
ap.add_argument('--scale', type=int, default=20000)
ap.add_argument('--poll-interval', type=int, default=300)
ap.add_argument('--poll-spread', type=int, default=600, help='seconds the polling run spreads its changes over')
ap.add_argument('--skip-polling', action='store_true')
a = ap.parse_args()
TOKEN = 'fresh'
ENV = dict(os.environ, FLSYNC_TOKEN=TOKEN)


def post(url):
    req = urllib.request.Request(url, data=b'', method='POST')
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())


def get(url):
    with urllib.request.urlopen(url, timeout=60) as r:
        return json.loads(r.read())


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def run(mode, webhooks, spread):
    tmp = tempfile.mkdtemp(prefix='flsync-fresh-')
    mock, api = start_flmock(a.flmock, tmp, ['--seed', 61, '--token', TOKEN, '--scale', a.scale])
    d = None
    try:
        db = os.path.join(tmp, 'fresh.db')
        subprocess.run([a.flsyncd, '--db', db, '--api', api, '--once'], check=True, env=ENV,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cmd = [a.flsyncd, '--db', db, '--api', api, '--interval', str(a.poll_interval)]
        if webhooks:
            cmd += ['--webhook-listen', '127.0.0.1:0']
        d = subprocess.Popen(cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, 'd.err'), 'wb'))
        if webhooks:
            url = None
            for _ in range(400):
                p = subprocess.run([a.flsync, 'webhook', 'url', '--db', db], capture_output=True, env=ENV)
                if p.returncode == 0:
                    url = p.stdout.decode().strip()
                    break
                time.sleep(0.05)
            subprocess.run([a.flsync, 'webhook', 'register', url, '--api', api, '--db', db], check=True, env=ENV,
                           stdout=subprocess.DEVNULL)
        time.sleep(2)
        con = sqlite3.connect(db, timeout=30, check_same_thread=False)
        made, seen = {}, {}
        stop = threading.Event()

        def watch():
            while not stop.is_set():
                ids = [k for k in list(made) if k not in seen]
                if ids:
                    q = 'SELECT id FROM messages WHERE id IN (%s)' % ','.join('?' * len(ids))
                    now = time.monotonic()
                    for (i,) in con.execute(q, ids):
                        seen[i] = now
                time.sleep(0.02)
        def clock():
            # flmock's clock moves only when told: keep it at the wall's pace, with no events.
            last = time.monotonic()
            while not stop.is_set():
                time.sleep(1)
                now = time.monotonic()
                step = int(now - last)
                if step >= 1:
                    post(api + '/_mock/advance?seconds=%d&quiet=%d' % (step, step))
                    last += step
        req0 = get(api + '/_mock/stats')['requests']
        w = threading.Thread(target=watch)
        w.start()
        c = threading.Thread(target=clock)
        c.start()
        gap = spread / a.changes
        for k in range(a.changes):
            r = post(api + '/_mock/late?kind=message&behind=0')
            made[r['id']] = time.monotonic()
            time.sleep(gap)
        deadline = time.monotonic() + a.poll_interval + 120
        while len(seen) < len(made) and time.monotonic() < deadline:
            time.sleep(0.1)
        stop.set()
        w.join()
        c.join()
        reqs = get(api + '/_mock/stats')['requests'] - req0
        lat = [seen[i] - made[i] for i in seen]
        print('%-26s %4d changes, %4d arrived: p50 %7.2f s  p99 %7.2f s  max %7.2f s;  %.2f requests per change'
              % (mode, len(made), len(seen), pct(lat, 50) if lat else -1, pct(lat, 99) if lat else -1,
                 max(lat) if lat else -1, reqs / len(made)), flush=True)
    finally:
        if d:
            d.terminate()
            d.wait(60)
        mock.terminate()
        mock.wait(30)
        shutil.rmtree(tmp, ignore_errors=True)


run('webhooks', True, a.changes * 0.1)
if not a.skip_polling:
    run('polling every %d s' % a.poll_interval, False, a.poll_spread)
