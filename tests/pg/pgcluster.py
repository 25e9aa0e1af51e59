"""pgcluster.py — a private, throw-away PostgreSQL cluster for the pgsync
suite and benchmark: Debian's postgresql server binaries, initdb into a
temporary directory, listening on a Unix socket there only (no TCP port),
run as the postgres user when we are root (the server refuses root).
"""
import csv
import glob
import io
import os
import pwd
import shutil
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
