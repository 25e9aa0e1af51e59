#!/usr/bin/env python3
"""test_accounts.py FLSYNC FLSYNCD FLMOCK — three accounts of one flmock world
(--accounts 3, tokens demo, demo-2, demo-3) into one PostgreSQL mirror:

- three SQLite files, each synced by `flsyncd --once` with its account's
  token (FLSYNC_TOKEN), each mirrored with `flsync pgsync --account NAME`:
  every PostgreSQL table equals the union of the three files, row for row,
  by value; the accounts' own rows differ, what they share is under each;
- after /_mock/advance and another round (new rows, updates, deleted-marks),
  equal again; flmock's stats show each account's requests and none of them
  refused for its rate budget;
- leases from the command line: `pgsync --holder` on one machine holds the
  account; another holder is refused (exit 3, naming the holder) until the
  heartbeat is stale by --lease-stale, then takes it over, and the first is
  refused in turn.

Runs against a private cluster (pgcluster.py).  Exit 77 (skipped) without
the PostgreSQL server binaries.
"""
import json
import os
import sqlite3
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import harness  # noqa: E402
import pgcluster  # noqa: E402

FLSYNC, FLSYNCD, FLMOCK = sys.argv[1:4]
TABLES = pgcluster.MIRRORED
TOKENS = ['demo', 'demo-2', 'demo-3']
H = harness.Run('pgacct')
tmp = H.tmp
procs = H.procs
check = H.check
PG = None


def start_mock(accounts=3):
    out = open(os.path.join(tmp, 'flmock.out'), 'wb+')
    p = subprocess.Popen([FLMOCK, '--port', '0', '--seed', '41', '--accounts', str(accounts), '--scale', '3000'],
                         stdout=out, stderr=subprocess.DEVNULL)
    procs.append(p)
    for _ in range(200):
        out.seek(0)
        line = out.readline().decode()
        if line.startswith('listening on '):
            return line.split()[2]
        time.sleep(0.05)
    raise SystemExit('flmock did not start')


def mock_json(api, path, method='GET'):
    with urllib.request.urlopen(urllib.request.Request(api + path, method=method), timeout=60) as r:
        return json.loads(r.read())


def sync(db, api, token):
    p = subprocess.run([FLSYNCD, '--db', db, '--api', api, '--once'], capture_output=True, timeout=300,
                       env=dict(os.environ, FLSYNC_TOKEN=token))
    check(p.returncode == 0, 'flsyncd --once on %s' % os.path.basename(db), p.stderr.decode()[-1500:])


def pgsync(db, account, extra=(), code=0, what='pgsync'):
    p = subprocess.run([FLSYNC, 'pgsync', '--db', db, '--pg', PG.conninfo, '--account', account] + list(extra),
                       capture_output=True, timeout=600)
    check(p.returncode == code, '%s: exit %d, want %d' % (what, p.returncode, code),
          p.stdout.decode()[-500:] + p.stderr.decode()[-1500:])
    return p.stdout.decode() + p.stderr.decode()


def equal(accounts, what):
    """Every mirrored table in PostgreSQL equals the union of the accounts' SQLite files."""
    for table in TABLES:
        want, got = pgcluster.mirror_rows(PG, accounts, table)
        if got != want:
            extra = [r for r in got if r not in want][:3]
            missing = [r for r in want if r not in got][:3]
            check(False, '%s: %s equals the union of the files (%d rows there, %d in PostgreSQL)'
                  % (what, table, len(want), len(got)),
                  'only in PostgreSQL: %s\nonly in SQLite: %s' % (extra, missing))
        else:
            check(len(got) > 0 or table in ('actions', 'job_categories'), '%s: %s has rows' % (what, table))


def one(db, sql):
    con = sqlite3.connect(db)
    v = con.execute(sql).fetchone()
    con.close()
    return v[0] if v else None


def pg_ids(sql):
    return set(r[0] for r in PG.psql(sql, csv_out=True))


def run_tests():
    api = start_mock()
    accounts = [('acct-%d' % (k + 1), os.path.join(tmp, 'acct-%d.db' % (k + 1))) for k in range(3)]
    selves = [a['id'] for a in mock_json(api, '/_mock/accounts')['accounts']]
    for (name, db), token in zip(accounts, TOKENS):
        sync(db, api, token)
    for (name, db), self_id in zip(accounts, selves):
        check(one(db, 'SELECT id FROM users WHERE is_self = 1') == self_id, '%s synced its own account' % name,
              (one(db, 'SELECT id FROM users WHERE is_self = 1'), self_id))
        out = pgsync(db, name, what='first pgsync of ' + name)
        check('copied everything' in out, '%s: the first run copies everything' % name, out)
    equal(accounts, 'first round')

    # Own data differs by account; the market is everyone's.
    own = [pg_ids("SELECT id FROM flsync.threads WHERE account = '%s'" % name) for name, _ in accounts]
    check(all(own) and not (own[0] & own[1]) and not (own[1] & own[2]) and not (own[0] & own[2]),
          'each account mirrors threads of its own', [len(o) for o in own])
    for (name, _), self_id in zip(accounts, selves):
        n = PG.psql("SELECT count(*) FROM flsync.projects WHERE account = '%s' AND owner_id = %d" % (name, self_id),
                    csv_out=True)[0][0]
        check(int(n) > 0, '%s owns projects in the mirror' % name, n)
    # What all accounts share (reference data, from one world) is under each of them.
    cur = [pg_ids("SELECT id FROM flsync.currencies WHERE account = '%s'" % name) for name, _ in accounts]
    check(cur[0] and cur[0] == cur[1] == cur[2], 'the currencies are under every account', [len(c) for c in cur])

    # The world moves on; another round; equal again.
    before = {name: int(PG.psql("SELECT seq FROM flsync.sink_position WHERE account = '%s'" % name,
                                csv_out=True)[0][0]) for name, _ in accounts}
    ev = mock_json(api, '/_mock/advance?seconds=259200', 'POST')
    check(ev['events'] > 1000, 'the world moved', ev)
    for (name, db), token in zip(accounts, TOKENS):
        sync(db, api, token)
    for name, db in accounts:
        out = pgsync(db, name, what='second pgsync of ' + name)
        check('changes ' in out, '%s: the second run sends only the changes' % name, out)
        after = int(PG.psql("SELECT seq FROM flsync.sink_position WHERE account = '%s'" % name, csv_out=True)[0][0])
        check(after > before[name], '%s: its feed position moved on' % name, (before[name], after))
    deleted = PG.psql("SELECT count(*) FROM flsync.projects WHERE deleted", csv_out=True)[0][0]
    check(int(deleted) > 0, 'deleted-marks are mirrored', deleted)
    equal(accounts, 'after /_mock/advance and another round')

    # flmock counted each account's requests, and none went over its limits.
    stats = mock_json(api, '/_mock/stats')
    for k in ('1', '2', '3'):
        a = stats.get('accounts', {}).get(k, {})
        check(a.get('requests', 0) > 0 and a.get('rate_limited') == 0,
              'account %s: requests counted, none over its rate limits' % k, a)

    # Leases from the command line: one holder at a time, a stale one taken over.
    name, db = accounts[0]
    out = pgsync(db, name, ['--holder', 'host-a'], what='pgsync under a lease')
    out = pgsync(db, name, ['--holder', 'host-b'], code=3, what='another holder is refused')
    check('leased to host-a' in out, 'the refusal names the holder', out)
    time.sleep(1.5)
    out = pgsync(db, name, ['--holder', 'host-b', '--lease-stale', '1'], what='a stale lease is taken over')
    check('took the lease over from host-a' in out, 'the take-over is said', out)
    out = pgsync(db, name, ['--holder', 'host-a'], code=3, what='the old holder is refused')
    check('leased to host-b' in out, 'the old holder is told who has it now', out)
    lease = PG.psql("SELECT holder, generation FROM flsync.leases WHERE account = '%s'" % name, csv_out=True)
    check(lease == [['host-b', '2']], 'the lease row names the new holder', lease)
    pgsync(db, name, ['--lease-stale', '5'], code=2, what='--lease-stale without --holder')
    equal(accounts, 'after the lease runs')


def main():
    global PG
    if not pgcluster.bindir():
        print('skipped: no PostgreSQL server binaries (the postgresql package; scripts/test installs it)')
        return 77
    PG = pgcluster.Cluster()
    try:
        run_tests()
    finally:
        PG.close()
    return 0


if __name__ == '__main__':
    H.finish(main)
