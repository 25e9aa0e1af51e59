#!/usr/bin/env python3
"""test_insight.py FLSYNC FLSYNCD FLMOCK — the insight_* views (migration
011) against figures this script computes on its own, in Python, from the
synced tables (bids, projects, currencies, project_jobs, jobs, milestones,
milestone_requests, reviews, messages, thread_members, users):

- a fixed world (flmock --seed 5 --scale 4000) synced by flsyncd, then
  changed by direct rows so that every case is there: a currency without
  a rate (XXX, a new currencies row, given to one bid's project and to a
  cleared milestone and an open milestone request), a project without
  bid_avg, a bid placed within the hour; the world itself has every
  outcome (won, lost, open, retracted), eleven currencies and every budget,
  price and speed bucket (each checked present);
- counts exact, money within a cent, the Wilson interval against its
  formula; a bucket of one; a currency without a rate shown (NULL usd,
  rate_missing, counted as unconverted), never dropped;
- no bids: every per-bid view empty, and report/export still work;
- `flsync export --view NAME` in csv, json and jsonl equals the view;
  `flsync query --currency EUR` turns *_usd columns into *_eur;
- `flsync report` names the figures of the views (the page's numbers are
  checked in Chromium by the ui suite).
"""
import csv
import io
import json
import math
import os
import shutil
import sqlite3
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import harness  # noqa: E402

FLSYNC, FLSYNCD, FLMOCK = sys.argv[1:4]
H = harness.Run('insight')
check = H.check
Z = 1.96
VIEWS = ['insight_bids', 'insight_win_rate', 'insight_clients', 'insight_cashflow_monthly',
         'insight_response_monthly']


def run(cmd, code=0):
    p = subprocess.run(cmd, capture_output=True, timeout=300)
    check(p.returncode == code, '%s: exit %d, want %d' % (' '.join(cmd[2:5]), p.returncode, code),
          p.stderr.decode()[-1500:])
    return p.stdout.decode()


def month(t):
    import time
    return time.strftime('%Y-%m', time.gmtime(t))


def table(con, name):
    con.row_factory = sqlite3.Row
    return [dict(r) for r in con.execute('SELECT * FROM %s' % name)]


# ---- the figures, computed here from the tables ---------------------------------

def model(db):
    con = sqlite3.connect(db)
    me = con.execute('SELECT id FROM users WHERE is_self = 1').fetchone()[0]
    projects = {p['id']: p for p in table(con, 'projects')}
    cur = {c['id']: c for c in table(con, 'currencies')}
    users = {u['id']: u for u in table(con, 'users')}
    jobs = {j['id']: j['name'] for j in table(con, 'jobs')}
    pjobs = {}
    for r in table(con, 'project_jobs'):
        pjobs.setdefault(r['project_id'], []).append(r['job_id'])

    def rate(cid):
        r = cur.get(cid, {}).get('exchange_rate')
        return r if r else None

    def usd(x, cid):
        r = rate(cid)
        return None if x is None or r is None else x * r

    bids = []
    for b in table(con, 'bids'):
        if b['bidder_id'] != me or b['deleted'] or b['local_state'] is not None:
            continue
        p = projects.get(b['project_id'], {})
        cid = p.get('currency_id')
        avg = p.get('bid_avg') or None
        if b['retracted']:
            outcome = 'retracted'
        elif b['award_status'] == 'awarded':
            outcome = 'won'
        elif b['award_status'] in ('revoked', 'canceled', 'rejected'):
            outcome = 'lost'
        elif (p.get('deleted') == 1 or (p.get('status') or 'active') != 'active') and b['award_status'] != 'pending':
            outcome = 'lost'
        else:
            outcome = 'open'
        ts, ps = b['time_submitted'], p.get('time_submitted')
        bids.append(dict(bid_id=b['id'], project_id=b['project_id'], client_id=p.get('owner_id'), placed_at=ts,
                         amount=b['amount'], currency=cur.get(cid, {}).get('code'),
                         amount_usd=usd(b['amount'], cid), budget_min_usd=usd(p.get('budget_minimum'), cid),
                         budget_max_usd=usd(p.get('budget_maximum'), cid), bid_count=p.get('bid_count'),
                         bid_avg_usd=usd(avg, cid), price_position=b['amount'] / avg if avg else None,
                         time_to_bid_s=ts - ps if ts is not None and ps is not None else None,
                         outcome=outcome, rate_missing=int(rate(cid) is None)))

    def bucket(dim, b):
        if dim == 'budget':
            v = b['budget_max_usd']
            return ('unknown' if v is None else '<100' if v < 100 else '100-500' if v < 500 else
                    '500-1000' if v < 1000 else '1000-5000' if v < 5000 else '5000+')
        if dim == 'price':
            v = b['price_position']
            return ('unknown' if v is None else '<0.8' if v < 0.8 else '0.8-1.0' if v < 1.0 else
                    '1.0-1.2' if v < 1.2 else '>=1.2')
        if dim == 'speed':
            v = b['time_to_bid_s']
            return ('unknown' if v is None else '<1h' if v < 3600 else '1-6h' if v < 21600 else
                    '6-24h' if v < 86400 else '>=24h')
        return month(b['placed_at']) if b['placed_at'] is not None else 'unknown'

    win = {}
    for b in bids:
        keys = [('job', jobs.get(j) or '#%d' % j) for j in pjobs.get(b['project_id'], [])]
        keys += [(d, bucket(d, b)) for d in ('budget', 'price', 'speed', 'month')]
        for k in keys:
            w = win.setdefault(k, dict(bids=0, decided=0, won=0))
            w['bids'] += 1
            w['decided'] += b['outcome'] in ('won', 'lost')
            w['won'] += b['outcome'] == 'won'
    for w in win.values():
        n, k = w['decided'], w['won']
        if n:
            p = k / n
            c = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
            h = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / (1 + Z * Z / n)
            w.update(win_rate=p, ci_low=max(0, c - h), ci_high=min(1, c + h))
        else:
            w.update(win_rate=None, ci_low=None, ci_high=None)

    ms = [m for m in table(con, 'milestones') if m['local_state'] is None]
    by_bid = {b['bid_id']: b for b in bids}
    clients = {}
    for b in bids:
        if b['client_id'] is None:
            continue
        c = clients.setdefault(b['client_id'], dict(projects=set(), bids=0, won=0, earned_usd=0.0, unconverted=0,
                                                    reviews=0, ratings=[]))
        c['projects'].add(b['project_id'])
        c['bids'] += 1
        c['won'] += b['outcome'] == 'won'
    for m in ms:
        b = by_bid.get(m['bid_id'])
        if b and b['client_id'] is not None and m['status'] == 'cleared':
            v = usd(m['amount'], m['currency_id'])
            if v is None:
                clients[b['client_id']]['unconverted'] += 1
            else:
                clients[b['client_id']]['earned_usd'] += v
    for r in table(con, 'reviews'):
        if r['to_user_id'] == me and r['local_state'] is None and r['from_user_id'] in clients:
            c = clients[r['from_user_id']]
            c['reviews'] += 1
            if r['rating'] is not None:
                c['ratings'].append(r['rating'])
    members = {}
    for r in table(con, 'thread_members'):
        members.setdefault(r['user_id'], set()).add(r['thread_id'])
    last_in_thread = {}
    for m in table(con, 'messages'):
        if m['time_created'] is not None:
            last_in_thread[m['thread_id']] = max(last_in_thread.get(m['thread_id'], 0), m['time_created'])
    for cid, c in clients.items():
        u = users.get(cid, {})
        raw = json.loads(u['raw']) if u.get('raw') else {}
        pv = (raw.get('status') or {}).get('payment_verified')
        times = [last_in_thread[t] for t in members.get(cid, ()) if t in last_in_thread]
        c.update(username=u.get('username'), country=u.get('country'),
                 payment_verified=None if pv is None else int(pv), projects=len(c['projects']),
                 avg_rating=sum(c['ratings']) / len(c['ratings']) if c['ratings'] else None,
                 last_message_at=max(times) if times else None)

    cash = {}
    for m in ms:
        if m['time_created'] is None:
            continue
        if m['bidder_id'] == me and m['status'] == 'cleared':
            kind = 'earned_usd'
        elif m['bidder_id'] == me and m['status'] in ('pending', 'requested_release'):
            kind = 'in_escrow_usd'
        elif m['project_owner_id'] == me and m['status'] == 'cleared':
            kind = 'paid_out_usd'
        else:
            continue
        add_cash(cash, month(m['time_created']), kind, usd(m['amount'], m['currency_id']))
    for r in table(con, 'milestone_requests'):
        if (r['bidder_id'] == me and r['status'] == 'pending' and r['time_requested'] is not None
                and r['local_state'] is None):
            add_cash(cash, month(r['time_requested']), 'requested_usd', usd(r['amount'], r['currency_id']))

    msgs = [m for m in table(con, 'messages') if m['local_state'] is None]
    threads = {}
    for m in msgs:
        if m['thread_id'] is not None and m['time_created'] is not None:
            threads.setdefault(m['thread_id'], []).append(m)
    replies = {}
    for ts in threads.values():
        asked = None
        for m in sorted(ts, key=lambda m: (m['time_created'], m['id'])):
            if m['from_user_id'] == me:
                if asked is not None:
                    replies.setdefault(month(m['time_created']), []).append(m['time_created'] - asked)
                asked = None
            elif asked is None:
                asked = m['time_created']
    resp = {}
    for mo, s in replies.items():
        s.sort()
        n = len(s)
        med = (s[(n - 1) // 2] + s[n // 2]) / 2
        resp[mo] = dict(replies=n, median_reply_s=med, p90_reply_s=s[math.ceil(0.9 * n) - 1])
    con.close()
    return dict(bids={b['bid_id']: b for b in bids}, win=win, clients=clients, cash=cash, resp=resp)


def add_cash(cash, mo, kind, v):
    c = cash.setdefault(mo, dict(earned_usd=0.0, in_escrow_usd=0.0, paid_out_usd=0.0, requested_usd=0.0,
                                 unconverted=0))
    if v is None:
        c['unconverted'] += 1
    else:
        c[kind] += v


# ---- comparing ------------------------------------------------------------------

def close(a, b, tol):
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= tol


def view(db, name):
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    rows = [dict(r) for r in con.execute('SELECT * FROM %s' % name)]
    con.close()
    return rows


def same(what, got, want, money=(), exact=(), tol=0.005):
    bad = [k for k in exact if got.get(k) != want.get(k)]
    bad += [k for k in money if not close(got.get(k), want.get(k), tol)]
    check(not bad, '%s: %s' % (what, ', '.join(bad) or 'equal'), {k: (got.get(k), want.get(k)) for k in bad})


def compare(db, m, label):
    rows = view(db, 'insight_bids')
    check(len(rows) == len(m['bids']), '%s: insight_bids has one row per bid (%d)' % (label, len(m['bids'])),
          len(rows))
    for r in rows:
        w = m['bids'].get(r['bid_id'])
        if not check(w is not None, '%s: bid %s is the account\'s' % (label, r['bid_id'])):
            continue
        same('%s: insight_bids %d' % (label, r['bid_id']), r, w,
             money=('amount_usd', 'budget_min_usd', 'budget_max_usd', 'bid_avg_usd'),
             exact=('project_id', 'client_id', 'placed_at', 'currency', 'bid_count', 'time_to_bid_s', 'outcome',
                    'rate_missing'))
        same('%s: price_position of %d' % (label, r['bid_id']), r, w, money=('price_position',), tol=1e-9)

    rows = view(db, 'insight_win_rate')
    check(len(rows) == len(m['win']), '%s: insight_win_rate has every bucket (%d)' % (label, len(m['win'])),
          sorted((r['dimension'], r['bucket']) for r in rows))
    for r in rows:
        w = m['win'].get((r['dimension'], r['bucket']))
        if check(w is not None, '%s: bucket %s/%s exists' % (label, r['dimension'], r['bucket'])):
            same('%s: win rate %s/%s' % (label, r['dimension'], r['bucket']), r, w, exact=('bids', 'decided', 'won'),
                 money=('win_rate', 'ci_low', 'ci_high'), tol=1e-9)

    rows = view(db, 'insight_clients')
    check(len(rows) == len(m['clients']), '%s: insight_clients has one row per client (%d)'
          % (label, len(m['clients'])), len(rows))
    for r in rows:
        w = m['clients'].get(r['client_id'])
        if check(w is not None, '%s: client %s' % (label, r['client_id'])):
            same('%s: client %d' % (label, r['client_id']), r, w, money=('earned_usd', 'avg_rating'),
                 exact=('username', 'country', 'payment_verified', 'projects', 'bids', 'won', 'reviews',
                        'last_message_at', 'unconverted'))

    rows = view(db, 'insight_cashflow_monthly')
    check(sorted(r['month'] for r in rows) == sorted(m['cash']), '%s: cash flow months' % label,
          (sorted(r['month'] for r in rows), sorted(m['cash'])))
    for r in rows:
        if r['month'] in m['cash']:
            same('%s: cash flow %s' % (label, r['month']), r, m['cash'][r['month']],
                 money=('earned_usd', 'in_escrow_usd', 'paid_out_usd', 'requested_usd'), exact=('unconverted',))

    rows = view(db, 'insight_response_monthly')
    check(sorted(r['month'] for r in rows) == sorted(m['resp']), '%s: reply months' % label)
    for r in rows:
        if r['month'] in m['resp']:
            same('%s: replies %s' % (label, r['month']), r, m['resp'][r['month']],
                 exact=('replies', 'p90_reply_s'), money=('median_reply_s',), tol=1e-9)


# ---- the world -------------------------------------------------------------------

def edge_rows(db):
    """The cases a generated world may lack, as direct rows (named in the docstring)."""
    con = sqlite3.connect(db)
    me = con.execute('SELECT id FROM users WHERE is_self = 1').fetchone()[0]
    mine = [r[0] for r in con.execute('SELECT DISTINCT project_id FROM bids WHERE bidder_id = ? AND deleted = 0 '
                                      'AND retracted = 0 ORDER BY id', (me,))]
    con.execute("INSERT INTO currencies(id, code, name, exchange_rate) VALUES (999, 'XXX', 'No rate', NULL)")
    con.execute('UPDATE projects SET currency_id = 999 WHERE id = ?', (mine[0],))
    con.execute('UPDATE projects SET bid_avg = NULL WHERE id = ?', (mine[1],))
    con.execute('UPDATE bids SET time_submitted = (SELECT time_submitted + 600 FROM projects p '
                'WHERE p.id = bids.project_id) WHERE project_id = ? AND bidder_id = ?', (mine[2], me))
    con.execute("UPDATE milestones SET currency_id = 999 WHERE id = (SELECT min(id) FROM milestones "
                "WHERE bidder_id = ? AND status = 'cleared')", (me,))
    con.execute("UPDATE milestone_requests SET currency_id = 999 WHERE id = (SELECT min(id) FROM milestone_requests "
                "WHERE bidder_id = ? AND status = 'pending')", (me,))
    con.commit()
    con.close()


def main():
    _, api = H.start([FLMOCK, '--port', '0', '--seed', '5', '--token', 'demo', '--scale', '4000'], 'flmock')
    db = os.path.join(H.tmp, 'world.db')
    p = subprocess.run([FLSYNCD, '--db', db, '--api', api, '--once'], capture_output=True, timeout=300,
                       env=dict(os.environ, FLSYNC_TOKEN='demo'))
    check(p.returncode == 0, 'flsyncd --once', p.stderr.decode()[-1500:])
    compare(db, model(db), 'as synced')
    edge_rows(db)
    m = model(db)
    compare(db, m, 'with the edge rows')

    outcomes = {b['outcome'] for b in m['bids'].values()}
    check(outcomes == {'won', 'lost', 'open', 'retracted'}, 'every outcome is there', outcomes)
    check(len({b['currency'] for b in m['bids'].values()}) >= 5, 'bids in many currencies')
    for dim, want in (('budget', {'<100', '100-500', '500-1000', '1000-5000', '5000+'}),
                      ('price', {'<0.8', '0.8-1.0', '1.0-1.2', '>=1.2', 'unknown'}),
                      ('speed', {'<1h', '1-6h', '6-24h', '>=24h'})):
        got = {b for d, b in m['win'] if d == dim}
        check(want <= got, 'every %s bucket is there' % dim, got)
    check(any(w['bids'] == 1 for w in m['win'].values()), 'a bucket of one bid is there')
    rows = view(db, 'insight_bids')
    xxx = [r for r in rows if r['currency'] == 'XXX']
    check(len(xxx) >= 1 and all(r['amount_usd'] is None and r['rate_missing'] == 1 and r['amount'] is not None
                                for r in xxx), 'a bid in a currency without a rate is shown, usd NULL, flagged', xxx)
    check(any(r['price_position'] is None and r['bid_avg_usd'] is None for r in rows),
          'a project without bid_avg: price_position NULL')
    check(sum(r['unconverted'] for r in view(db, 'insight_cashflow_monthly')) >= 2,
          'unconverted milestone and request counted in the cash flow')
    check(sum(r['unconverted'] for r in view(db, 'insight_clients')) >= 1,
          'the unconverted milestone is counted at its client')
    wr = {(r['dimension'], r['bucket']): r for r in view(db, 'insight_win_rate')}
    check(sum(r['bids'] for (d, _), r in wr.items() if d == 'budget') == len(rows),
          'every bid counts in one budget bucket (unknown included)')

    export_and_query(db)
    report(db)

    # No bids at all: empty views, the report and the exports still work.
    empty = os.path.join(H.tmp, 'empty.db')
    shutil.copy(db, empty)
    con = sqlite3.connect(empty)
    for t in ('milestones', 'milestone_requests', 'bids', 'messages', 'reviews'):
        con.execute('DELETE FROM %s' % t)
    con.commit()
    con.close()
    for v in VIEWS:
        check(view(empty, v) == [], 'no bids: %s is empty' % v, view(empty, v)[:3])
    run([FLSYNC, '--db', empty, 'report', '--out', os.path.join(H.tmp, 'empty.html')])
    check('No bids yet' in open(os.path.join(H.tmp, 'empty.html')).read(), 'the empty report says so')
    check(run([FLSYNC, '--db', empty, 'export', '--view', 'insight_win_rate', '--format', 'json']).strip() == '[]',
          'an empty view exports as []')
    return 0


def export_and_query(db):
    for v in VIEWS:
        want = view(db, v)
        out = run([FLSYNC, '--db', db, 'export', '--view', v, '--format', 'json'])
        check(json.loads(out) == want, 'export --view %s json equals the view' % v)
        out = run([FLSYNC, '--db', db, 'export', '--view', v, '--format', 'jsonl'])
        check([json.loads(line) for line in out.splitlines()] == want, 'export --view %s jsonl' % v)
        out = run([FLSYNC, '--db', db, 'export', '--view', v, '--format', 'csv'])
        rows = list(csv.DictReader(io.StringIO(out)))
        check(len(rows) == len(want) and (not want or list(rows[0]) == list(want[0])),
              'export --view %s csv: header and rows' % v)
    run([FLSYNC, '--db', db, 'export', '--view', 'bids', '--format', 'csv'], code=2)
    run([FLSYNC, '--db', db, 'export', '--view', 'insight_nothing', '--format', 'csv'], code=2)

    con = sqlite3.connect(db)
    eur = con.execute("SELECT exchange_rate FROM currencies WHERE code = 'EUR'").fetchone()[0]
    con.close()
    out = json.loads(run([FLSYNC, '--db', db, 'query', 'SELECT month, earned_usd FROM insight_cashflow_monthly',
                          '--currency', 'EUR', '-f', 'json']))
    want = view(db, 'insight_cashflow_monthly')
    check([list(r) for r in out[:1]] == [['month', 'earned_eur']], 'query --currency EUR renames *_usd', out[:1])
    check(all(close(o['earned_eur'], w['earned_usd'] / eur, 0.005) for o, w in zip(out, want)) and len(out) == len(want),
          'query --currency EUR converts *_usd with the rates', (out[:3], want[:3]))
    run([FLSYNC, '--db', db, 'query', 'SELECT 1', '--currency', 'ZZZ'], code=2)
    run([FLSYNC, '--db', db, 'query', 'SELECT 1', '--currency', '<b>'], code=2)


def report(db):
    out = os.path.join(H.tmp, 'report.html')
    con = sqlite3.connect(db)
    con.execute("UPDATE users SET username = '<script>alert(1)</script>\"&' WHERE id = "
                "(SELECT client_id FROM insight_clients LIMIT 1)")
    con.commit()
    con.close()
    run([FLSYNC, '--db', db, 'report', '--out', out, '--currency', 'USD'])
    html = open(out).read()
    for v in ('insight_cashflow_monthly', 'insight_win_rate', 'insight_response_monthly', 'insight_clients'):
        check(v in html, 'the report names %s' % v)
    check('<svg' in html and '<script' not in html and '&lt;script&gt;alert(1)&lt;/script&gt;&quot;&amp;' in html,
          'SVG charts, no script: a hostile client name shows as text')
    run([FLSYNC, '--db', db, 'report', '--out', out, '--currency', 'EUR'])
    check('EUR' in open(out).read(), 'the report in EUR says so')
    run([FLSYNC, '--db', db, 'report', '--out', out, '--currency', 'nope'], code=2)


H.finish(main)
