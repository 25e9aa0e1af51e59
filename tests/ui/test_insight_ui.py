#!/usr/bin/env python3
"""test_insight_ui.py FLSYNC FLSYNCD FLMOCK — the figures of `flsync report`
and of the Insights page of `flsync ui`, read back from the DOM in Chromium,
equal the insight_* views' (converted to the home currency, as shown):

- a world flsyncd synced from flmock (--seed 5 --scale 4000);
- the report in USD and in EUR: every cell of its figure tables (data-view,
  data-key, data-col) and its headline tiles;
- the Insights page: the same, in USD, then in EUR by its currency field;
  then a cleared milestone written into the database by another process
  (a direct row, as a sync pass would) shows on the open page without a
  reload, in a month of its own.

Exit 77 (skipped) when chromium or chromedriver is missing.
"""
import os
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import harness  # noqa: E402
import webdriver  # noqa: E402

FLSYNC, FLSYNCD, FLMOCK = sys.argv[1:4]
H = harness.Run('insight-ui')
check = H.check
ENV = dict(os.environ, XDG_CONFIG_HOME=os.path.join(H.tmp, 'config'))

# Each figure table's columns and how they show: m money, p share in %, n count, h hours, t text.
KINDS = {
    'insight_cashflow_monthly': ('month', {'earned_usd': 'm', 'in_escrow_usd': 'm', 'paid_out_usd': 'm',
                                           'requested_usd': 'm', 'unconverted': 'n'}),
    'insight_response_monthly': ('month', {'replies': 'n', 'median_reply_s': 'h', 'p90_reply_s': 'h'}),
    'insight_win_rate': ('bucket', {'bids': 'n', 'decided': 'n', 'won': 'n', 'win_rate': 'p', 'ci_low': 'p',
                                    'ci_high': 'p'}),
    'insight_clients': ('client_id', {'username': 't', 'country': 't', 'projects': 'n', 'bids': 'n', 'won': 'n',
                                      'earned_usd': 'm', 'reviews': 'n'}),
}

READ_DOM = '''
const out = [];
for (const t of document.querySelectorAll('table[data-view]')) {
  const dim = t.closest('[data-dimension]');
  for (const tr of t.querySelectorAll('tr[data-key]'))
    for (const td of tr.querySelectorAll('td[data-col]'))
      out.push([t.dataset.view, dim ? dim.dataset.dimension : null, tr.dataset.key, td.dataset.col, td.textContent]);
}
const tiles = {};
for (const d of document.querySelectorAll('[data-fig]')) tiles[d.dataset.fig] = d.querySelector('b').textContent;
return [out, tiles];
'''


def fmt(v, kind, rate):
    if v is None:
        return ''
    if kind == 'm':
        return '%.2f' % (v / rate)
    if kind == 'p':
        return '%.1f' % (100 * v)
    if kind == 'n':
        return '%d' % round(v)
    if kind == 'h':
        return '%.1f' % (v / 3600)
    return str(v)


def views(db):
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    out = {v: [dict(r) for r in con.execute('SELECT * FROM %s' % v)] for v in KINDS}
    con.close()
    return out


def compare(what, cells, tiles, db, rate, code):
    """Every cell on the page equals its view's value as shown; every view row on the page."""
    v = views(db)
    seen = {}
    bad = []
    for view, dim, key, col, text in cells:
        keycol, kinds = KINDS[view]
        rows = [r for r in v[view] if str(r[keycol]) == key and (dim is None or r.get('dimension') == dim)]
        if len(rows) != 1:
            bad.append((view, dim, key, 'no such row'))
            continue
        seen.setdefault((view, dim), set()).add(key)
        if col in kinds and fmt(rows[0][col], kinds[col], rate) != text:
            bad.append((view, key, col, text, fmt(rows[0][col], kinds[col], rate)))
    check(not bad and len(cells) > 100, '%s: %d figures on the page equal the views' % (what, len(cells)), bad[:10])
    check(len(seen.get(('insight_cashflow_monthly', None), ())) == len(v['insight_cashflow_monthly']),
          '%s: every month of the cash flow is on the page' % what)
    for dim in ('budget', 'price', 'speed'):
        want = {r['bucket'] for r in v['insight_win_rate'] if r['dimension'] == dim}
        check(seen.get(('insight_win_rate', dim)) == want, '%s: every %s bucket is on the page' % (what, dim),
              (seen.get(('insight_win_rate', dim)), want))
    con = sqlite3.connect(db)
    earned = con.execute('SELECT sum(earned_usd) FROM insight_cashflow_monthly').fetchone()[0] or 0
    bids, decided, won = con.execute("SELECT count(*), sum(outcome IN ('won', 'lost')), sum(outcome = 'won') "
                                     'FROM insight_bids').fetchone()
    con.close()
    check(tiles.get('earned') == '%.2f %s' % (earned / rate, code), '%s: the earned tile' % what,
          (tiles.get('earned'), earned / rate))
    check(tiles.get('bids') == str(bids) and tiles.get('win_rate') == '%.1f%%' % (100.0 * won / decided),
          '%s: the bids and win rate tiles' % what, tiles)


def rate_of(db, code):
    con = sqlite3.connect(db)
    r = con.execute('SELECT exchange_rate FROM currencies WHERE code = ?', (code,)).fetchone()[0]
    con.close()
    return r


def report(b, db):
    for code in ('USD', 'EUR'):
        out = os.path.join(H.tmp, 'report-%s.html' % code)
        p = subprocess.run([FLSYNC, '--db', db, 'report', '--out', out, '--currency', code], capture_output=True,
                           env=ENV, timeout=120)
        check(p.returncode == 0, 'report --currency %s' % code, p.stderr.decode()[-800:])
        b.get('file://' + out)
        cells, tiles = b.script(READ_DOM)
        compare('report in %s' % code, cells, tiles, db, rate_of(db, code), code)


def ui_page(b, db):
    _, url = H.start([FLSYNC, 'ui', '--db', db, '--listen', '127.0.0.1:0'], 'ui', env=ENV)
    b.get(url.replace('/?token', '/?token') + '#/insights')
    ok = b.wait("return document.querySelector('table[data-view=insight_cashflow_monthly]') !== null", 30)
    check(ok, 'the Insights page shows its figures')
    cells, tiles = b.script(READ_DOM)
    compare('Insights page in USD', cells, tiles, db, 1.0, 'USD')

    b.script("document.getElementById('insight-currency').value = 'EUR';"
             "document.getElementById('insight-currency').form.requestSubmit();")
    ok = b.wait("return document.getElementById('main').dataset.insightCurrency === 'EUR'", 20)
    check(ok, 'the page switches to EUR')
    cells, tiles = b.script(READ_DOM)
    compare('Insights page in EUR', cells, tiles, db, rate_of(db, 'EUR'), 'EUR')

    # Another process commits a cleared milestone in a month of its own: the page follows.
    con = sqlite3.connect(db)
    me = con.execute('SELECT id FROM users WHERE is_self = 1').fetchone()[0]
    bid = con.execute('SELECT bid_id, project_id, client_id FROM insight_bids ORDER BY bid_id LIMIT 1').fetchone()
    usd = con.execute("SELECT id FROM currencies WHERE code = 'USD'").fetchone()[0]
    con.execute("INSERT INTO milestones(id, project_id, bid_id, bidder_id, project_owner_id, currency_id, amount, "
                "status, time_created) VALUES (990000001, ?, ?, ?, ?, ?, 1234.5, 'cleared', 1893456000)",
                (bid[1], bid[0], me, bid[2], usd))
    con.commit()
    con.close()
    ok = b.wait("return !!document.querySelector('table[data-view=insight_cashflow_monthly] tr[data-key=\"2030-01\"]')",
                20)
    check(ok, 'a milestone committed by another process shows live, without a reload')
    cells, tiles = b.script(READ_DOM)
    compare('Insights page after the change', cells, tiles, db, rate_of(db, 'EUR'), 'EUR')
    if os.environ.get('FL_UI_INSIGHTS_SCREENSHOT'):
        b.screenshot(os.environ['FL_UI_INSIGHTS_SCREENSHOT'])


def main():
    chromium = webdriver.find('chromium', '/usr/bin/chromium')
    chromedriver = webdriver.find('chromedriver', '/usr/bin/chromedriver')
    if not chromium or not chromedriver:
        print('skipped: chromium and chromium-driver are needed (scripts/test installs them)')
        return 77
    _, api = H.start([FLMOCK, '--port', '0', '--seed', '5', '--token', 'demo', '--scale', '4000'], 'flmock')
    db = os.path.join(H.tmp, 'world.db')
    p = subprocess.run([FLSYNCD, '--db', db, '--api', api, '--once'], capture_output=True, timeout=300,
                       env=dict(ENV, FLSYNC_TOKEN='demo'))
    check(p.returncode == 0, 'flsyncd --once', p.stderr.decode()[-1500:])
    b = webdriver.Browser(chromium, chromedriver, os.path.join(H.tmp, 'chromedriver.log'))
    try:
        report(b, db)
        ui_page(b, db)
    finally:
        b.close()
    return 0


H.finish(main)
