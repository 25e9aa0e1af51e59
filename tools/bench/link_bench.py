#!/usr/bin/env python3
"""link_bench.py — flsyncd over a link with the real API's latency: flmock
--latency MS holds every API request MS ms (on its own thread, so requests
in flight together overlap), as a server across the internet would.

For each latency, on a fresh flmock world (seed 3, --scale N, rate limits
scaled out of the way) it prints:
  - the first sync into a fresh database with flsyncd --once at
    sync.max_in_flight 6 and 1 (wall s, requests and the most requests in
    flight at once, both from flmock's /_mock/stats), and with
    peer_sync.py (the plain Python script a user would write);
  - python/flsyncd, the floor (flsyncd's requests x latency / 6) and
    flsyncd/floor;
  - the idle incremental pass (a second --once at once), in seconds and in
    latencies;
  - queued-action latency: flsyncd as a daemon (--interval 3600) on the
    synced database; once its first pass is done, N message.send actions are
    queued one at a time with `flsync queue add` (the next once the last
    reached flmock, or 0.5 s after it was queued), each timed from the
    command's return to its POST in flmock's /_mock/log; 10 s without it is
    a timeout, counted as 10 s.  Prints p50, p99 and the timeouts.
With --loopback it then runs bench_sync and vs_python.py --runs 1 (no
latency) and prints their key lines.

flsyncd that does not know [sync] max_in_flight (it refuses unknown keys) is
detected once; it then runs without the key, once per latency.

usage: link_bench.py FLSYNCD FLMOCK [--latency 50,200] [--scale 100000] [--actions 50]
                     [--peer tools/bench/peer_sync.py] [--flsync PATH] [--loopback]
                     [--bench-sync PATH] [--quick]
"""
import argparse
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

from benchutil import start_flmock

HERE = os.path.dirname(os.path.abspath(__file__))
TOKEN = 'demo'
SEED = 3
TARGET_IN_FLIGHT = 6
ACTION_TIMEOUT = 10.0
ACTION_GAP = 0.5
RUN_TIMEOUT = 3600


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('flsyncd')
    ap.add_argument('flmock')
    ap.add_argument('--latency', default=None, help='comma-separated ms (default 50,200)')
    ap.add_argument('--scale', type=int, default=None, help='world size (default 100000)')
    ap.add_argument('--actions', type=int, default=None, help='queued message sends (default 50)')
    ap.add_argument('--peer', default=os.path.join(HERE, 'peer_sync.py'))
    ap.add_argument('--flsync', default=None, help='the CLI (default: beside FLSYNCD\'s build)')
    ap.add_argument('--bench-sync', default=None, help='bench_sync (default: beside FLSYNCD\'s build)')
    ap.add_argument('--loopback', action='store_true', help='also run bench_sync and vs_python.py --runs 1')
    ap.add_argument('--quick', action='store_true', help='scale 20000, 10 actions, latency 50 only')
    a = ap.parse_args()
    quick = a.quick
    a.scale = a.scale if a.scale is not None else (20000 if quick else 100000)
    a.actions = a.actions if a.actions is not None else (10 if quick else 50)
    try:
        a.latency = [int(x) for x in (a.latency or ('50' if quick else '50,200')).split(',') if x.strip()]
    except ValueError:
        ap.error('--latency takes comma-separated whole milliseconds')
    if not a.latency or min(a.latency) < 0 or max(a.latency) > 60000:
        ap.error('--latency takes values 0..60000')
    if a.scale < 1 or a.actions < 0:
        ap.error('--scale must be positive and --actions not negative')
    build = os.path.dirname(os.path.dirname(os.path.abspath(a.flsyncd)))
    a.flsync = a.flsync or os.path.join(build, 'tools', 'flsync', 'flsync')
    a.bench_sync = a.bench_sync or os.path.join(build, 'bench_sync')
    for path in (a.flsyncd, a.flmock, a.flsync, a.peer):
        if not os.path.exists(path):
            ap.error('%s: no such file' % path)
    return a


def mock_get(api, path):
    with urllib.request.urlopen(api + path, timeout=60) as r:
        return r.read().decode()


def mock_stats(api, reset=False):
    """flmock's /_mock/stats; reset=True also starts max_in_flight afresh."""
    if reset:
        req = urllib.request.Request(api + '/_mock/stats?reset=max_in_flight', data=b'', method='POST')
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read())
    return json.loads(mock_get(api, '/_mock/stats'))


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


class Bench:
    def __init__(self, a, tmp):
        self.a = a
        self.tmp = tmp
        self.env = dict(os.environ, FLSYNC_TOKEN=TOKEN, XDG_CONFIG_HOME=tmp, XDG_DATA_HOME=tmp)
        self.supported = None
        self.n = 0

    def path(self, name):
        self.n += 1
        return os.path.join(self.tmp, '%02d-%s' % (self.n, name))

    def config(self, in_flight):
        """--config FILE for flsyncd: [sync] max_in_flight when it is known, else an empty file."""
        conf = self.path('flsyncd%s.conf' % (in_flight or ''))
        with open(conf, 'w') as f:
            if in_flight and self.supported:
                f.write('[sync]\nmax_in_flight = %d\n' % in_flight)
        return conf

    def probe(self):
        """Does this flsyncd take [sync] max_in_flight?  One --once on a tiny world to find out."""
        mock, api = start_flmock(self.a.flmock, self.tmp, ['--seed', SEED, '--token', TOKEN, '--scale', 200])
        try:
            conf = self.path('probe.conf')
            with open(conf, 'w') as f:
                f.write('[sync]\nmax_in_flight = 1\n')
            p = subprocess.run([self.a.flsyncd, '--config', conf, '--db', self.path('probe.db'), '--api', api,
                                '--once'], env=self.env, capture_output=True, text=True, timeout=RUN_TIMEOUT)
        finally:
            mock.terminate()
            mock.wait(30)
        if p.returncode != 0 and 'max_in_flight' in p.stderr and 'unknown' in p.stderr:
            print('max_in_flight: not supported by this flsyncd', flush=True)
            self.supported = False
        elif p.returncode != 0:
            print('max_in_flight: probe failed (exit %d): %s; running without the key'
                  % (p.returncode, p.stderr.strip()[-300:]), flush=True)
            self.supported = False
        else:
            self.supported = True

    def timed(self, argv, api, log):
        """Run argv to its end against flmock at api: (wall s, requests, max in flight, exit, output)."""
        before = mock_stats(api, reset=True)['requests']
        with open(log, 'w+') as out:
            t0 = time.monotonic()
            p = subprocess.run(argv, env=self.env, stdout=out, stderr=subprocess.STDOUT, timeout=RUN_TIMEOUT)
            wall = time.monotonic() - t0
            out.seek(0)
            text = out.read()
        after = mock_stats(api)
        return wall, after['requests'] - before, after['max_in_flight'], p.returncode, text

    def flsyncd_once(self, api, db, in_flight):
        argv = [self.a.flsyncd, '--config', self.config(in_flight), '--db', db, '--api', api, '--once']
        wall, reqs, peak, rc, text = self.timed(argv, api, self.path('flsyncd.log'))
        if rc != 0:
            raise SystemExit('link_bench: flsyncd --once exited %d: %s' % (rc, text[-1000:]))
        return wall, reqs, peak

    def peer(self, api):
        argv = [sys.executable, self.a.peer, api, TOKEN, self.path('peer.db')]
        wall, reqs, peak, rc, text = self.timed(argv, api, self.path('peer.log'))
        lines = text.strip().splitlines()
        if rc != 0 or not lines or not lines[-1].startswith('rows '):
            raise SystemExit('link_bench: %s failed (%d): %s' % (self.a.peer, rc, text[-500:]))
        return wall, reqs, peak

    def start_daemon(self, api, db):
        """flsyncd --interval 3600 on db; returns once its first pass is done."""
        err = open(self.path('daemon.err'), 'w+')
        d = subprocess.Popen([self.a.flsyncd, '--config', self.config(TARGET_IN_FLIGHT), '--db', db, '--api', api,
                              '--interval', '3600', '-v'], env=self.env, stdout=subprocess.DEVNULL, stderr=err)
        end = time.monotonic() + RUN_TIMEOUT
        while time.monotonic() < end:
            err.seek(0)
            text = err.read()
            if re.search(r'pass (done|failed)', text):
                return d, err
            if d.poll() is not None:
                raise SystemExit('link_bench: flsyncd daemon exited %d: %s' % (d.returncode, text[-1000:]))
            time.sleep(0.05)
        d.kill()
        raise SystemExit('link_bench: the daemon\'s first pass did not end')

    def queue_add(self, db, params):
        p = subprocess.run([self.a.flsync, '--db', db, 'queue', 'add', 'message.send', '--json', json.dumps(params)],
                           env=self.env, capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            raise SystemExit('link_bench: flsync queue add exited %d: %s%s' % (p.returncode, p.stdout, p.stderr))

    def actions(self, api, db):
        """Queued message sends, each from its queue command's return to its POST in flmock's log:
        (seconds each, timeouts counted as ACTION_TIMEOUT, number of timeouts)."""
        with sqlite3.connect(db) as c:
            row = c.execute('SELECT id FROM threads ORDER BY id LIMIT 1').fetchone()
        if not row:
            raise SystemExit('link_bench: the synced database has no thread to send to')
        d, err = self.start_daemon(api, db)
        nonce = '%x' % (int(time.time() * 1000) & 0xffffffff)
        queued, seen = {}, {}

        def poll():
            text = mock_get(api, '/_mock/log')
            now = time.monotonic()
            for m in queued:
                if m not in seen and m in text:
                    seen[m] = now
        try:
            for k in range(self.a.actions):
                marker = 'linkbench-%s-%05d' % (nonce, k)
                self.queue_add(db, {'thread_id': row[0], 'message': marker})
                queued[marker] = t = time.monotonic()
                while marker not in seen and time.monotonic() - t < ACTION_GAP:
                    time.sleep(0.02)
                    poll()
            while any(m not in seen and time.monotonic() - t < ACTION_TIMEOUT for m, t in queued.items()):
                time.sleep(0.02)
                poll()
        finally:
            d.send_signal(signal.SIGTERM)
            try:
                d.wait(60)
            except subprocess.TimeoutExpired:
                d.kill()
                d.wait()
            err.close()
        lat = [min(seen[m] - t, ACTION_TIMEOUT) if m in seen else ACTION_TIMEOUT for m, t in queued.items()]
        late = sum(1 for m, t in queued.items() if m not in seen or seen[m] - t >= ACTION_TIMEOUT)
        return lat, late


def row(label, text):
    print('  %-44s %s' % (label + ':', text), flush=True)


def one_latency(b, latency):
    a = b.a
    mock, api = start_flmock(a.flmock, b.tmp, ['--seed', SEED, '--token', TOKEN, '--scale', a.scale,
                                               '--rate-scale', 1000000, '--latency', latency])
    ms = latency / 1000.0
    try:
        print('latency %d ms: flmock --seed %d --scale %d --latency %d at %s'
              % (latency, SEED, a.scale, latency, api), flush=True)
        db = b.path('flsyncd.db')
        runs = [TARGET_IN_FLIGHT, 1] if b.supported else [None]
        first = {}
        for n in runs:
            first[n] = b.flsyncd_once(api, db if n == runs[0] else b.path('flsyncd%d.db' % n), n)
            row('first sync, flsyncd ' + ('max_in_flight=%d' % n if n else 'without max_in_flight'),
                '%8.2f s %6d requests, at most %d in flight' % first[n])
        main = first[runs[0]]
        py = b.peer(api)
        row('first sync, ' + os.path.basename(a.peer), '%8.2f s %6d requests, at most %d in flight' % py)
        row('python/flsyncd', '%8.2fx (target >= 5x)' % (py[0] / main[0]))
        if ms > 0:
            floor = main[1] * ms / TARGET_IN_FLIGHT
            row('floor = %d requests x %d ms / %d' % (main[1], latency, TARGET_IN_FLIGHT), '%8.2f s' % floor)
            row('flsyncd/floor', '%8.2fx (target <= 1.5x)' % (main[0] / floor))
        row('most requests in flight at once', '%5d (flmock\'s max_in_flight)' % main[2])
        idle = b.flsyncd_once(api, db, runs[0])
        row('idle incremental pass', '%8.2f s %6d requests, %s latencies (target <= 4)'
            % (idle[0], idle[1], '%.1f' % (idle[0] / ms) if ms > 0 else 'n/a'))
        if a.actions:
            lat, late = b.actions(api, db)
            row('queued actions, %d message.send' % len(lat),
                'p50 %.2f s, p99 %.2f s, %d timed out (%.0f s each) (target p99 <= %.2f s)'
                % (pct(lat, 50), pct(lat, 99), late, ACTION_TIMEOUT, 2 + ms))
    finally:
        mock.terminate()
        mock.wait(30)


KEY_LINES = ('world:', 'full sync:', 'sync time / ceiling:', 'requests:', 'incremental pass:', 'full re-read',
             'syncer', 'python ', 'flsyncd ', 'rows/s, flsyncd', 'CPU per row')


def loopback(a):
    """Today's loopback figures: bench_sync and vs_python.py --runs 1, their key lines."""
    print('loopback (no latency):', flush=True)
    for argv in ([a.bench_sync, a.flsyncd, a.flmock],
                 [sys.executable, os.path.join(HERE, 'vs_python.py'), a.flsyncd, a.flmock, '--runs', '1']):
        name = os.path.basename(argv[0] if argv[0] != sys.executable else argv[1])
        if not os.path.exists(argv[0]):
            print('  %s: not built (%s)' % (name, argv[0]), flush=True)
            continue
        p = subprocess.run(argv, capture_output=True, text=True, timeout=RUN_TIMEOUT)
        if p.returncode != 0:
            print('  %s: exit %d: %s' % (name, p.returncode, (p.stderr or p.stdout).strip()[-500:]), flush=True)
            continue
        for line in p.stdout.splitlines():
            if line.startswith(KEY_LINES):
                print('  %s: %s' % (name, line), flush=True)


def main():
    a = parse_args()
    tmp = tempfile.mkdtemp(prefix='flsync-link-bench-')
    t0 = time.monotonic()
    try:
        b = Bench(a, tmp)
        b.probe()
        for latency in a.latency:
            one_latency(b, latency)
        if a.loopback:
            loopback(a)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print('link_bench: %.0f s in all' % (time.monotonic() - t0))


if __name__ == '__main__':
    main()
