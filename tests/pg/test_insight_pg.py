#!/usr/bin/env python3
"""test_insight_pg.py FLSYNC FLSYNCD FLMOCK — the insight_* views of the
PostgreSQL mirror against each account's SQLite file, on three accounts of
one flmock world (--accounts 3, tokens demo, demo-2, demo-3):

- accounts 2 and 3 bid (through flmock's API, as the accounts themselves)
  on active projects account 1 bid on, and account 3 on one of account 2's,
  so that the team has contested projects; each account is synced into its
  own file and mirrored with `flsync pgsync --account NAME`;
- insight_bids, insight_win_rate, insight_clients, insight_cashflow_monthly
  and insight_response_monthly in PostgreSQL, per account, equal the SQLite
  views row for row (times compared as unix seconds, flags as 0/1, money
  within a cent, rates within 1e-9);
- insight_accounts equals what the files' insight_bids and cleared
  milestones say, all told and over 30 and 365 days; insight_contested
  holds exactly the projects two or more accounts bid on (computed here);
- the mirror is typed (timestamptz, boolean, jsonb: raw->>'title' works);
  a mirror made before the typing (its columns turned back to bigint and
  text, its views dropped) is converted by the next pgsync and equals the
  files again.

Exit 77 (skipped) without the PostgreSQL server binaries.
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
H = harness.Run('insight-pg')
check = H.check
TOKENS = ['demo', 'demo-2', 'demo-3']
NAMES = ['acct-1', 'acct-2', 'acct-3']
# view: the columns that make a row's key
VIEWS = {
    'insight_bids': ('bid_id',),
    'insight_win_rate': ('dimension', 'bucket'),
    'insight_clients': ('client_id',),
    'insight_cashflow_monthly': ('month',),
    'insight_response_monthly': ('month',),
}
SKIP = {'placed_on'}  # the local date: SQLite's localtime and the server's TimeZone may differ


def sync(db, api, token):
    p = subprocess.run([FLSYNCD, '--db', db, '--api', api, '--once'], capture_output=True, timeout=300,
                       env=dict(os.environ, FLSYNC_TOKEN=token))
    check(p.returncode == 0, 'flsyncd --once (%s)' % token, p.stderr.decode()[-1500:])


def pgsync(db, name):
    p = subprocess.run([FLSYNC, 'pgsync', '--db', db, '--pg', PG.conninfo, '--account', name],
                       capture_output=True, timeout=600)
    check(p.returncode == 0, 'pgsync %s' % name, p.stderr.decode()[-1500:])


def bid(api, token, project_id, bidder, amount):
    body = json.dumps({'project_id': project_id, 'bidder_id': bidder, 'amount': amount, 'period': 5,
                       'milestone_percentage': 50,
                       'description': 'We can deliver this within the week, tested and documented, as agreed.'})
    req = urllib.request.Request(api + '/api/projects/0.1/bids/', data=body.encode(), method='POST',
                                 headers={'Freelancer-OAuth-V1': token, 'Content-Type': 'application/json'})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())['status'] == 'success'
    except urllib.error.HTTPError as e:
        print('bid on %d as %s: %s' % (project_id, token, e.read()[:300]))
        return False


def sqlite_rows(db, sql):
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    rows = [dict(r) for r in con.execute(sql)]
    con.close()
    return rows


def pg_rows(view, account):
    """The view's rows of account, typed columns read back as SQLite has them."""
    types = dict((r[0], r[1]) for r in PG.psql(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'flsync' "
        "AND table_name = '%s' ORDER BY ordinal_position" % view, csv_out=True))
    cols = [c for c in types if c != 'account']
    sel = ', '.join(pgcluster.pg_select(c, types[c]) for c in cols)
    out = []
    for r in PG.psql("SELECT %s FROM flsync.%s WHERE account = '%s'" % (sel, view, account), csv_out=True):
        row = {}
        for c, v in zip(cols, r):
            t = types[c]
            if v is None:
                row[c] = None
            elif t in ('bigint', 'integer', 'boolean', 'timestamp with time zone'):
                row[c] = int(v)
            elif t in ('double precision', 'numeric'):
                row[c] = float(v)
            else:
                row[c] = v
        out.append(row)
    return out


def same_value(a, b, col):
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        tol = 0.005 if col.endswith('_usd') or col == 'avg_rating' else 1e-9 * max(1, abs(a))
        return abs(a - b) <= tol
    return str(a) == str(b)


def compare_view(view, name, db):
    key = VIEWS[view]
    want = {tuple(r[k] for k in key): r for r in sqlite_rows(db, 'SELECT * FROM %s' % view)}
    got = {tuple(r[k] for k in key): r for r in pg_rows(view, name)}
    check(set(want) == set(got), '%s %s: the same rows (%d)' % (name, view, len(want)),
          (sorted(set(want) - set(got))[:5], sorted(set(got) - set(want))[:5]))
    bad = []
    for k in set(want) & set(got):
        for col, v in want[k].items():
            if col not in SKIP and not same_value(v, got[k].get(col), col):
                bad.append((k, col, v, got[k].get(col)))
    check(not bad, '%s %s: every value equal' % (name, view), bad[:8])
    return len(want)


def contested_want(dbs):
    by_project = {}
    for name, db in zip(NAMES, dbs):
        for r in sqlite_rows(db, "SELECT project_id FROM insight_bids WHERE outcome <> 'retracted'"):
            by_project.setdefault(r['project_id'], set()).add(name)
    return {p: a for p, a in by_project.items() if len(a) >= 2}


def accounts_want(db, now):
    b = sqlite_rows(db, 'SELECT outcome, placed_at FROM insight_bids')
    out = dict(bids=len(b), decided=sum(r['outcome'] in ('won', 'lost') for r in b),
               won=sum(r['outcome'] == 'won' for r in b))
    for days in (30, 365):
        w = [r for r in b if r['placed_at'] is not None and r['placed_at'] >= now - days * 86400]
        out['bids_%dd' % days] = len(w)
        out['won_%dd' % days] = sum(r['outcome'] == 'won' for r in w)
    ms = sqlite_rows(db, "SELECT m.amount * nullif(c.exchange_rate, 0) AS usd, m.time_created AS t FROM milestones m "
                         "JOIN self s ON m.bidder_id = s.id LEFT JOIN currencies c ON c.id = m.currency_id "
                         "WHERE m.status = 'cleared' AND m.local_state IS NULL")
    out['earned_usd'] = sum(r['usd'] or 0 for r in ms)
    for days in (30, 365):
        out['earned_usd_%dd' % days] = sum(r['usd'] or 0 for r in ms if r['t'] >= now - days * 86400)
    return out


def readme_sql():
    """The README's BI section: every query runs on the mirror, the first returns rows."""
    readme = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'README.md')).read()
    part = readme[readme.index('### BI: three questions in plain SQL'):]
    part = part[:part.index('\n## ')]
    sql = '\n'.join(line[4:] for line in part.splitlines() if line.startswith('    '))
    stmts = [q.strip() for q in sql.split(';') if q.strip()]
    check(len(stmts) >= 4, "the README's BI section has its queries", stmts)
    for i, q in enumerate(stmts):
        try:
            rows = PG.psql(q, csv_out=True)
            check(i > 0 or len(rows) > 0, "README BI query %d returns rows" % (i + 1), q)
        except RuntimeError as e:
            check(False, "README BI query %d runs" % (i + 1), '%s\n%s' % (q, e))


def un_type():
    """Turn the mirror back into what flsync made before the typing: bigint times and flags, text JSON."""
    PG.psql('DROP VIEW IF EXISTS flsync.insight_contested, flsync.insight_accounts, flsync.insight_response_monthly, '
            'flsync.insight_cashflow_monthly, flsync.insight_clients, flsync.insight_win_rate, flsync.insight_bids, '
            'flsync.report_response_monthly, flsync.report_response_times, flsync.report_reviews_monthly, '
            'flsync.report_milestones_monthly, flsync.report_bids_monthly, flsync.pending_actions, '
            'flsync.unread_threads, flsync.milestone_balances, flsync.my_active_bids, '
            'flsync.open_projects_with_bids, flsync.self')
    cols = PG.psql("SELECT table_name, column_name, data_type FROM information_schema.columns "
                   "WHERE table_schema = 'flsync' AND data_type IN ('timestamp with time zone', 'boolean', 'jsonb') "
                   "AND table_name NOT IN ('leases', 'sink_position')", csv_out=True)
    for table, col, t in cols:
        using = ('extract(epoch FROM "%s")::bigint' if t.startswith('timestamp') else
                 '"%s"::int' if t == 'boolean' else '"%s"::text') % col
        PG.psql('ALTER TABLE flsync."%s" ALTER COLUMN "%s" TYPE %s USING %s'
                % (table, col, 'text' if t == 'jsonb' else 'bigint', using))
    PG.psql("DELETE FROM flsync.mirror_meta WHERE key = 'views'")
    return len(cols)


def main():
    global PG
    if not pgcluster.bindir():
        print('skipped: no PostgreSQL server binaries (the postgresql package)')
        return 77
    _, api = H.start([FLMOCK, '--port', '0', '--seed', '41', '--accounts', '3', '--scale', '4000'], 'flmock')
    ids = {a['token']: a['id'] for a in harness.mock_get(api, '/_mock/accounts')['accounts']}
    dbs = [os.path.join(H.tmp, '%s.db' % n) for n in NAMES]
    sync(dbs[0], api, TOKENS[0])
    sync(dbs[1], api, TOKENS[1])
    mine = [r['project_id'] for r in sqlite_rows(dbs[0], "SELECT project_id FROM insight_bids WHERE outcome = 'open' "
                                                        "AND project_status = 'active' ORDER BY bid_id")]
    theirs = [r['project_id'] for r in sqlite_rows(dbs[1], "SELECT project_id FROM insight_bids WHERE outcome = 'open' "
                                                          "AND project_status = 'active' ORDER BY bid_id")]
    placed = [bid(api, 'demo-2', p, ids['demo-2'], 120) for p in mine[:2]]
    placed += [bid(api, 'demo-3', p, ids['demo-3'], 95) for p in mine[:1] + theirs[:1]]
    check(len(placed) == 4 and all(placed), 'accounts 2 and 3 bid on projects another account bid on', placed)
    # The bids are at the simulator's now; a sync reads up to now, exclusive: let the clock move.
    harness.mock_post(api, '/_mock/advance?seconds=120')
    for db, token in zip(dbs, TOKENS):
        sync(db, api, token)
    PG = pgcluster.Cluster()
    try:
        run_tests(dbs)
    finally:
        PG.close()
    return 0


def run_tests(dbs):
    for db, name in zip(dbs, NAMES):
        pgsync(db, name)
    for db, name in zip(dbs, NAMES):
        for view in VIEWS:
            compare_view(view, name, db)

    want = contested_want(dbs)
    got = {int(r[0]): set(r[1].split(', ')) for r in
           PG.psql('SELECT project_id, account_names FROM flsync.insight_contested', csv_out=True)}
    check(len(want) >= 3 and got == want, 'insight_contested: the projects two or more accounts bid on (%d)' % len(want),
          (want, got))
    check(any(len(a) == 3 for a in got.values()), 'a project all three accounts bid on is contested by three')

    now = time.time()
    got = {r[0]: r for r in PG.psql('SELECT account, bids, decided, won, bids_30d, won_30d, bids_365d, won_365d, '
                                    'earned_usd, earned_usd_30d, earned_usd_365d FROM flsync.insight_accounts',
                                    csv_out=True)}
    check(set(got) == set(NAMES), 'insight_accounts: one row per account', sorted(got))
    cols = ['bids', 'decided', 'won', 'bids_30d', 'won_30d', 'bids_365d', 'won_365d', 'earned_usd', 'earned_usd_30d',
            'earned_usd_365d']
    for db, name in zip(dbs, NAMES):
        w = accounts_want(db, now)
        g = dict(zip(cols, (float(v) for v in got.get(name, [None] + [0] * len(cols))[1:])))
        bad = [(c, w[c], g[c]) for c in cols if abs(w[c] - g[c]) > 0.01]
        check(not bad, 'insight_accounts %s equals its file' % name, bad)

    types = dict((r[0], r[1]) for r in PG.psql(
        "SELECT table_name || '.' || column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'flsync'", csv_out=True))
    check(types.get('projects.raw') == 'jsonb' and types.get('bids.retracted') == 'boolean'
          and types.get('bids.time_submitted') == 'timestamp with time zone'
          and types.get('insight_bids.placed_at') == 'timestamp with time zone'
          and types.get('insight_bids.rate_missing') == 'boolean', 'the mirror is typed for BI',
          {k: v for k, v in types.items() if k.startswith(('projects.raw', 'bids.', 'insight_bids.'))})
    titles = PG.psql("SELECT count(*) FROM flsync.projects WHERE raw->>'title' = title", csv_out=True)
    check(int(titles[0][0]) > 100, "raw->>'title' works and agrees with the title column", titles)

    readme_sql()

    n = un_type()
    check(n > 40, 'the mirror turned back to its old types (%d columns)' % n)
    for db, name in zip(dbs, NAMES):
        pgsync(db, name)
    types2 = dict((r[0], r[1]) for r in PG.psql(
        "SELECT table_name || '.' || column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'flsync'", csv_out=True))
    check(types2 == types, 'pgsync converts an old mirror to the typed one, views included',
          {k: (types.get(k), types2.get(k)) for k in set(types) | set(types2) if types.get(k) != types2.get(k)})
    accounts = list(zip(NAMES, dbs))
    for table in pgcluster.MIRRORED:
        want, got = pgcluster.mirror_rows(PG, accounts, table)
        check(want == got, 'after the conversion %s equals the files (%d rows)' % (table, len(want)))
    for db, name in zip(dbs, NAMES):
        compare_view('insight_win_rate', name, db)


H.finish(main)
