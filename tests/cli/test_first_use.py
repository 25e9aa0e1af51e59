#!/usr/bin/env python3
"""test_first_use.py FLSYNC FLSYNCD CLI_FIXTURE — what a person meets first,
before any data: signing in without an app, opening the UI in the browser,
and the manual pages against the programs.

- `flsync auth login` without --client-id says where a client id comes from
  (the developer portal, the sandbox's for the sandbox API) and how a
  personal access token is used instead (flsync auth token);
- `flsync ui --open` hands its own URL to xdg-open (a fake one on PATH), and
  says so when xdg-open fails, serving on;
- the README in the order a person needs it (install, sign in to the real
  API, first sync, everyday commands, then the demo and the tests, still
  the two commands), saying where credentials come from, and no file of
  the project pointing outside it;
- flsync(1) and flsyncd(8): every command of `flsync --help` in the
  synopsis, every flag a --help names documented, every flag documented
  real, every page referred to (SEE ALSO, the systemd unit) one of ours or
  one a Debian package the install uses ships.
"""
import os
import re
import signal
import stat
import subprocess
import sys
import tempfile
import time

FLSYNC, FLSYNCD, FIXTURE = sys.argv[1:4]
SRC = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
FIXTURE_SQL = os.environ.get('FL_CLI_FIXTURE_SQL') or os.path.join(SRC, 'tests', 'cli', 'fixture.sql')
tmp = tempfile.mkdtemp(prefix='flfirst.')
failures = []
checks = 0

# Pages of other packages the man pages and the unit may name: page -> Debian package.
FOREIGN_PAGES = {'sqlite3(1)': 'sqlite3', 'systemd.service(5)': 'systemd'}


def check(cond, what, detail=''):
    global checks
    checks += 1
    if not cond:
        failures.append(what)
        print('FAIL: %s%s' % (what, ('\n  ' + str(detail).replace('\n', '\n  ')) if detail else ''), flush=True)


def run(*args, env=None, stdin=None):
    e = dict(os.environ)
    e.pop('FLSYNC_DB', None)
    e.update(env or {})
    p = subprocess.run(list(args), capture_output=True, env=e, cwd=tmp, timeout=60,
                       stdin=stdin if stdin is not None else subprocess.DEVNULL)
    return p.returncode, p.stdout.decode(errors='replace'), p.stderr.decode(errors='replace')


def login_without_client_id():
    tf = os.path.join(tmp, 'token.json')
    code, out, err = run(FLSYNC, 'auth', 'login', '--token-file', tf)
    check(code == 2, 'auth login without --client-id: exit 2', (code, err))
    check('https://accounts.freelancer.com/settings/develop' in err,
          'it names the developer portal where an app (and its client id) is registered', err)
    check('flsync auth token --token-file ' + tf in err, 'it says how a personal access token is used instead', err)
    check(not os.path.exists(tf), 'nothing is written')
    code, out, err = run(FLSYNC, 'auth', 'login')
    check(code == 2 and 'settings/develop' in err, 'the same with no flags at all', (code, err))
    code, out, err = run(FLSYNC, 'auth', 'login', '--token-file', tf, '--api', 'https://www.freelancer-sandbox.com')
    check('https://accounts.freelancer-sandbox.com/settings/develop' in err
          and '--api https://www.freelancer-sandbox.com' in err, 'for the sandbox API, the sandbox portal', err)
    code, out, err = run(FLSYNC, 'auth', '--help')
    check(code == 0 and 'settings/develop' in out, 'auth --help says where client ids come from', out)


def ui_open():
    db = os.path.join(tmp, 'ui.db')
    r = subprocess.run([FIXTURE, db, FIXTURE_SQL], capture_output=True)
    check(r.returncode == 0, 'the fixture database is made', r.stderr.decode())
    bindir = os.path.join(tmp, 'bin')
    os.makedirs(bindir, exist_ok=True)
    fake = os.path.join(bindir, 'xdg-open')
    got = os.path.join(tmp, 'xdg-open.args')
    with open(fake, 'w') as f:
        f.write('#!/bin/sh\nprintf "%%s\\n" "$@" > %s.tmp && mv %s.tmp %s\n'
                'echo "a browser says something on stdout"\nexit ${FAKE_XDG_EXIT:-0}\n' % (got, got, got))
    os.chmod(fake, stat.S_IRWXU)

    def serve(exit_code):
        if os.path.exists(got):
            os.unlink(got)
        env = dict(os.environ, PATH=bindir + ':' + os.environ.get('PATH', ''), FAKE_XDG_EXIT=str(exit_code))
        env.pop('FLSYNC_DB', None)
        out = open(os.path.join(tmp, 'ui%d.out' % exit_code), 'wb+')
        err = open(os.path.join(tmp, 'ui%d.err' % exit_code), 'wb+')
        p = subprocess.Popen([FLSYNC, 'ui', '--db', db, '--listen', '127.0.0.1:0', '--open'],
                             stdout=out, stderr=err, env=env, cwd=tmp)
        try:
            for _ in range(400):
                if os.path.exists(got) and (exit_code == 0 or b'xdg-open' in open(err.name, 'rb').read()):
                    break
                if p.poll() is not None:
                    break
                time.sleep(0.05)
            time.sleep(0.1)
            alive = p.poll() is None
        finally:
            p.send_signal(signal.SIGTERM)
            p.wait(30)
        out.seek(0)
        err.seek(0)
        return alive, out.read().decode(), err.read().decode()

    alive, out, err = serve(0)
    lines = out.splitlines()
    url = lines[0][len('listening on '):] if lines and lines[0].startswith('listening on ') else None
    check(url and '/?token=' in url, 'ui --open still prints the URL first', out)
    opened = open(got).read().split('\n')[0] if os.path.exists(got) else None
    check(opened == url, 'ui --open runs xdg-open with the URL', (opened, url))
    check(len(lines) == 1, "xdg-open's own output stays off stdout (the URL line is the only one)", out)
    check(alive, 'the UI serves on after xdg-open', err)
    alive, out, err = serve(3)
    check(alive and 'xdg-open could not open a browser' in err, 'a failing xdg-open is said, and the UI serves on',
          err)
    code, out, err = run(FLSYNC, 'ui', '--help')
    check(code == 0 and '--open' in out, 'ui --help names --open', out)


def flags(text):
    return set(re.findall(r'(?<![\w-])--[a-z][a-z-]*[a-z]', text))


def man_flags(path):
    text = open(path).read()
    text = '\n'.join(l for l in text.splitlines() if not re.match(r'(systemctl|journalctl) ', l))
    return flags(text.replace('\\-', '-').replace('\\fR', ' ').replace('\\fB', ' ').replace('\\fI', ' '))


def man_pages():
    man1 = os.path.join(SRC, 'man', 'flsync.1')
    man8 = os.path.join(SRC, 'man', 'flsyncd.8')
    page = open(man1).read()
    synopsis = page.split('.SH SYNOPSIS', 1)[1].split('.SH ', 1)[0]
    code, top, _ = run(FLSYNC, '--help')
    commands = re.findall(r'^  ([a-z]+)  ', top.split('Commands:', 1)[1].split('\n\n', 1)[0], re.M)
    check(len(commands) >= 10, 'flsync --help lists its commands', top)
    helped = flags(top)
    for c in commands:
        check(re.search(r'^\.B flsync %s\b' % c, synopsis, re.M), 'flsync(1) synopsis has flsync %s' % c)
        check('.SS %s\n' % c in page, 'flsync(1) has a section on %s' % c)
        code, out, err = run(FLSYNC, c, '--help')
        check(code == 0, 'flsync %s --help: exit 0' % c, err)
        helped |= flags(out)
        missing = flags(out) - man_flags(man1)
        check(not missing, 'flsync(1) documents every flag of flsync %s --help' % c, sorted(missing))
    unreal = man_flags(man1) - helped
    check(not unreal, 'every flag flsync(1) documents is one a --help names', sorted(unreal))
    code, out, err = run(FLSYNCD, '--help')
    dflags = flags(out + err)
    check(not dflags - man_flags(man8), 'flsyncd(8) documents every flag of flsyncd --help',
          sorted(dflags - man_flags(man8)))
    check(not man_flags(man8) - dflags, 'every flag flsyncd(8) documents is real', sorted(man_flags(man8) - dflags))

    ours = {'flsync(1)', 'flsyncd(8)'}
    refs = []
    for path in (man1, man8):
        refs += ['%s(%s)' % m for m in re.findall(r'^\.BR ([\w.\\-]+) \((\d)\)', open(path).read(), re.M)]
    unit = open(os.path.join(SRC, 'dist', 'flsyncd.service')).read()
    refs += re.findall(r'man:([\w.-]+\(\d\))', unit)
    check(refs, 'the pages refer to others')
    deps = open(os.path.join(SRC, 'scripts', 'deps.sh')).read()
    for r in sorted(set(x.replace('\\-', '-') for x in refs)):
        known = r in ours or r in FOREIGN_PAGES
        check(known, 'the page %s referred to is ours or a known package\'s' % r)
        if r in FOREIGN_PAGES and FOREIGN_PAGES[r] != 'systemd':
            check(re.search(r'\b%s\b' % re.escape(FOREIGN_PAGES[r]), deps),
                  '%s comes with %s, which scripts/deps.sh installs' % (r, FOREIGN_PAGES[r]))


def readme():
    text = open(os.path.join(SRC, 'README.md')).read()
    heads = [l for l in text.splitlines() if l.startswith('## ')]
    want = ['## Install', '## Sign in to the Freelancer API', '## First sync', '## Everyday commands',
            '## The demo and the tests']
    at = [next((i for i, h in enumerate(heads) if h.startswith(w)), -1) for w in want]
    check(-1 not in at and at == sorted(at), 'the README goes install, sign in, first sync, everyday, demo and tests',
          heads)
    for s in ('sudo meson install -C build', 'systemctl --user enable --now flsyncd.service',
              'https://accounts.freelancer.com/settings/develop', 'flsync auth token --token-file',
              'https://www.freelancer-sandbox.com', 'Check these on the portal yourself', 'docs/internals/'):
        check(s in text, 'the README says ' + s)
    blocks = re.findall(r'^    bash scripts/\w+$', text, re.M)
    check(blocks == ['    bash scripts/demo', '    bash scripts/test'], 'the demo and the tests are still two commands',
          blocks)
    for path in ('README.md', 'man/flsync.1', 'man/flsyncd.8', 'dist/flsyncd.service'):
        check('../shared' not in open(os.path.join(SRC, path)).read(), '%s points nowhere outside the project' % path)


login_without_client_id()
ui_open()
readme()
man_pages()
print('%d checks, %d failed' % (checks, len(failures)))
if failures:
    print('failed:\n  ' + '\n  '.join(failures))
sys.exit(1 if failures else 0)
