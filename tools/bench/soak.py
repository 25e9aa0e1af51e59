#!/usr/bin/env python3
"""soak.py — flsyncd as a daemon for a long while against flmock moving time,
with what months of running bring: faults on requests and on webhook
deliveries, kills (SIGKILL, then a restart), SIGHUP reloads, access tokens
that expire (flmock --token-requests, the daemon refreshing them from its
token file), and write actions queued all along.

Every --sample-s seconds it samples the daemon's RSS, open fds and threads
(/proc/PID), the database's and its WAL's size and every table's rows.  At
the end it stops the clock and the faults, lets the queue drain, stops the
daemon (SIGTERM), makes one more pass, and compares the database with a
clean sync of the same world into a fresh file (every row of the user data
tables but when it was stored), and checks every queued action was applied
exactly once (flmock's dump, by the unique text each carries) and is done.

Kills fall in the first half only: the second half is one process, whose
slopes (least squares, per hour) are printed for RSS, fds and threads, with
bytes per user row at the end against the start and each internal table's
rows per hour against the user data's.

usage: soak.py [--build DIR] [--minutes N] [--scale N] [--advance S] [--events-s S]
               [--tick-s S] [--sample-s S] [--kills N] [--reloads N] [--actions N]
               [--token-requests N] [--faults SPEC] [--webhook-faults SPEC] [--daemon-prefix CMD]
               [--keep DIR]
prints: a line per sample ("sample ..."), then "slope ...", "bytes per user row ...",
        "rows per hour ..." lines, "data equal to a clean sync: yes|no",
        "actions applied exactly once: N of M", and exits 1 when either is wrong
"""
import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchutil import start_flmock  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ap = argparse.ArgumentParser()
ap.add_argument('--build', default=os.path.join(ROOT, 'build'), help='a build (or install) tree')
ap.add_argument('--minutes', type=float, default=120)
ap.add_argument('--scale', type=int, default=30000)
ap.add_argument('--seed', type=int, default=24)
ap.add_argument('--tick-s', type=float, default=5, help='wall seconds between clock moves')
ap.add_argument('--advance', type=int, default=3600, help='server seconds the clock moves a tick')
ap.add_argument('--events-s', type=int, default=300,
                help='server seconds of a tick with activity (~1 event per 10 s), the rest quiet')
ap.add_argument('--interval', type=int, default=20, help="flsyncd's seconds between passes")
ap.add_argument('--sample-s', type=float, default=10)
ap.add_argument('--kills', type=int, default=3)
ap.add_argument('--reloads', type=int, default=4)
ap.add_argument('--actions', type=int, default=58)
ap.add_argument('--token-requests', type=int, default=200)
ap.add_argument('--faults', default='http500=0.01,html503=0.005,rate429=0.005,truncate=0.005,malformed=0.005,'
                'reset=0.005,lostreply=0.01')
ap.add_argument('--webhook-faults', default='drop=0.05,dup=0.05,delay=0.05,reorder=0.05,fail_after=0')
ap.add_argument('--daemon-prefix', default='',
                help="a command the daemon runs under, e.g. 'valgrind --leak-check=full --log-file=vg.%%p'")
ap.add_argument('--keep', help='keep the files here (else a temporary directory, removed)')
a = ap.parse_args(None if __name__ == '__main__' else [])  # imported: the defaults

STATIC = 'soak-static-token'
CLIENT, SECRET = 'flsync-soak', 'soak-secret'
USER_TABLES = ('users', 'currencies', 'jobs', 'projects', 'project_jobs', 'bids', 'milestones',
               'milestone_requests', 'reviews', 'threads', 'thread_members', 'messages')
T0 = time.monotonic()


def find(*names):
    for n in names:
        for sub in ('', 'bin', 'usr/local/bin', 'usr/bin'):
            p = os.path.join(a.build, sub, n)
            if os.path.isfile(p) and os.access(p, os.X_OK):
                return p
    raise SystemExit('soak: %s not found under %s' % (names[-1], a.build))


FLSYNCD = find('syncd/flsyncd', 'flsyncd')
FLSYNC = find('tools/flsync/flsync', 'flsync')
FLMOCK = find('tools/flmock/flmock', 'flmock')
tmp = a.keep or tempfile.mkdtemp(prefix='flsync-soak-')
os.makedirs(os.path.join(tmp, 'flsync'), exist_ok=True)
DB = os.path.join(tmp, 'soak.db')
TOKEN_FILE = os.path.join(tmp, 'token.json')
CONF = os.path.join(tmp, 'flsync', 'flsyncd.conf')
ENV = dict(os.environ, XDG_CONFIG_HOME=tmp, XDG_DATA_HOME=tmp, FLSYNC_TOKEN=STATIC)


def say(msg):
    print('[%7.1f s] %s' % (time.monotonic() - T0, msg), flush=True)


def call(api, method, path, body=None):
    req = urllib.request.Request(api + path, method=method, data=body,
                                 headers={'Freelancer-OAuth-V1': STATIC} if path.startswith('/api/') else {})
    with urllib.request.urlopen(req, timeout=120) as r:
        return r.read().decode()


def mock(api, path, method='GET'):
    return json.loads(call(api, method, path, b'' if method == 'POST' else None))


def dump(api, entity):
    return [json.loads(line) for line in call(api, 'GET', '/_mock/dump?entity=' + entity).splitlines()
            if line.strip()]


def flsync(*args, check=False):
    r = subprocess.run([FLSYNC, *args], capture_output=True, text=True, timeout=300, env=ENV)
    if check and r.returncode != 0:
        raise SystemExit('soak: flsync %s: exit %d: %s' % (' '.join(args), r.returncode, r.stderr[-2000:]))
    return r


def once(db, api, log, token_file=None):
    cmd = [FLSYNCD, '--db', db, '--api', api, '--once', '-v']
    if token_file:
        cmd += ['--token-file', token_file]
    with open(log, 'a') as f:
        return subprocess.run(cmd, stdout=f, stderr=f, env=ENV, timeout=3600).returncode


# ---- setting up: flmock, a signed-in token file, the first sync ------------------------

class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kw):
        return None


def login(api):
    """flsync auth login against flmock's OAuth service: a token file that expires and refreshes."""
    secret = os.path.join(tmp, 'client-secret')
    with open(secret, 'w') as f:
        f.write(SECRET + '\n')
    os.chmod(secret, 0o600)
    p = subprocess.Popen([FLSYNC, 'auth', 'login', '--no-browser', '--token-file', TOKEN_FILE, '--api', api,
                          '--auth', api, '--client-id', CLIENT, '--client-secret-file', secret,
                          '--redirect', 'http://127.0.0.1:8976/callback', '--scope', 'basic', '6'],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    first = p.stdout.readline().strip()
    loc = ''
    try:
        urllib.request.build_opener(NoRedirect).open(first, timeout=30)
    except urllib.error.HTTPError as e:
        loc = e.headers.get('Location', '')
    out, err = p.communicate(loc + '\n', timeout=120)
    if p.returncode != 0:
        raise SystemExit('soak: flsync auth login failed: %s' % err[-2000:])


def write_conf(interval):
    with open(CONF, 'w') as f:
        f.write('[cadence]\ninterval = %d\n[sync]\nretry_base_ms = 200\n[webhook]\npoll_interval = %d\n'
                % (interval, interval))


# ---- the daemon ----------------------------------------------------------------------------

def free_port():
    """A loopback port free now: the listener keeps it across restarts, so the registered URL stays good."""
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Daemon:
    def __init__(self, api):
        self.api = api
        self.listen = '127.0.0.1:%d' % free_port()
        self.proc = None
        self.kills = 0
        self.hups = 0
        self.start()

    def start(self):
        self.log = open(os.path.join(tmp, 'flsyncd.log'), 'ab')
        self.proc = subprocess.Popen(a.daemon_prefix.split() + [FLSYNCD, '--db', DB, '--api', self.api, '--token-file', TOKEN_FILE,
                                      '--webhook-listen', self.listen, '-v'],
                                     stdout=subprocess.DEVNULL, stderr=self.log, env=ENV)
        self.started = time.monotonic()

    def pid(self):
        """flsyncd's pid: the process started, or under a wrapper that forks (heaptrack) its child."""
        if not a.daemon_prefix:
            return self.proc.pid
        kids = {}
        for d in os.listdir('/proc'):
            if not d.isdigit():
                continue
            try:
                with open('/proc/%s/stat' % d) as f:
                    ppid = int(f.read().rsplit(')', 1)[1].split()[1])
                with open('/proc/%s/cmdline' % d, 'rb') as f:
                    argv0 = f.read().split(b'\0')[0].decode(errors='replace')
            except (OSError, ValueError, IndexError):
                continue
            kids.setdefault(ppid, []).append((int(d), argv0))
        todo = [self.proc.pid]
        while todo:
            for pid, argv0 in kids.get(todo.pop(), []):
                if argv0.endswith('flsyncd'):
                    return pid
                todo.append(pid)
        return self.proc.pid

    def signal(self, sig):
        try:
            os.kill(self.pid(), sig)
        except ProcessLookupError:
            pass

    def kill(self):
        self.signal(signal.SIGKILL)
        self.proc.kill()  # the wrapper, if any
        self.proc.wait()
        self.kills += 1
        self.log.close()
        self.start()

    def hup(self):
        self.signal(signal.SIGHUP)
        self.hups += 1

    def stop(self):
        self.signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(300)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.log.close()
        return rc


def register_webhook(api):
    """The listener's URL (the daemon makes its secret path), registered with flmock."""
    for _ in range(600):
        r = flsync('webhook', 'url', '--db', DB)
        if r.returncode == 0 and r.stdout.strip():
            flsync('webhook', 'register', r.stdout.strip(), '--api', api, '--db', DB, check=True)
            return r.stdout.strip()
        time.sleep(0.1)
    raise SystemExit('soak: flsync webhook url never answered')


# ---- samples --------------------------------------------------------------------------------

def proc_status(pid):
    out = {'rss_kb': 0, 'threads': 0, 'fds': 0}
    try:
        with open('/proc/%d/status' % pid) as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    out['rss_kb'] = int(line.split()[1])
                elif line.startswith('Threads:'):
                    out['threads'] = int(line.split()[1])
        out['fds'] = len(os.listdir('/proc/%d/fd' % pid))
    except (FileNotFoundError, ProcessLookupError):
        pass
    return out


def table_rows(db):
    """Every table's rows (one read transaction, closed at once: a reader held open stops checkpoints)."""
    con = sqlite3.connect('file:%s?mode=ro' % db, uri=True, timeout=60)
    try:
        names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                           "AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name")]
        con.execute('BEGIN')
        out = {n: con.execute('SELECT count(*) FROM "%s"' % n.replace('"', '""')).fetchone()[0] for n in names}
        con.execute('COMMIT')
        return out
    finally:
        con.close()


def size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def sample(d, samples, jsonl):
    pid = d.pid()
    st = proc_status(pid)
    try:
        rows = table_rows(DB)
    except sqlite3.Error as e:
        say('sample: the tables could not be counted: %s' % e)
        return
    s = dict(t=round(time.monotonic() - T0, 1), pid=pid, **st, db=size(DB), wal=size(DB + '-wal'),
             user_rows=sum(rows.get(t, 0) for t in USER_TABLES), rows=rows)
    samples.append(s)
    jsonl.write(json.dumps(s) + '\n')
    jsonl.flush()
    print('sample t=%ds pid=%d rss=%.1fMB fds=%d threads=%d db=%.1fMB wal=%.1fMB user_rows=%d changes=%s '
          'actions=%s' % (s['t'], s['pid'], s['rss_kb'] / 1024, s['fds'], s['threads'], s['db'] / 1048576,
                         s['wal'] / 1048576, s['user_rows'], rows.get('changes', '-'), rows.get('actions', '-')),
          flush=True)


def slope_per_hour(points):
    """Least-squares slope of (t seconds, y) points, per hour; None with fewer than 3."""
    if len(points) < 3:
        return None
    n = len(points)
    mx = sum(p[0] for p in points) / n
    my = sum(p[1] for p in points) / n
    sxx = sum((p[0] - mx) ** 2 for p in points)
    if sxx == 0:
        return None
    return sum((p[0] - mx) * (p[1] - my) for p in points) / sxx * 3600


# ---- actions ---------------------------------------------------------------------------------

def plan_action(api, i, used):
    """Action i on the world as it is now (the world moves: a project chosen long before may be
    deleted by then): even ones bid on a project self never bid on, odd ones send a message into
    one of its threads; each carries a unique text by which the world is searched at the end."""
    S = mock(api, '/_mock/self')['id']
    text = 'soak action %d of seed %d' % (i, a.seed)
    rnd = random.Random(a.seed * 1000 + i)
    if i % 2 == 0:
        mine = {b['project_id'] for b in dump(api, 'bids') if b['bidder_id'] == S}
        projects = [p['id'] for p in dump(api, 'projects') if p['status'] == 'active' and not p.get('deleted')
                    and p['owner_id'] != S and p['id'] not in mine and p['id'] not in used]
        if projects:
            pid = rnd.choice(projects)
            used.add(pid)
            return ('bid.create', {'project_id': pid, 'amount': 50 + i, 'period': 5,
                                   'milestone_percentage': 50, 'description': text}, text)
    threads = [t['id'] for t in dump(api, 'threads')]
    return ('message.send', {'thread_id': rnd.choice(threads), 'message': text}, text)


def queue(action):
    kind, params, text = action
    r = flsync('queue', 'add', kind, '--db', DB, '--json', json.dumps(params))
    m = re.search(r'queued action (\d+)', r.stdout)
    if r.returncode != 0 or not m:
        say('queue add %s failed: exit %d: %s' % (kind, r.returncode, (r.stdout + r.stderr)[-500:]))
        return None
    return int(m.group(1))


# Refusals that say the project went away between planning and sending: the action is
# rightly never applied, and the project is then known only to the soak's database.
GONE = ('PROJECT_DELETED', 'PROJECT_NOT_ACTIVE')


def gone(projects, params):
    """The action's project is deleted or no longer open in the world."""
    p = projects.get(params.get('project_id'))
    return p is not None and (p.get('deleted') or p['status'] != 'active')


def applied_once(api, queued):
    """(applied exactly once, refused because the project went, failures): each action done
    and its text in the world once, or refused with a GONE code, its project deleted or no
    longer active in the world, and its text nowhere."""
    bids = {}
    for b in dump(api, 'bids'):
        bids[b.get('description')] = bids.get(b.get('description'), 0) + 1
    projects = {p['id']: p for p in dump(api, 'projects')}
    msgs = {}
    for m in dump(api, 'messages'):
        msgs[m.get('message')] = msgs.get(m.get('message'), 0) + 1
    con = sqlite3.connect(DB, timeout=60)
    rows = {r[0]: r[1:] for r in con.execute('SELECT id, state, coalesce(error_code, \'\'), '
                                             "coalesce(error_message, '') FROM actions")}
    con.close()
    good, refused, bad = 0, {}, []
    for aid, (kind, params, text) in queued.items():
        n = (bids if kind == 'bid.create' else msgs).get(text, 0)
        state, code, message = rows.get(aid, (None, '', ''))
        if n == 1 and state == 'done':
            good += 1
        elif n == 0 and state == 'failed' and code.rsplit('.', 1)[-1] in GONE and gone(projects, params):
            refused[aid] = (params['project_id'], code.rsplit('.', 1)[-1])
        else:
            bad.append('action %d %s: state %s (%s %s), in the world %d times' % (aid, kind, state, code, message, n))
    return good, refused, bad


# ---- the comparison ------------------------------------------------------------------------

def user_data(db):
    con = sqlite3.connect(db, timeout=60)
    out = {}
    for t in USER_TABLES:
        cols = [r[1] for r in con.execute('SELECT * FROM pragma_table_info(?)', (t,)) if r[1] != 'synced_at']
        out[t] = sorted(con.execute('SELECT %s FROM %s' % (', '.join('"%s"' % c for c in cols), t)).fetchall(),
                        key=repr)
    con.close()
    return out


def gone_rows(db, projects):
    """The rows of the soak's database that only refused actions brought in: their projects,
    the projects' jobs and owners; as {table: set of first-column values}."""
    con = sqlite3.connect(db, timeout=60)
    owners = {r[0] for r in con.execute('SELECT owner_id FROM projects WHERE id IN (%s)' %
                                        ','.join('?' * len(projects)), list(projects))} if projects else set()
    con.close()
    return {'projects': set(projects), 'project_jobs': set(projects), 'users': owners}


def compare(a_db, b_db, excused=None):
    """Differences of the soak's database a_db from the clean b_db; rows only in a_db whose table and
    first column excused names are left out (what refused actions brought in)."""
    x, y = user_data(a_db), user_data(b_db)
    diffs = []
    for t in USER_TABLES:
        if x[t] != y[t]:
            sx, sy = set(map(repr, x[t])), set(map(repr, y[t]))
            only_a = sorted(repr(r) for r in x[t] if repr(r) not in sy and r[0] not in (excused or {}).get(t, ()))
            only_b = sorted(sy - sx)
            if only_a or only_b:
                diffs.append('%s: %d rows against %d; only in the soak\'s %d (%s), only in the clean %d (%s)' % (
                    t, len(x[t]), len(y[t]), len(only_a), only_a[:1], len(only_b), only_b[:1]))
    return diffs


# ---- the run ---------------------------------------------------------------------------------

def main():
    mock_proc, api = start_flmock(FLMOCK, tmp, ['--seed', a.seed, '--token', STATIC, '--scale', a.scale,
                                                '--client-id', CLIENT, '--client-secret', SECRET,
                                                '--token-requests', a.token_requests,
                                                '--webhook-faults', a.webhook_faults])
    d = None
    ok = True
    try:
        write_conf(a.interval)
        login(api)
        say('flmock at %s, scale %d; files in %s; binaries from %s' % (api, a.scale, tmp, a.build))
        t = time.monotonic()
        rc = once(DB, api, os.path.join(tmp, 'first.log'), TOKEN_FILE)
        say('first sync: exit %d in %.1f s' % (rc, time.monotonic() - t))
        if rc != 0:
            raise SystemExit('soak: the first sync failed (see %s/first.log)' % tmp)
        mock(api, '/_mock/faults?spec=' + urllib.parse.quote(a.faults), 'POST')
        d = Daemon(api)
        hook = register_webhook(api)
        say('daemon pid %d, webhook %s; faults %s; deliveries %s' % (d.pid(), hook, a.faults, a.webhook_faults))
        samples = []
        jsonl = open(os.path.join(tmp, 'samples.jsonl'), 'w')
        run_s = a.minutes * 60
        start = time.monotonic()
        # What happens when: kills in the first half (the second is one process, for the slopes),
        # reloads and actions over the whole but the last tenth (the queue drains before the end).
        kills = [run_s * 0.5 * (i + 1) / (a.kills + 1) for i in range(a.kills)]
        hups = [run_s * 0.9 * (i + 1) / (a.reloads + 1) for i in range(a.reloads)]
        when = [run_s * 0.85 * (i + 1) / (a.actions + 1) for i in range(a.actions)]
        queued, used = {}, set()
        next_tick = next_sample = start
        while time.monotonic() - start < run_s:
            now = time.monotonic()
            el = now - start
            if d.proc.poll() is not None:
                say('flsyncd exited by itself (%d): started again' % d.proc.returncode)
                ok = False
                d.log.close()
                d.start()
            while kills and el >= kills[0]:
                kills.pop(0)
                d.kill()
                say('SIGKILL; started again as pid %d' % d.pid())
            # A SIGHUP before the daemon set its handlers would end it: not in its first seconds.
            while hups and el >= hups[0] and now - d.started >= 5:
                hups.pop(0)
                d.hup()
                say('SIGHUP')
            while when and el >= when[0]:
                when.pop(0)
                act = plan_action(api, a.actions - len(when) - 1, used)
                aid = queue(act)
                if aid:
                    queued[aid] = act
            if now >= next_tick:
                mock(api, '/_mock/advance?seconds=%d&quiet=%d' % (a.advance, max(a.advance - a.events_s, 0)),
                     'POST')
                next_tick += a.tick_s
            if now >= next_sample:
                sample(d, samples, jsonl)
                next_sample += a.sample_s
            time.sleep(max(0.05, min(next_tick, next_sample) - time.monotonic()))
        while when:  # any the loop did not reach
            when.pop(0)
            act = plan_action(api, a.actions - len(when) - 1, used)
            aid = queue(act)
            if aid:
                queued[aid] = act

        # The end: no more faults, no more time; the queue drains, then a clean sync to compare with.
        mock(api, '/_mock/faults?spec=', 'POST')
        mock(api, '/_mock/webhooks?spec=', 'POST')
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            con = sqlite3.connect(DB, timeout=60)
            left = con.execute("SELECT count(*) FROM actions WHERE state IN ('queued', 'sending')").fetchone()[0]
            con.close()
            if not left:
                break
            time.sleep(1)
        sample(d, samples, jsonl)
        say('stopping flsyncd: exit %d' % d.stop())
        d = None
        rc = once(DB, api, os.path.join(tmp, 'last.log'), TOKEN_FILE)
        say('a last pass of the soak database: exit %d' % rc)
        clean = os.path.join(tmp, 'clean.db')
        rc2 = once(clean, api, os.path.join(tmp, 'clean.log'))
        say('a clean sync of the same world: exit %d' % rc2)
        report(samples)
        good, refused, bad = applied_once(api, queued)
        gone = {pid for pid, _ in refused.values()}
        diffs = compare(DB, clean, gone_rows(DB, gone)) if rc == 0 and rc2 == 0 else ['a pass failed']
        print('data equal to a clean sync: %s' % ('yes' if not diffs else 'no'))
        if gone:
            print('  left out: projects %s with their jobs and owners, known only through refused actions' %
                  ', '.join(map(str, sorted(gone))))
        for line in diffs:
            print('  ' + line[:2000])
        print('actions applied exactly once: %d of %d' % (good, len(queued) - len(refused)))
        if refused:
            print('actions refused because the project had gone, never applied: %d (%s)' % (
                len(refused), ', '.join('%d %s' % (aid, code) for aid, (_, code) in sorted(refused.items()))))
        for line in bad:
            print('  ' + line)
        st = mock(api, '/_mock/stats')
        oauth = mock(api, '/_mock/oauth')
        hooks = mock(api, '/_mock/webhooks')
        print('flmock: %d requests, faults %s; refresh grants %s, 401s for expiry %s; webhook posts %s, '
              'delivered %s, dropped %s, duplicated %s' % (
                  st.get('requests', 0), json.dumps(st.get('faults', {})), oauth.get('refresh_token_grants'),
                  oauth.get('api_refused_expired'), hooks.get('posts'), hooks.get('delivered'), hooks.get('dropped'),
                  hooks.get('duplicated')))
        ok = ok and not diffs and not bad and len(queued) == a.actions
        print('soak: %s' % ('ok' if ok else 'FAILED'), flush=True)
        return 0 if ok else 1
    finally:
        try:
            if d:
                d.stop()
        finally:
            mock_proc.terminate()
            mock_proc.wait(30)
        if not a.keep and ok:
            shutil.rmtree(tmp, ignore_errors=True)


def report(samples):
    if len(samples) < 4:
        print('too few samples for slopes')
        return
    end_t = samples[-1]['t']
    mid = samples[0]['t'] + (end_t - samples[0]['t']) / 2
    half = [s for s in samples if s['t'] >= mid]
    pid = half[-1]['pid']
    one = [s for s in half if s['pid'] == pid]  # one process (a kill restarts the curve)
    hours = (one[-1]['t'] - one[0]['t']) / 3600 if one else 0
    print('second half: %d samples over %.2f h of pid %d' % (len(one), hours, pid))
    for key, unit, div in (('rss_kb', 'MB', 1024), ('fds', '', 1), ('threads', '', 1)):
        sl = slope_per_hour([(s['t'], s[key] / div) for s in one])
        lo, hi = min(s[key] for s in one) / div, max(s[key] for s in one) / div
        print('slope %-8s %+9.3f %s over the second half (min %.1f, max %.1f, end %.1f)' % (
            key.split('_')[0], sl if sl is not None else float('nan'), unit + '/h', lo, hi, one[-1][key] / div))
    first = samples[0]
    last = samples[-1]
    for name, s in (('start', first), ('end', last)):
        print('bytes per user row at the %-5s: %7.1f (db %.1f MB + wal %.1f MB for %d user rows)' % (
            name, (s['db'] + s['wal']) / max(s['user_rows'], 1), s['db'] / 1048576, s['wal'] / 1048576,
            s['user_rows']))
    pts = [(s['t'], s['user_rows']) for s in half]
    user = slope_per_hour(pts) or 0
    print('rows per hour over the second half: user data %+.0f' % user)
    for t in sorted(last['rows']):
        if t in USER_TABLES:
            continue
        sl = slope_per_hour([(s['t'], s['rows'].get(t, 0)) for s in half]) or 0
        print('rows per hour %-28s %+10.0f (%s of the user data\'s; %d -> %d rows)' % (
            t, sl, ('%.2fx' % (sl / user)) if user else '-', first['rows'].get(t, 0), last['rows'].get(t, 0)))


if __name__ == '__main__':
    sys.exit(main())
