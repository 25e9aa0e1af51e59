"""flsyncd's [sink] postgres and account leases, against a private
PostgreSQL cluster and flmock --accounts 4: one flsyncd mirrors three
accounts after each pass (PostgreSQL equals the union of the files, again
after /_mock/advance); a second machine configured with one of them skips it
(its log and flsync status --all say who holds the lease) and syncs its
other account; when the holder is killed, the lease goes stale and the
second machine takes the account over.

usage: test_daemon_sink.py FLSYNC FLSYNCD FLMOCK
"""
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pgsuite  # noqa: E402

S = pgsuite.Suite('pgsink')
FLSYNC, FLSYNCD = S.flsync, S.flsyncd
tmp, check, one = S.tmp, S.check, pgsuite.harness.one


def token_file(tok):
    return S.h.token_file(tok, tok)


def equal(accounts, what):
    S.equal(accounts, what, want_rows=True)


def config(name, holder, accounts, api):
    os.makedirs(os.path.join(tmp, name), exist_ok=True)
    path = os.path.join(tmp, name + '.conf')
    with open(path, 'w') as f:
        f.write('[sink]\npostgres = %s\nholder = %s\nlease_stale = 5s\n' % (S.pg.conninfo, holder))
        for acct, tok in accounts:
            f.write('\n[account %s]\napi = %s\ntoken_file = %s\ndb = %s\n'
                    % (acct, api, token_file(tok), os.path.join(tmp, name, acct + '.db')))
    return path


def db(machine, acct):
    return os.path.join(tmp, machine, acct + '.db')


def flsyncd(conf, *extra, timeout=300):
    return subprocess.run([FLSYNCD, '--config', conf, '-v'] + list(extra), capture_output=True, timeout=timeout)


def run_tests():
    api = S.start_mock('--seed', '41', '--accounts', '4', '--scale', '3000')
    a = config('a', 'machine-a', [('a1', 'demo'), ('a2', 'demo-2'), ('a3', 'demo-3')], api)
    p = flsyncd(a, '--once')
    err = p.stderr.decode()
    check(p.returncode == 0, 'machine a: three accounts with a sink, --once: exit 0', err[-3000:])
    check('[a2] postgres: took the lease of a2 as machine-a' in err, 'each account takes its lease', err[-2000:])
    check('[a1] postgres: copied in full' in err, 'the first mirror copies in full', err[-2000:])
    equal([('a1', db('a', 'a1')), ('a2', db('a', 'a2')), ('a3', db('a', 'a3'))], 'after the first passes')
    check(S.pg.psql("SELECT count(*) FROM flsync.leases WHERE holder = 'machine-a'", csv_out=True) == [['0']],
          'a stopped daemon gives its leases up')

    S.mock_json(api, '/_mock/advance?seconds=3600', 'POST')
    p = flsyncd(a, '--once')
    check(p.returncode == 0, 'machine a again after an hour of activity', p.stderr.decode()[-2000:])
    equal([('a1', db('a', 'a1')), ('a2', db('a', 'a2')), ('a3', db('a', 'a3'))], 'after /_mock/advance')

    # Machine a as a daemon holds its leases; machine b shares a2 and has a4 of its own.
    log = open(os.path.join(tmp, 'a.err'), 'wb+')
    d = subprocess.Popen([FLSYNCD, '--config', a, '--interval', '3600', '-v'], stderr=log, stdout=subprocess.DEVNULL)
    S.procs.append(d)
    for _ in range(600):
        if open(log.name, 'rb').read().count(b'next pass in 3600 s') >= 3:
            break
        time.sleep(0.05)
    b = config('b', 'machine-b', [('a2', 'demo-2'), ('a4', 'demo-4')], api)
    p = flsyncd(b, '--once')
    err = p.stderr.decode()
    check(p.returncode == 5, 'machine b: an account leased elsewhere makes --once exit 5', (p.returncode, err[-2000:]))
    check('[a2] postgres: machine-a holds the lease of a2' in err and 'skipped' in err,
          'machine b says who holds a2 and skips it', err[-2000:])
    check(one(db('b', 'a4'), 'SELECT count(*) FROM projects') > 0, 'machine b syncs its other account')
    check(not os.path.exists(db('b', 'a2')) or one(db('b', 'a2'), 'SELECT count(*) FROM projects') == 0,
          'machine b never synced a2')
    s = subprocess.run([FLSYNC, 'status', '--all', '--config', b, '--json'], capture_output=True, timeout=60)
    st = {x['account']: x for x in json.loads(s.stdout)['accounts']}
    check(st.get('a2', {}).get('lease') == 'machine-a' and st.get('a4', {}).get('lease') == 'free',
          'flsync status --all shows the leases', s.stdout.decode())

    # The holder dies without giving its leases up: after 5 s they are stale.
    d.send_signal(signal.SIGKILL)
    d.wait(30)
    time.sleep(6)
    p = flsyncd(b, '--once')
    err = p.stderr.decode()
    check(p.returncode == 0, 'machine b after the holder died: exit 0', err[-2000:])
    check('over from machine-a' in err, 'machine b takes the stale lease over', err[-2000:])
    check(one(db('b', 'a2'), 'SELECT count(*) FROM projects') > 0, 'machine b syncs a2 now')
    equal([('a1', db('a', 'a1')), ('a2', db('b', 'a2')), ('a3', db('a', 'a3')), ('a4', db('b', 'a4'))],
          'after the takeover')


S.run(run_tests)
