"""What the Python integration tests share: named checks that never stop
the run and a closing "N checks, N failed" line; servers started on port 0
and read from their first line ("listening on URL"), stopped at the end;
token files; flmock's control calls; a database's rows by value.

A test does:  h = harness.Run('name');  ...h.check(cond, what, detail)...;
h.finish(main) — which runs main, stops every server, prints the summary
and exits 1 if any check failed (77 if main returned 77: skipped).
"""
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request


class Run:
    def __init__(self, name):
        self.tmp = tempfile.mkdtemp(prefix='flsync-%s-' % name)
        self.checks = 0
        self.failures = []
        self.procs = []

    def check(self, cond, what, detail=''):
        self.checks += 1
        if not cond:
            self.failures.append(what)
            print('FAIL: %s%s' % (what, ('\n  ' + str(detail)[:3000]) if detail else ''), flush=True)
        return bool(cond)

    def start(self, cmd, name, env=None, cwd=None):
        """Start cmd (in cwd; its output in NAME.out/.err under tmp); (process, URL) from its first line."""
        out = open(os.path.join(self.tmp, name + '.out'), 'wb+')
        err = open(os.path.join(self.tmp, name + '.err'), 'wb')
        p = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=cwd)
        self.procs.append(p)
        for _ in range(1200):
            out.seek(0)
            line = out.readline().decode()
            if line.startswith('listening on '):
                return p, line.split()[2]
            if p.poll() is not None:
                break
            time.sleep(0.025)
        raise SystemExit('%s did not start: %s' % (name, open(err.name).read()[-2000:]))

    def token_file(self, name, token):
        """A bare token in a file only its owner may read, as flsyncd wants."""
        path = os.path.join(self.tmp, name + '.token')
        with open(path, 'w') as f:
            f.write(token + '\n')
        os.chmod(path, 0o600)
        return path

    def finish(self, main, logs=()):
        """Run main and end the script; when a check failed, the stderr of the servers
        started under the names in logs is printed too."""
        rc = 0
        try:
            rc = main()
        finally:
            for p in self.procs:
                if p.poll() is None:
                    p.terminate()
                    try:
                        p.wait(10)
                    except subprocess.TimeoutExpired:
                        p.kill()
            for name in logs if self.failures else ():
                err = os.path.join(self.tmp, name + '.err')
                if os.path.exists(err):
                    print('%s stderr:\n%s' % (name, open(err, errors='replace').read()[-3000:]))
        if not self.failures:
            shutil.rmtree(self.tmp, ignore_errors=True)  # kept when a check failed, to look into
        if rc == 77:
            sys.exit(77)
        print('%d checks, %d failed' % (self.checks, len(self.failures)))
        if self.failures:
            print('failed:\n  ' + '\n  '.join(self.failures))
        sys.exit(1 if self.failures else 0)

    def exit(self):
        """finish() for a script whose checks run at module level: the summary and the exit status."""
        self.finish(lambda: 0)


class Tally:
    """check(name, ok, detail) and a closing "N passed, N failed" line: the
    form of the scripts that run their tests as functions (test_sync.py,
    test_replay.py, test_auth.py, test_market_order.py)."""

    def __init__(self):
        self.passed = self.failed = 0

    def check(self, name, ok, detail=''):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print('FAIL: %s%s' % (name, ('\n  ' + str(detail)[-3000:].replace('\n', '\n  ')) if detail else ''),
                  flush=True)
        return ok

    def summary(self, extra=''):
        """Print the closing line; the exit status (1 if any check failed)."""
        print('%d passed, %d failed%s' % (self.passed, self.failed, extra))
        return 1 if self.failed else 0


class Mock:
    """flmock on port 0 with these arguments, called as the account of `token`;
    stopped with SIGTERM.  For scripts that start and stop several worlds."""

    def __init__(self, flmock, token, *args):
        self.token = token
        err = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([flmock, '--port', '0', '--token', token, *args],
                                     stdout=subprocess.PIPE, stderr=err, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith('listening on '):
            err.seek(0)
            raise RuntimeError('flmock did not start: %r %s' % (line, err.read().decode(errors='replace')[-2000:]))
        self.url = line.split()[-1]

    def call(self, method, path):
        """A request with the account's token; the answer's body as text."""
        req = urllib.request.Request(self.url + path, method=method, headers={'Freelancer-OAuth-V1': self.token})
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.read().decode()

    def dump(self, entity):
        """Every record of entity in the world (GET /_mock/dump), parsed."""
        text = self.call('GET', '/_mock/dump?entity=' + entity)
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def post(url, body=b'', method='POST', headers=None):
    """An HTTP request with a JSON body; (status, body), an error status too."""
    req = urllib.request.Request(url, data=body if method != 'GET' else None, method=method,
                                 headers=headers or {'Content-Type': 'application/json'})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def mock_post(api, path, body=b''):
    """POST to one of flmock's /_mock/ endpoints; its JSON answer."""
    req = urllib.request.Request(api + path, data=body, method='POST')
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())


def mock_get(api, path):
    with urllib.request.urlopen(api + path, timeout=60) as r:
        return json.loads(r.read())


def mock_faults(api, spec):
    """Set flmock's request faults (--faults syntax); '' for none."""
    return mock_post(api, '/_mock/faults?spec=' + urllib.parse.quote(spec))


def rows(db, tables):
    """Every row of tables by value, but for when each was stored (synced_at)."""
    con = sqlite3.connect(db)
    try:
        out = {}
        for t in tables:
            cols = [r[1] for r in con.execute('SELECT * FROM pragma_table_info(?)', (t,)) if r[1] != 'synced_at']
            out[t] = sorted(con.execute('SELECT %s FROM %s' % (', '.join(cols), t)).fetchall(), key=repr)
        return out
    finally:
        con.close()


def one(db, sql, *args):
    """The first column of the first row, or None."""
    con = sqlite3.connect(db)
    try:
        row = con.execute(sql, args).fetchone()
        return row[0] if row else None
    finally:
        con.close()


def wait_for(cond, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.05)
    return bool(cond())
