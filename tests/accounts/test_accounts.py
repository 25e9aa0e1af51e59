"""One flsyncd for several accounts ([account NAME] sections): each
account's database equals a sync of that account alone; at most
max_parallel passes run at once; --account runs one; an account whose API
is down or whose token is refused never holds up the others; SIGUSR1 and
SIGTERM reach every account; flsync status --all shows one line each.

usage: test_accounts.py FLSYNCD FLSYNC FLMOCK
"""
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
from harness import mock_faults as fault, mock_get  # noqa: E402

FLSYNCD, FLSYNC, FLMOCK = sys.argv[1:4]
h = harness.Run('accounts')
check, tmp, procs = h.check, h.tmp, h.procs
TABLES = ('projects', 'bids', 'milestones', 'milestone_requests', 'reviews', 'threads', 'messages', 'users')


def flmock(seed, token, *extra):
    return h.start([FLMOCK, '--port', '0', '--seed', str(seed), '--token', token, '--scale', '30000'] + list(extra),
                   'flmock-%d' % seed)[1]


def token_file(name, token):
    return h.token_file(name, token)


def snapshot(db):
    """Every row of the synced tables, by value (but for when it was stored)."""
    return harness.rows(db, TABLES)


def run(args, env=None, timeout=300):
    return subprocess.run([FLSYNCD] + args, capture_output=True, timeout=timeout,
                          env=dict(os.environ, **(env or {})))


def write_config(name, accounts, extra=''):
    path = os.path.join(tmp, name + '.conf')
    with open(path, 'w') as f:
        f.write(extra)
        for acct, api, tok in accounts:
            f.write('\n[account %s]\napi = %s\ntoken_file = %s\ndb = %s\n'
                    % (acct, api, tok, os.path.join(tmp, name, acct + '.db')))
    os.makedirs(os.path.join(tmp, name), exist_ok=True)
    return path


def db_of(conf, acct):
    return os.path.join(tmp, conf, acct + '.db')


def concurrency(log, names):
    """The most passes that ran at once, from -v lines ("[a] pass 1 started", "[a] pass done")."""
    running, most = set(), 0
    for line in log.splitlines():
        m = re.search(r'flsyncd: \[([^\]]+)\] (pass \d+ started|pass (done|failed|stopped))', line)
        if not m:
            continue
        if 'started' in m.group(2):
            running.add(m.group(1))
        else:
            running.discard(m.group(1))
        most = max(most, len(running))
    return most


def main():
    apis = {name: flmock(seed, 'tok-' + name) for name, seed in (('alpha', 31), ('beta', 32), ('gamma', 33))}
    toks = {name: token_file(name, 'tok-' + name) for name in apis}

    # Each account alone, the reference.
    ref = {}
    for name in apis:
        db = os.path.join(tmp, 'ref-%s.db' % name)
        p = run(['--db', db, '--api', apis[name], '--once'], env={'FLSYNC_TOKEN': 'tok-' + name})
        check(p.returncode == 0, 'reference sync of %s' % name, p.stderr.decode()[-1500:])
        ref[name] = snapshot(db)

    # All three in one flsyncd, two at a time.  Each pass's GET self takes a second, so
    # passes last longer than the 50 ms stagger between their starts, however fast
    # the machine: they overlap unless the cap stops them.
    for api in apis.values():
        fault(api, 'stall=1,stall_ms=1000,path=/api/users/0.1/self/')
    conf = write_config('three', [(n, apis[n], toks[n]) for n in ('alpha', 'beta', 'gamma')],
                        '[limits]\nmax_parallel = 2\n')
    p = run(['--config', conf, '--once', '-v'])
    log = p.stderr.decode()
    check(p.returncode == 0, 'three accounts, --once: exit 0', log[-3000:])
    for name in apis:
        check(snapshot(db_of('three', name)) == ref[name], '%s equals its sync alone' % name)
        check('[%s] pass 1 started' % name in log, '%s logs under its name' % name)
    for api in apis.values():
        fault(api, '')
    most = concurrency(log, apis)
    check(most == 2, 'two passes at once, never more (max_parallel=2)', most)
    print('observed at most %d passes at once (max_parallel 2)' % most)

    # --account runs just that one.
    conf1 = write_config('one', [(n, apis[n], toks[n]) for n in ('alpha', 'beta')])
    p = run(['--config', conf1, '--account', 'beta', '--once'])
    check(p.returncode == 0, '--account beta: exit 0', p.stderr.decode()[-1500:])
    check(os.path.exists(db_of('one', 'beta')) and not os.path.exists(db_of('one', 'alpha')),
          '--account beta syncs beta alone')
    p = run(['--config', conf1, '--account', 'nobody', '--once'])
    check(p.returncode == 2 and b'no [account nobody]' in p.stderr, 'an unknown --account: exit 2', p.stderr)

    # A dead API and a refused token hold up nobody.
    dead = 'http://127.0.0.1:9'
    bad_tok = token_file('refused', 'not-a-token')
    conf2 = write_config('mixed', [('alpha', apis['alpha'], toks['alpha']), ('down', dead, toks['beta']),
                                   ('refused', apis['gamma'], bad_tok), ('gamma', apis['gamma'], toks['gamma'])])
    p = run(['--config', conf2, '--once'])
    err = p.stderr.decode()
    check(p.returncode == 1, 'dead API first among failures: exit 1', (p.returncode, err[-2000:]))
    check(snapshot(db_of('mixed', 'alpha')) == ref['alpha'] and snapshot(db_of('mixed', 'gamma')) == ref['gamma'],
          'alpha and gamma sync fully beside a dead API and a refused token')
    check('[refused]' in err and 'refused' in err, 'the refused account says so under its name', err[-2000:])

    # flsync status --all: one line per account.
    s = subprocess.run([FLSYNC, 'status', '--all', '--config', conf2], capture_output=True, timeout=60)
    out = s.stdout.decode()
    check(s.returncode == 0 and len(out.strip().splitlines()) == 5, 'status --all: a header and 4 lines', out)
    lines = {l.split()[0]: l for l in out.splitlines()[1:] if l.strip()}
    check(' ok ' in lines.get('alpha', '') and ' ok ' in lines.get('gamma', ''), 'synced accounts are ok', out)
    # A token refused on the first run leaves no empty database (issue 21): never synced.
    check('never synced' in lines.get('refused', '') and not os.path.exists(db_of('mixed', 'refused')),
          'the refused token leaves the account never synced, without a database', out)
    check('never synced' in lines.get('down', ''), 'the dead API has never synced', out)
    s = subprocess.run([FLSYNC, 'status', '--all', '--config', conf2, '--json'], capture_output=True, timeout=60)
    j = json.loads(s.stdout)
    check([a['account'] for a in j['accounts']] == ['alpha', 'down', 'refused', 'gamma'] and
          j['accounts'][0]['rows'] > 0, 'status --all --json lists the accounts in order', j)

    # As a daemon: the refused account stops, the others go on; SIGUSR1 starts them again.
    errlog = open(os.path.join(tmp, 'daemon.err'), 'wb+')
    d = subprocess.Popen([FLSYNCD, '--config', conf2, '--interval', '3600', '-v'], stderr=errlog,
                         stdout=subprocess.DEVNULL)
    procs.append(d)

    def log_has(*needles, timeout=60):
        end = time.time() + timeout
        while time.time() < end:
            text = open(errlog.name, 'rb').read().decode()
            if all(n in text for n in needles):
                return True
            time.sleep(0.05)
        return False

    check(log_has('[alpha] next pass in 3600 s', '[gamma] next pass in 3600 s',
                  '[refused] this account stops syncing'), 'as a daemon, good accounts wait their interval',
          open(errlog.name, 'rb').read().decode()[-3000:])
    check(log_has('[down] next pass in 30 s'), 'the dead API backs off, not a whole interval')
    s = subprocess.run([FLSYNC, 'status', '--all', '--config', conf2], capture_output=True, timeout=60)
    check(('pid %d' % d.pid) in s.stdout.decode(), 'status --all names the flsyncd syncing them', s.stdout)
    d.send_signal(signal.SIGUSR1)
    check(log_has('[alpha] pass 2 started', '[gamma] pass 2 started'), 'SIGUSR1 starts every account again',
          open(errlog.name, 'rb').read().decode()[-3000:])
    check(not log_has('[refused] pass', timeout=0.5), 'a stopped account stays stopped')
    d.send_signal(signal.SIGTERM)
    check(d.wait(60) == 0, 'SIGTERM stops them all: exit 0', d.returncode)
    check('stopping on signal' in open(errlog.name, 'rb').read().decode(), 'says it stops')

    # Fifty accounts of one flmock world, four at a time: all complete, none over its limits.
    _, api50 = h.start([FLMOCK, '--port', '0', '--seed', '44', '--accounts', '50', '--scale', '400',
                        '--token', 'fifty'], 'flmock-50')
    names = ['acct%02d' % k for k in range(1, 51)]
    conf50 = write_config('fifty', [(n, api50, token_file(n, 'fifty' if k == 1 else 'fifty-%d' % k))
                                    for k, n in enumerate(names, 1)], '[limits]\nmax_parallel = 4\n')
    fault(api50, 'stall=1,stall_ms=400,path=/api/users/0.1/self/')  # passes outlast the stagger
    t0 = time.monotonic()
    p = run(['--config', conf50, '--once', '-v'], timeout=600)
    log = p.stderr.decode()
    check(p.returncode == 0, '50 accounts, max_parallel 4: exit 0', log[-3000:])
    done = sum(1 for n in names if ('[%s] pass done' % n) in log)
    check(done == 50, 'all 50 accounts complete their pass', done)
    check(all(sqlite3.connect(db_of('fifty', n)).execute('SELECT count(*) FROM projects').fetchone()[0] > 0
              for n in names), 'each of the 50 has its own projects')
    most = concurrency(log, names)
    check(most == 4, 'four at a time, never more', most)
    per = mock_get(api50, '/_mock/stats').get('accounts', {})
    check(len(per) == 50 and all(v.get('rate_limited', 1) == 0 and v.get('requests', 0) > 0 for v in per.values()),
          "flmock's stats: every account made requests, none went over its rate limits", per)
    print('50 accounts: %.1f s, at most %d passes at once' % (time.monotonic() - t0, most))

    # A config mistake in an account is FILE:LINE, exit 2.
    badconf = os.path.join(tmp, 'bad.conf')
    with open(badconf, 'w') as f:
        f.write('[account alpha]\napi = %s\ntoken_file = %s\nsync.page_limit = 500\n' % (apis['alpha'], toks['alpha']))
    p = run(['--config', badconf, '--once'])
    check(p.returncode == 2 and ('%s:4:' % badconf).encode() in p.stderr and b'page_limit' in p.stderr,
          'a bad account setting: FILE:LINE and exit 2', p.stderr)
    with open(badconf, 'w') as f:
        f.write('[account bad/name]\n')
    p = run(['--config', badconf, '--once'])
    check(p.returncode == 2 and b'account name' in p.stderr, 'a bad account name: exit 2', p.stderr)


h.finish(main)
