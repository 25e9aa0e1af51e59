#!/usr/bin/env python3
"""test_pg_accounts.py FLSYNC FLSYNCD FLMOCK — three accounts of one flmock world
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
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pgsuite  # noqa: E402

TOKENS = ['demo', 'demo-2', 'demo-3']
S = pgsuite.Suite('pgacct')
tmp, check, sync, pgsync, mock_json = S.tmp, S.check, S.sync, S.pgsync, S.mock_json
one = pgsuite.harness.one


def start_mock(accounts=3):
    return S.start_mock('--seed', '41', '--accounts', str(accounts), '--scale', '3000')


def equal(accounts, what):
    S.equal(accounts, what, want_rows=True)


def pg_ids(sql):
    return set(r[0] for r in S.pg.psql(sql, csv_out=True))


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
        n = S.pg.psql("SELECT count(*) FROM flsync.projects WHERE account = '%s' AND owner_id = %d" % (name, self_id),
                    csv_out=True)[0][0]
        check(int(n) > 0, '%s owns projects in the mirror' % name, n)
    # What all accounts share (reference data, from one world) is under each of them.
    cur = [pg_ids("SELECT id FROM flsync.currencies WHERE account = '%s'" % name) for name, _ in accounts]
    check(cur[0] and cur[0] == cur[1] == cur[2], 'the currencies are under every account', [len(c) for c in cur])

    # The world moves on; another round; equal again.
    before = {name: int(S.pg.psql("SELECT seq FROM flsync.sink_position WHERE account = '%s'" % name,
                                csv_out=True)[0][0]) for name, _ in accounts}
    ev = mock_json(api, '/_mock/advance?seconds=259200', 'POST')
    check(ev['events'] > 1000, 'the world moved', ev)
    for (name, db), token in zip(accounts, TOKENS):
        sync(db, api, token)
    for name, db in accounts:
        out = pgsync(db, name, what='second pgsync of ' + name)
        check('changes ' in out, '%s: the second run sends only the changes' % name, out)
        after = int(S.pg.psql("SELECT seq FROM flsync.sink_position WHERE account = '%s'" % name, csv_out=True)[0][0])
        check(after > before[name], '%s: its feed position moved on' % name, (before[name], after))
    deleted = S.pg.psql("SELECT count(*) FROM flsync.projects WHERE deleted", csv_out=True)[0][0]
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
    lease = S.pg.psql("SELECT holder, generation FROM flsync.leases WHERE account = '%s'" % name, csv_out=True)
    check(lease == [['host-b', '2']], 'the lease row names the new holder', lease)
    pgsync(db, name, ['--lease-stale', '5'], code=2, what='--lease-stale without --holder')
    equal(accounts, 'after the lease runs')


if __name__ == '__main__':
    S.run(run_tests)
