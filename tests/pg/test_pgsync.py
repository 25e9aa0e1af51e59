#!/usr/bin/env python3
"""test_pgsync.py FLSYNC FLSYNCD FLMOCK — `flsync pgsync` into a real,
private PostgreSQL cluster (Debian's postgresql, initdb in a temporary
directory, Unix socket only):

- two accounts (two flmock worlds, two SQLite files) mirrored into one
  schema: every table equals the union of the SQLite files, row for row, by
  value; and again after /_mock/advance and another pass (new rows, updates,
  deleted-marks) and after rows are deleted in SQLite;
- kill -9 of pgsync at 24 random points, then a clean run: equal, no row
  doubled;
- PostgreSQL restarted in the middle of a run: the run fails naming it, the
  next one makes it equal;
- the feed is never pruned past the sink's position, and a feed pruned past
  it (by hand) is detected and copied in full, as is a file restored from a
  backup that went on;
- another file under an account already mirrored is refused unless taken
  over; the default account is the file's username; a non-UTF8 database is
  refused;
- the views answer in PostgreSQL, per account.

Exit 77 (skipped) without the PostgreSQL server binaries.
"""
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pgsuite  # noqa: E402

TABLES = pgsuite.pgcluster.MIRRORED
S = pgsuite.Suite('pgsync')
tmp, check, sync, pgsync, equal = S.tmp, S.check, S.sync, S.pgsync, S.equal
FLSYNC = S.flsync


def start_mock(seed, token):
    return S.start_mock('--seed', str(seed), '--token', token, '--scale', '4000')


def sink_seq(account):
    rows = S.pg.psql("SELECT seq FROM flsync.sink_position WHERE account = '%s'" % account, csv_out=True)
    return int(rows[0][0]) if rows else None


def copy_db(src_path, dst_path):
    """dst_path becomes a copy of src_path (SQLite's online backup)."""
    src, dst = sqlite3.connect(src_path), sqlite3.connect(dst_path)
    src.backup(dst)
    dst.close()
    src.close()


def churn(db, k):
    """Many changes at once in SQLite, as a sync pass would make: updates, a deletion."""
    con = sqlite3.connect(db)
    con.execute('UPDATE bids SET amount = amount + 0.25, raw = raw || \' \' WHERE id %% 3 = %d' % (k % 3))
    con.execute('UPDATE messages SET message = message || ?, raw = raw || \' \' WHERE id %% 5 = %d' % (k % 5),
                (' edit %d\t"\\\n' % k,))
    con.execute('DELETE FROM milestones WHERE id IN (SELECT id FROM milestones ORDER BY id LIMIT 1)')
    con.commit()
    con.close()


def run_tests():
    a_db, b_db = os.path.join(tmp, 'agency-a.db'), os.path.join(tmp, 'agency-b.db')
    a_api, b_api = start_mock(31, 'tok-a'), start_mock(32, 'tok-b')
    sync(a_db, a_api, 'tok-a')
    sync(b_db, b_api, 'tok-b')
    accounts = [('agency-a', a_db), ('agency-b', b_db)]

    out = pgsync(a_db, 'agency-a')
    check('copied everything' in out, 'the first run copies everything', out)
    pgsync(b_db, 'agency-b')
    equal(accounts, 'first runs')
    out = pgsync(a_db, 'agency-a')
    check('up to date' in out, 'a run with nothing new says so', out)

    # The world moves on: new rows, updates, deleted-marks; another pass; the mirror follows.
    for api in (a_api, b_api):
        S.mock_json(api, '/_mock/advance?seconds=259200', 'POST')
    sync(a_db, a_api, 'tok-a')
    sync(b_db, b_api, 'tok-b')
    con = sqlite3.connect(a_db)
    con.execute('DELETE FROM messages WHERE id IN (SELECT id FROM messages ORDER BY id LIMIT 4)')
    con.execute("DELETE FROM reviews WHERE rowid IN (SELECT rowid FROM reviews LIMIT 1)")
    con.commit()
    con.close()
    out = pgsync(a_db, 'agency-a')
    check('changes ' in out and 'deleted' in out, 'a later run sends the changes', out)
    pgsync(b_db, 'agency-b')
    equal(accounts, 'after a pass and deletions')

    # The feed is not pruned past the sink.
    con = sqlite3.connect(a_db)
    cursor = con.execute("SELECT cursor FROM sync_state WHERE stream = 'sink.postgres.flsync'").fetchone()
    con.close()
    check(cursor and cursor[0] == sink_seq('agency-a'), 'the database records what the sink has',
          (cursor, sink_seq('agency-a')))

    # kill -9 at random points of runs that have much to send.
    random.seed(5)
    churn(a_db, 0)
    t0 = time.time()
    pgsync(a_db, 'agency-a', what='a timed run')
    full = max(time.time() - t0, 0.05)
    kills = 0
    for k in range(1, 25):
        churn(a_db, k)
        p = subprocess.Popen([FLSYNC, 'pgsync', '--db', a_db, '--pg', S.pg.conninfo, '--account', 'agency-a'],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(random.uniform(0, full * 1.2))
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
            kills += 1
        p.wait()
    check(kills >= 12, 'most runs were killed in flight', kills)
    pgsync(a_db, 'agency-a', what='the run after the kills')
    equal(accounts, 'after %d kills' % kills)
    dups = S.pg.psql('SELECT count(*) - count(DISTINCT (account, id)) FROM flsync.bids', csv_out=True)
    check(dups == [['0']], 'no row doubled', dups)

    # PostgreSQL restarts in the middle of a run.
    churn(a_db, 99)
    p = subprocess.Popen([FLSYNC, 'pgsync', '--db', a_db, '--pg', S.pg.conninfo, '--account', 'agency-a'],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(full * 0.3)
    S.pg.restart()
    out, err = p.communicate(timeout=120)
    if p.returncode != 0:
        check('PostgreSQL' in err.decode() or 'server' in err.decode() or 'connection' in err.decode(),
              'a run cut by a restart names the cause', err.decode()[-1000:])
    pgsync(a_db, 'agency-a', what='the run after the restart')
    equal(accounts, 'after a restart')

    # A feed pruned past the sink by hand (not through fl_changes_prune) is detected: a full copy.
    churn(a_db, 7)
    con = sqlite3.connect(a_db)
    con.execute('DELETE FROM changes WHERE seq < (SELECT max(seq) FROM changes)')
    con.commit()
    con.close()
    out = pgsync(a_db, 'agency-a', what='the run after a prune')
    check('copied everything' in out, 'a feed pruned past the sink is copied in full', out)
    equal(accounts, 'after a prune')

    # A file restored from a backup that then went on: its seqs are not the mirrored ones.
    backup = os.path.join(tmp, 'backup.db')
    copy_db(b_db, backup)
    churn(b_db, 1)
    pgsync(b_db, 'agency-b', what='a run before the restore')
    copy_db(backup, b_db)
    churn(b_db, 2)
    churn(b_db, 3)
    out = pgsync(b_db, 'agency-b', what='the run after a restore')
    check('copied everything' in out, 'a file restored from a backup is copied in full', out)
    equal(accounts, 'after a restore from a backup')

    # Another file under an account already mirrored: refused, unless taken over.
    pgsync(a_db, 'shared', what='a mirror under a shared name')
    out = pgsync(b_db, 'shared', code=1, what='another file under that name')
    check('another database file' in out and '--take-over' in out, 'another file under the account is refused', out)
    p = subprocess.run([FLSYNC, 'pgsync', '--db', b_db, '--pg', S.pg.conninfo, '--account', 'shared', '--take-over'],
                       capture_output=True, timeout=600)
    check(p.returncode == 0 and b'copied everything' in p.stdout, 'a take-over copies that file in full',
          p.stdout.decode() + p.stderr.decode()[-1000:])
    equal(accounts + [('shared', b_db)], 'after a take-over')

    # Without --account, the account is the username the file knows.
    con = sqlite3.connect(a_db)
    me = con.execute('SELECT username FROM users WHERE is_self = 1').fetchone()[0]
    con.close()
    p = subprocess.run([FLSYNC, 'pgsync', '--db', a_db, '--pg', S.pg.conninfo], capture_output=True, timeout=600)
    check(p.returncode == 0 and ('pgsync: %s:' % me).encode() in p.stdout, 'the default account is the username',
          p.stdout.decode() + p.stderr.decode()[-500:])
    S.pg.psql("DELETE FROM flsync.sink_position WHERE account = '%s'" % me)
    for t in TABLES:
        S.pg.psql("DELETE FROM flsync.%s WHERE account = '%s'" % (t, me))

    # The views, per account, as in SQLite.
    for account, db in accounts:
        con = sqlite3.connect(db)
        for view in ('my_active_bids', 'open_projects_with_bids', 'unread_threads', 'milestone_balances',
                     'report_bids_monthly', 'report_reviews_monthly', 'report_response_monthly'):
            want = con.execute('SELECT count(*) FROM %s' % view).fetchone()[0]
            got = S.pg.psql("SELECT count(*) FROM flsync.%s WHERE account = '%s'" % (view, account), csv_out=True)
            check(got == [[str(want)]], '%s: view %s has the same rows' % (account, view), (got, want))
        con.close()
    won = S.pg.psql("SELECT sum(won) FROM flsync.report_bids_monthly WHERE account = 'agency-a'", csv_out=True)
    con = sqlite3.connect(a_db)
    check(won == [[str(con.execute('SELECT sum(won) FROM report_bids_monthly').fetchone()[0])]],
          'report_bids_monthly agrees', won)
    con.close()

    # A database in another encoding would change text: refused.
    S.pg.psql("CREATE DATABASE latin ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0")
    latin = S.pg.conninfo.replace('dbname=postgres', 'dbname=latin')
    p = subprocess.run([FLSYNC, 'pgsync', '--db', a_db, '--pg', latin],
                       capture_output=True, timeout=60)
    check(p.returncode == 1 and b'UTF8' in p.stderr, 'a LATIN1 database is refused, naming the encoding',
          p.stderr.decode()[-500:])

    # Bad input: no server there, a bad conninfo.
    p = subprocess.run([FLSYNC, 'pgsync', '--db', a_db, '--pg', 'host=%s/nowhere dbname=x' % tmp],
                       capture_output=True, timeout=60)
    check(p.returncode == 1 and b'cannot connect to PostgreSQL' in p.stderr, 'no server: exit 1 naming it',
          p.stderr.decode()[-500:])
    p = subprocess.run([FLSYNC, 'pgsync', '--db', a_db], capture_output=True, timeout=60)
    check(p.returncode == 2, 'no --pg: usage error', p.stderr.decode()[-500:])


S.run(run_tests)
