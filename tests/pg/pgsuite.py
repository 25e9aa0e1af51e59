"""pgsuite.py — what the pg suite's scripts (test_pgsync.py,
test_pg_accounts.py, test_daemon_sink.py; each run as SCRIPT FLSYNC FLSYNCD
FLMOCK) share: the harness's checks, flmock started on port 0, a sync by
`flsyncd --once`, a `flsync pgsync` run, the comparison of the mirror with
the union of the SQLite files, and a main that runs the tests against a
private cluster (pgcluster.py) or skips them (77) without the server binaries.
"""
import json
import os
import subprocess
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import harness  # noqa: E402
import pgcluster  # noqa: E402

SKIPPED = 'skipped: no PostgreSQL server binaries (the postgresql package; scripts/test installs it)'


class Suite:
    def __init__(self, name):
        self.flsync, self.flsyncd, self.flmock = sys.argv[1:4]
        self.h = harness.Run(name)
        self.tmp = self.h.tmp
        self.procs = self.h.procs
        self.check = self.h.check
        self.pg = None             # the cluster, while run()'s tests run
        self.mocks = 0

    def start_mock(self, *args):
        """flmock on port 0 with these arguments; its URL."""
        self.mocks += 1
        _, url = self.h.start([self.flmock, '--port', '0'] + list(args), 'flmock%d' % self.mocks)
        return url

    def mock_json(self, api, path, method='GET'):
        with urllib.request.urlopen(urllib.request.Request(api + path, method=method), timeout=60) as r:
            return json.loads(r.read())

    def sync(self, db, api, token):
        """One pass of flsyncd --once into db with token."""
        p = subprocess.run([self.flsyncd, '--db', db, '--api', api, '--once'], capture_output=True, timeout=300,
                           env=dict(os.environ, FLSYNC_TOKEN=token))
        self.check(p.returncode == 0, 'flsyncd --once on %s' % os.path.basename(db), p.stderr.decode()[-1500:])

    def pgsync(self, db, account, extra=(), code=0, what='pgsync'):
        """flsync pgsync of db as account, wanting exit code; its output."""
        p = subprocess.run([self.flsync, 'pgsync', '--db', db, '--pg', self.pg.conninfo, '--account', account] +
                           list(extra), capture_output=True, timeout=600)
        self.check(p.returncode == code, '%s: exit %d, want %d' % (what, p.returncode, code),
                   p.stdout.decode()[-500:] + p.stderr.decode()[-1500:])
        return p.stdout.decode() + p.stderr.decode()

    def equal(self, accounts, what, want_rows=False):
        """Every mirrored table in PostgreSQL equals the union of the accounts' SQLite files
        ((account, db) pairs); with want_rows, each but actions and job_categories has rows."""
        for table in pgcluster.MIRRORED:
            want, got = pgcluster.mirror_rows(self.pg, accounts, table)
            if got != want:
                extra = [r for r in got if r not in want][:3]
                missing = [r for r in want if r not in got][:3]
                self.check(False, '%s: %s equals the union of the files (%d rows there, %d in PostgreSQL)'
                           % (what, table, len(want), len(got)),
                           'only in PostgreSQL: %s\nonly in SQLite: %s' % (extra, missing))
            else:
                self.check(not want_rows or len(got) > 0 or table in ('actions', 'job_categories'),
                           '%s: %s has rows' % (what, table))

    def run(self, tests):
        """tests() against a private cluster (self.pg), then the harness's summary and exit."""
        def main():
            if not pgcluster.bindir():
                print(SKIPPED)
                return 77
            self.pg = pgcluster.Cluster()
            try:
                tests()
            finally:
                self.pg.close()
            return 0
        self.h.finish(main)
