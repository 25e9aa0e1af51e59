"""pgcluster.py — a private, throw-away PostgreSQL cluster for the pgsync
suite and benchmark: Debian's postgresql server binaries, initdb into a
temporary directory, listening on a Unix socket there only (no TCP port),
run as the postgres user when we are root (the server refuses root).
"""
import csv
import glob
import io
import json
import os
import pwd
import shutil
import sqlite3
import subprocess
import tempfile


def bindir():
    dirs = sorted(glob.glob('/usr/lib/postgresql/*/bin'), key=lambda d: int(d.split('/')[-2]))
    return dirs[-1] if dirs and os.path.exists(os.path.join(dirs[-1], 'initdb')) else None


class Cluster:
    def __init__(self, fsync=False):
        self.bin = bindir()
        if not self.bin:
            raise RuntimeError('no PostgreSQL server (Debian package postgresql)')
        self.dir = tempfile.mkdtemp(prefix='flpg.')
        self.data = os.path.join(self.dir, 'data')
        self.log = os.path.join(self.dir, 'server.log')
        self.as_user = []
        if os.geteuid() == 0:
            pw = pwd.getpwnam('postgres')
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            self.as_user = ['runuser', '-u', 'postgres', '--']
        os.chmod(self.dir, 0o755)
        self._run([os.path.join(self.bin, 'initdb'), '-D', self.data, '-U', 'flsync', '--auth=trust',
                   '-E', 'UTF8', '--locale=C.UTF-8'])
        opts = "-k %s -c listen_addresses='' -c max_connections=100" % self.dir
        if not fsync:
            opts += ' -c fsync=off -c synchronous_commit=off -c full_page_writes=off'
        self.opts = opts
        self.start()
        self.conninfo = 'host=%s dbname=postgres user=flsync' % self.dir

    def _run(self, cmd, check=True):
        p = subprocess.run(self.as_user + cmd, capture_output=True, timeout=120)
        if check and p.returncode != 0:
            raise RuntimeError('%s: %s%s' % (' '.join(cmd[:2]), p.stdout.decode()[-2000:], p.stderr.decode()[-2000:]))
        return p

    def start(self):
        self._run([os.path.join(self.bin, 'pg_ctl'), '-D', self.data, '-o', self.opts, '-l', self.log, '-w', 'start'])

    def stop(self, mode='fast'):
        self._run([os.path.join(self.bin, 'pg_ctl'), '-D', self.data, '-m', mode, '-w', 'stop'], check=False)

    def restart(self):
        self._run([os.path.join(self.bin, 'pg_ctl'), '-D', self.data, '-o', self.opts, '-l', self.log,
                   '-m', 'fast', '-w', 'restart'])

    def psql(self, sql, csv_out=False):
        """Run sql with psql; its output (rows as lists of strings with csv_out, None for NULL)."""
        cmd = [os.path.join(self.bin, 'psql'), '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', self.conninfo]
        if csv_out:
            # NULL as a marker no value can be, so it survives the CSV round trip.
            cmd += ['--csv', '-P', 'null=\x01NULL\x01', '-t']
        p = subprocess.run(cmd + ['-c', sql], capture_output=True, timeout=600)
        if p.returncode != 0:
            raise RuntimeError('psql: %s' % p.stderr.decode()[-2000:])
        if not csv_out:
            return p.stdout.decode()
        rows = list(csv.reader(io.StringIO(p.stdout.decode())))
        return [[None if v == '\x01NULL\x01' else v for v in r] for r in rows]

    def close(self):
        self.stop('immediate')
        shutil.rmtree(self.dir, ignore_errors=True)


# ---- comparing the mirror with the SQLite files ------------------------------

MIRRORED = ['currencies', 'job_categories', 'jobs', 'users', 'projects', 'project_jobs', 'bids', 'milestones',
            'milestone_requests', 'reviews', 'threads', 'thread_members', 'messages', 'actions', 'sync_state']


def columns(con, table):
    """The columns compared.  users.synced_at moves when a user is re-read unchanged, which is no
    change (migration 003), so the mirror holds the time of the row's last change there."""
    return [(r[1], (r[2] or 'TEXT').upper()) for r in con.execute('PRAGMA table_info(%s)' % table)
            if not (table == 'users' and r[1] == 'synced_at')]


def norm_sqlite(v):
    if isinstance(v, bytes):
        return ('b', v)
    if isinstance(v, float):
        return ('r', v)
    return v


def norm_pg(v, t):
    if v is None:
        return None
    if 'INT' in t:
        return int(v)
    if 'REAL' in t:
        return ('r', float(v))
    if 'BLOB' in t:
        return ('b', bytes.fromhex(v[2:]))
    return v


def pg_types(pg, table):
    """{column: PostgreSQL data_type} of the mirror's table."""
    return dict((r[0], r[1]) for r in pg.psql(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'flsync' "
        "AND table_name = '%s'" % table, csv_out=True))


def pg_select(col, pgtype):
    """The mirror's column as SQLite holds it: unix seconds, 0/1, JSON text (compared parsed)."""
    if pgtype == 'timestamp with time zone':
        return 'extract(epoch FROM "%s")::bigint' % col
    if pgtype == 'boolean':
        return '"%s"::int' % col
    return '"%s"' % col


def norm_json(v):
    try:
        return ('j', json.dumps(json.loads(v), sort_keys=True))
    except ValueError:
        return v


def mirror_rows(pg, accounts, table):
    """(want, got): table's rows in the accounts' SQLite files ((account, db) pairs), each led by its
    account, and in the mirror's flsync schema, normalised alike and sorted.  The mirror's typed
    columns (timestamptz, boolean, jsonb) are read back as SQLite has them; JSON compares parsed."""
    want, cols = [], None
    types = pg_types(pg, table)
    for account, db in accounts:
        con = sqlite3.connect(db)
        cols = columns(con, table)
        where = " WHERE stream NOT LIKE 'sink.%'" if table == 'sync_state' else ''
        for r in con.execute('SELECT %s FROM %s%s' % (', '.join('"%s"' % c for c, _ in cols), table, where)):
            want.append((account,) + tuple(norm_json(v) if types.get(c) == 'jsonb' and v is not None
                                           else norm_sqlite(v) for v, (c, _) in zip(r, cols)))
        con.close()
    got = [(r[0],) + tuple(norm_json(v) if types.get(c) == 'jsonb' and v is not None else norm_pg(v, t)
                           for v, (c, t) in zip(r[1:], cols))
           for r in pg.psql('SELECT account, %s FROM flsync.%s' % (', '.join(pg_select(c, types.get(c)) for c, _ in cols),
                                                                  table), csv_out=True)]
    want.sort(key=repr)
    got.sort(key=repr)
    return want, got
