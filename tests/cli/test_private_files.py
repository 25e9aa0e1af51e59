"""Private by default: under the usual umask 022, every file flsync makes is
its owner's alone — the database flsyncd creates and its -wal, -shm and
.lock files 0600, `flsync export`'s directory 0700 and its files 0600,
`flsync report`'s page 0600 — and `flsync status` warns about a database
group or others can read, naming the chmod that fixes it.

usage: test_private_files.py FLSYNC FLSYNCD FLMOCK
"""
import glob
import os
import stat
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402

FLSYNC, FLSYNCD, FLMOCK = sys.argv[1:4]
TOKEN = 'private'
ENV = dict(os.environ, FLSYNC_TOKEN=TOKEN)
h = harness.Run('private')
check, tmp = h.check, h.tmp


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def run(*args):
    return subprocess.run(list(args), capture_output=True, timeout=300, env=ENV)


def main():
    os.umask(0o022)
    api = h.start([FLMOCK, '--port', '0', '--seed', '81', '--token', TOKEN, '--scale', '300'], 'flmock')[1]
    db = os.path.join(tmp, 'flsync.db')
    # A daemon that keeps the file open, so its -wal and -shm are there to look at.
    err = open(os.path.join(tmp, 'flsyncd.err'), 'wb+')
    p = subprocess.Popen([FLSYNCD, '--db', db, '--api', api, '--interval', '3600', '-v'], stderr=err, env=ENV)
    h.procs.append(p)

    def pass_done():
        err.seek(0)
        return 'pass done' in err.read().decode(errors='replace')

    check(harness.wait_for(pass_done, 120), 'flsyncd synced')
    made = sorted(glob.glob(db + '*'))
    check({os.path.basename(f) for f in made} >= {'flsync.db', 'flsync.db-wal', 'flsync.db-shm', 'flsync.db.lock'},
          'the database, its WAL, shared memory and lock file are there', made)
    for f in made:
        check(mode(f) == 0o600, '%s is 0600 under umask 022' % os.path.basename(f), oct(mode(f)))
    p.terminate()
    p.wait(30)

    out = os.path.join(tmp, 'export')
    r = run(FLSYNC, 'export', '--all', '--format', 'csv', '--out', out, '--db', db)
    check(r.returncode == 0, 'flsync export', r.stderr.decode()[-2000:])
    check(mode(out) == 0o700, 'the export directory it made is 0700', oct(mode(out)))
    files = glob.glob(os.path.join(out, '*'))
    check(files and all(mode(f) == 0o600 for f in files), 'every exported file is 0600',
          [(f, oct(mode(f))) for f in files if mode(f) != 0o600])
    report = os.path.join(tmp, 'report.html')
    r = run(FLSYNC, 'report', '--out', report, '--db', db)
    check(r.returncode == 0 and mode(report) == 0o600, 'the report is 0600', (r.returncode, oct(mode(report))))

    # A database made open to others (by an older flsync, or by hand): status says so and how to fix it.
    r = run(FLSYNC, 'status', '--db', db)
    check(r.returncode == 0 and 'chmod' not in r.stderr.decode(), 'no warning about a private database',
          r.stderr.decode())
    os.chmod(db, 0o644)
    r = run(FLSYNC, 'status', '--db', db)
    e = r.stderr.decode()
    check(r.returncode == 0, 'status still runs', e)
    check('group or others can read' in e and ('chmod 600 ' + db) in e,
          'status warns about a 0644 database with the chmod that fixes it', e)
    j = run(FLSYNC, 'status', '--db', db, '--json')
    check(j.returncode == 0 and b'"private":false' in j.stdout, 'status --json says the file is not private',
          j.stdout[-500:])
    os.chmod(db, 0o600)


h.finish(main)
