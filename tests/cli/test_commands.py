#!/usr/bin/env python3
"""test_commands.py FLSYNC CLI_FIXTURE — the flsync command line on a fixture
database, checked for content: CSV re-imported into sqlite3 equals the table,
JSON parses and equals the rows, FTS finds and highlights a known message,
export writes every table atomically, status and queue say what the database
holds, the report is one self-contained HTML file (and renders, where
chromium is installed), errors name their cause, exit codes are 0/1/2.

Under FL_UNDER_VALGRIND=1 every flsync run goes through valgrind too.
"""
import csv
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import unicodedata

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402

FLSYNC, FIXTURE = sys.argv[1], sys.argv[2]
FIXTURE_SQL = os.environ.get('FL_CLI_FIXTURE_SQL') or os.path.join(os.path.dirname(__file__), 'fixture.sql')
VALGRIND = ['valgrind', '--error-exitcode=99', '--leak-check=full', '--errors-for-leak-kinds=definite,indirect',
            '--quiet'] if os.environ.get('FL_UNDER_VALGRIND') else []

tmp = tempfile.mkdtemp(prefix='flcli.')
DB = os.path.join(tmp, 'flsync.db')
H = harness.Run('commands')
check = H.check


def flsync(*args, db=DB, env=None, code=0, what=None):
    cmd = VALGRIND + [FLSYNC] + (['--db', db] if db else []) + list(args)
    e = dict(os.environ)
    e.pop('FLSYNC_DB', None)
    e.update(env or {})
    p = subprocess.run(cmd, capture_output=True, env=e, cwd=tmp, timeout=120)
    out, err = p.stdout.decode('utf-8', 'replace'), p.stderr.decode('utf-8', 'replace')
    if code is not None:
        check(p.returncode == code, '%s: exit %d, want %d' % (what or ' '.join(args)[:80], p.returncode, code),
              out[-2000:] + err[-2000:])
    return out, err


def db_rows(sql, params=()):
    con = sqlite3.connect(DB)
    try:
        cur = con.execute(sql, params)
        cols = [d[0] for d in cur.description]
        return cols, cur.fetchall()
    finally:
        con.close()


def as_text(v):
    """A value as SQLite's text conversion (what CSV holds)."""
    if v is None:
        return ''
    if isinstance(v, float):
        con = sqlite3.connect(':memory:')
        t = con.execute('SELECT CAST(? AS TEXT)', (v,)).fetchone()[0]
        con.close()
        return t
    if isinstance(v, bytes):
        return v.hex()
    return str(v)


def width(s):
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in 'WF' else 1 for c in s)


# ---- the fixture ------------------------------------------------------------
r = subprocess.run([FIXTURE, DB, FIXTURE_SQL], capture_output=True)
if r.returncode != 0:
    print('cannot build the fixture:', r.stderr.decode())
    sys.exit(1)

# ---- help and usage -----------------------------------------------------------
out, _ = flsync('--help', db=None)
check('Exit status' in out and 'query' in out and 'report' in out, 'flsync --help lists commands and exit codes', out)
for sub in ['query', 'search', 'export', 'status', 'feed', 'queue', 'report', 'schema']:
    out, _ = flsync(sub, '--help', db=None)
    check('usage: flsync ' + sub in out and 'xample' in out, 'flsync %s --help has usage and examples' % sub, out)
flsync('frobnicate', code=2)
flsync('query', code=2, what='query without SQL')
flsync('query', 'SELECT 1', '--format', 'xml', code=2, what='query with a bad format')
flsync('export', 'projects', '--out', os.path.join(tmp, 'x'), code=2, what='export without --format')
flsync('search', 'x', '--limit', 'many', code=2, what='search with a bad limit')
flsync('query', 'SELECT ?', '--param', '1', '--param', '2', code=2, what='more params than the SQL has')

# ---- errors name their cause ------------------------------------------------------
missing = os.path.join(tmp, 'nope', 'missing.db')
_, err = flsync('query', 'SELECT 1', db=missing, code=1, what='missing database')
check(missing in err, 'a missing database is named', err)
_, err = flsync('status', db=None, env={'FLSYNC_DB': missing}, code=1, what='missing database via FLSYNC_DB')
check(missing in err, 'FLSYNC_DB is used and named', err)
xdg = os.path.join(tmp, 'xdg')
_, err = flsync('status', db=None, env={'XDG_DATA_HOME': xdg}, code=1, what='missing database at the XDG path')
check(os.path.join(xdg, 'flsync', 'flsync.db') in err, 'the XDG default path is used and named', err)
_, err = flsync('query', 'SELEC 1', code=1, what='bad SQL')
check('syntax error' in err, 'bad SQL gives SQLite\'s message', err)
_, err = flsync('query', 'SELECT * FROM nosuch', code=1, what='unknown table in a query')
check('no such table: nosuch' in err, 'an unknown table is named', err)
_, err = flsync('query', 'DELETE FROM projects', code=1, what='a write through query')
check('only reads' in err, 'query refuses writes clearly', err)
check(db_rows('SELECT count(*) FROM projects')[1][0][0] == 5, 'the refused write changed nothing')

# ---- query: formats ---------------------------------------------------------------
cols, rows = db_rows('SELECT * FROM messages ORDER BY id')

out, _ = flsync('query', 'SELECT * FROM messages ORDER BY id', '-f', 'json')
try:
    got = json.loads(out)
    check([list(o.keys()) for o in got] == [cols] * len(rows), 'JSON keys are the columns in order')
    check([tuple(o.values()) for o in got] == rows, 'JSON values equal the table', (got[:2], rows[:2]))
except ValueError as e:
    check(False, 'query -f json parses', '%s\n%s' % (e, out[:500]))

out, _ = flsync('query', 'SELECT * FROM messages ORDER BY id', '-f', 'jsonl')
lines = out.splitlines()
check(len(lines) == len(rows), 'JSONL has one line per row', out[:300])
try:
    check([tuple(json.loads(l).values()) for l in lines] == rows, 'JSONL values equal the table')
except ValueError as e:
    check(False, 'every JSONL line parses', e)

out, _ = flsync('query', 'SELECT id, 1.5 AS x, NULL AS n, x\'00ff\' AS b FROM projects WHERE 0', '-f', 'json')
check(json.loads(out) == [], 'an empty result is an empty JSON array', out)
out, _ = flsync('query', "SELECT 0.1 AS a, 9e999 AS inf, 'tab\there\u0001' AS t, 7 AS i, 2.0 AS r", '-f', 'json')
o = json.loads(out)[0]
check(o == {'a': 0.1, 'inf': None, 't': 'tab\there\u0001', 'i': 7, 'r': 2.0}, 'JSON numbers, infinity and control characters', out)
out, _ = flsync('query', 'SELECT p.id, b.id FROM projects p JOIN bids b ON b.project_id = p.id LIMIT 1', '-f', 'json')
check(list(json.loads(out)[0].keys()) == ['id', 'id_2'], 'duplicate column names get unique JSON keys', out)

# CSV: raw bytes, RFC 4180 line ends and quoting, re-imported into sqlite3 equal to the table
for table in ['messages', 'projects', 'bids', 'users', 'reviews']:
    p = subprocess.run(VALGRIND + [FLSYNC, '--db', DB, 'query', 'SELECT * FROM %s ORDER BY rowid' % table, '-f', 'csv'],
                       capture_output=True)
    check(p.returncode == 0, 'query %s -f csv' % table, p.stderr)
    data = p.stdout
    check(data.endswith(b'\r\n') and b'\n' not in data.replace(b'\r\n', b'') .replace(b'\n', b'') , 'CSV lines end in CRLF')
    path = os.path.join(tmp, table + '.csv')
    with open(path, 'wb') as f:
        f.write(data)
    imp = os.path.join(tmp, 'import.db')
    if os.path.exists(imp):
        os.remove(imp)
    r = subprocess.run(['sqlite3', imp, '.import --csv %s t' % path], capture_output=True)
    check(r.returncode == 0, 'sqlite3 .import --csv %s' % table, r.stderr)
    con = sqlite3.connect(imp)
    got = con.execute('SELECT * FROM t').fetchall()
    got_cols = [d[1] for d in con.execute('PRAGMA table_info(t)')]
    con.close()
    cols, rows = db_rows('SELECT * FROM %s ORDER BY rowid' % table)
    check(got_cols == cols, 'CSV header of %s re-imports as its columns' % table, (got_cols, cols))
    check(got == [tuple(as_text(v) for v in r) for r in rows], 'CSV of %s re-imported equals the table' % table,
          (got[:2], rows[:2]))
    # and Python's csv reader agrees
    parsed = list(csv.reader(io.StringIO(data.decode('utf-8'), newline='')))
    check(parsed[1:] == [[as_text(v) for v in r] for r in rows], 'CSV of %s parses back (csv module)' % table)

# table: aligned by display width, unicode included
out, _ = flsync('query', 'SELECT title, id, owner_id FROM projects ORDER BY id')
lines = out.splitlines()
check(len(lines) == 7, 'table: header, rule and 5 rows', out)
ends = set()
for l in lines[2:]:
    # the id column is right-aligned and ends at the same display column on every row
    head = l.rsplit('  ', 1)[0].rstrip()
    ends.add(width(head))
check(len(ends) == 1, 'table columns line up with unicode titles', out)
check('Logo design for café ☕' in out and '日本語' in out, 'table keeps unicode text', out)

# parameters: positional, named, typed
out, _ = flsync('query', 'SELECT title FROM projects WHERE owner_id = ? AND budget_maximum > :min ORDER BY id',
                '--param', '2001', '--param', 'min=300', '-f', 'jsonl')
check([json.loads(l)['title'] for l in out.splitlines()] == ['Build a Flask website'], 'bound parameters', out)
out, _ = flsync('query', 'SELECT ? AS a, typeof(?) AS b LIMIT ?', '--param', 'hello', '--param', '2.5',
                '--param', '1', '-f', 'json')
check(json.loads(out) == [{'a': 'hello', 'b': 'real'}], 'parameters are typed by their look', out)

# ---- search -------------------------------------------------------------------------
out, _ = flsync('search', 'zanzibar', '-f', 'json')
res = json.loads(out)
check(len(res) == 1 and res[0]['kind'] == 'message' and res[0]['id'] == 60004, 'FTS finds the known message', out)
check(res and '[zanzibar]' in res[0]['snippet'], 'the match is highlighted in the snippet', out)
out, _ = flsync('search', 'zanzibar')
check('[zanzibar]' in out and '60004' in out, 'search as a table', out)
out, _ = flsync('search', 'logo', '--in', 'projects', '-f', 'jsonl')
res = [json.loads(l) for l in out.splitlines()]
check([r['id'] for r in res] == [102] and all(r['kind'] == 'project' for r in res), 'search --in projects', out)
out, _ = flsync('search', 'logo OR invoice', '-f', 'json', '--limit', '10')
kinds = {r['kind'] for r in json.loads(out)}
check(kinds == {'project', 'message'}, 'search both kinds, FTS5 syntax honoured', out)
ranks = [r['relevance'] for r in json.loads(out)]
check(ranks == sorted(ranks, reverse=True), 'results come best first (relevance)', ranks)
out, err = flsync('search', 'needs valgrind"', '-f', 'json', what='search with invalid FTS5 syntax')
res = json.loads(out) if out.strip() else []
check([r['id'] for r in res] == [105], 'invalid FTS5 syntax falls back to a phrase', out + err)
out, _ = flsync('search', '了解しました', '--in', 'messages', '-f', 'json')
check([r['id'] for r in json.loads(out)] == [60007], 'search finds Japanese text', out)
# unspaced scripts: a word inside a sentence is found as a substring, and marked
out, _ = flsync('search', 'データ入力', '-f', 'json')
res = json.loads(out or '[]')
check([r['id'] for r in res] == [60006] and '[データ入力]' in res[0]['snippet'],
      'search finds a Japanese word inside a sentence', out)
out, _ = flsync('search', '日本 Manual', '--in', 'projects', '-f', 'json')
res = json.loads(out or '[]')
check([r['id'] for r in res] == [103] and '[日本]' in res[0]['snippet'],
      'a CJK search with a Latin word: every part must occur, ASCII case folded', out)
out, _ = flsync('search', '日本 zanzibar', '-f', 'json')
check(json.loads(out or '[]') == [], 'every part must occur', out)
out, _ = flsync('search', '_日本', '-f', 'json')
check(json.loads(out or '[]') == [], 'LIKE wildcards in the text are literal', out)
out, _ = flsync('search', '"了解しました 👍"', '-f', 'json')
check([r['id'] for r in json.loads(out or '[]')] == [60007], 'a "quoted part" with a space is one part', out)
out, _ = flsync('search', 'こんにちは\u3000データ', '-f', 'json')
check([r['id'] for r in json.loads(out or '[]')] == [60006], 'the ideographic space separates parts', out)
out, _ = flsync('search', '日本 本 日本', '--in', 'projects', '-f', 'json')
res = json.loads(out or '[]')
check(res and '[日本]語' in res[0]['snippet'] and '[[' not in res[0]['snippet'] and '[本]' not in res[0]['snippet'],
      'parts inside other parts are not marked twice', out)
flsync('search', ' '.join(['日'] * 17), code=2, what='search with 17 parts')
out, _ = flsync('search', 'cafe', '-f', 'json')
check([r['id'] for r in json.loads(out)] == [102], 'diacritics are folded (café)', out)

# ---- export ----------------------------------------------------------------------
exp = os.path.join(tmp, 'export')
# --all --internal: every table and view (--all alone leaves the bookkeeping out: test_truth.py)
out, _ = flsync('export', '--all', '--internal', '--format', 'csv', '--out', exp)
con = sqlite3.connect(DB)
tables = [r[0] for r in con.execute(
    "SELECT name FROM sqlite_schema WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' "
    "AND name NOT LIKE '%fts%' ORDER BY name")]
counts = {t: con.execute('SELECT count(*) FROM "%s"' % t).fetchone()[0] for t in tables}
con.close()
files = sorted(os.listdir(exp))
check(files == sorted(t + '.csv' for t in tables), 'export --all writes one file per table, no temp files left',
      (files, tables))
for t in tables:
    check(any(l.split()[:2] == [t, str(counts[t])] for l in out.splitlines()), 'export summary counts %s' % t, out)
    with open(os.path.join(exp, t + '.csv'), newline='') as f:
        n = len(list(csv.reader(f))) - 1
    check(n == counts[t], 'export %s.csv has every row' % t, (n, counts[t]))
check(any(l.startswith('total') and str(sum(counts.values())) in l for l in out.splitlines()), 'export total', out)

out, _ = flsync('export', 'projects', 'report_bids_monthly', '-f', 'jsonl', '-o', exp)
with open(os.path.join(exp, 'projects.jsonl')) as f:
    check([json.loads(l)['id'] for l in f] == [101, 102, 103, 104, 105], 'export projects as JSONL')
check(os.path.exists(os.path.join(exp, 'report_bids_monthly.jsonl')), 'export a view by name')
_, err = flsync('export', 'nosuch', '-f', 'csv', '-o', exp, code=1, what='export an unknown table')
check('no table or view named nosuch' in err, 'export names the unknown table', err)
check(not os.path.exists(os.path.join(exp, 'nosuch.csv')), 'a failed export leaves no file')
check(not [f for f in os.listdir(exp) if '.tmp.' in f], 'no temporary files are left')

# ---- status ----------------------------------------------------------------------
out, _ = flsync('status')
check('messages' in out and 'FAILING' in out and 'HTTP 503' in out, 'status shows a failing stream and its error', out)
check('1 pending' in out and '1 failed' in out, 'status counts actions', out)
check('187/200 per 60s' in out, 'status shows rate-limit budgets', out)
out, _ = flsync('status', '--json')
st = json.loads(out)
check(st['actions'] == {'queued': 1, 'sending': 0, 'done': 1, 'failed': 1, 'cancelled': 0, 'pending': 1},
      'status --json actions', st.get('actions'))
check([s['stream'] for s in st['streams']] == ['bids', 'messages', 'projects.own'], 'status --json streams', out)
check(st['streams'][1]['failures'] == 2 and st['streams'][0]['last_success'] == 1714000000, 'status --json stream fields')
check(st['rate_limits'][1]['paused_until'] == 1714000900, 'status --json rate limits', out)

# ---- a reader beside a writer ----------------------------------------------------------
con = sqlite3.connect(DB, isolation_level=None)
con.execute('BEGIN IMMEDIATE')
con.execute("INSERT INTO projects(id, title) VALUES (999, 'not yet committed')")
out, _ = flsync('query', 'SELECT count(*) AS n FROM projects', '-f', 'json', what='query while another connection writes')
check(out.strip() and json.loads(out) == [{'n': 5}], 'a reader is not blocked and sees the last commit', out)
con.execute('ROLLBACK')
con.close()

# ---- queue ---------------------------------------------------------------------------
if True:
    flsync('queue', 'list')
    out, _ = flsync('queue', 'list', '--json')
    acts = [json.loads(l) for l in out.splitlines()]
    check([a['kind'] for a in acts] == ['message.send', 'bid.retract', 'thread.read'], 'queue list --json', out)
    out, _ = flsync('queue', 'list', '--state', 'failed')
    check('bid.retract' in out and 'BID_NOT_FOUND' in out and 'message.send' not in out, 'queue list --state failed', out)
    out, _ = flsync('queue', 'add', 'message.send', '--param', 'thread_id=502', '--param', 'message=Done, 本当に')
    check(out.startswith('queued action'), 'queue add with --param', out)
    new_id = int(out.split()[2])
    out, _ = flsync('queue', 'show', str(new_id), '--json')
    a = json.loads(out)
    check(a['kind'] == 'message.send' and a['state'] == 'queued' and a['params'].get('thread_id') == 502
          and a['params'].get('message') == 'Done, 本当に', 'queue show --json', out)
    out, _ = flsync('queue', 'cancel', str(new_id))
    out, _ = flsync('queue', 'show', str(new_id))
    check('cancelled' in out, 'queue cancel', out)
    flsync('queue', 'cancel', str(new_id), code=1, what='cancel a cancelled action')
    out, _ = flsync('queue', 'add', 'thread.read', '--json', '{"thread_id": 501}')
    check(out.startswith('queued action'), 'queue add with --json', out)
    _, err = flsync('queue', 'add', 'bid.frobnicate', '--json', '{}', code=1, what='queue add an unknown kind')
    check('frobnicate' in err, 'an unknown kind is named', err)
    flsync('queue', 'show', '99999', code=1, what='queue show a missing action')
    flsync('queue', 'show', 'abc', code=2, what='queue show a non-number')
    flsync('queue', 'add', 'thread.read', code=2, what='queue add without parameters')

# ---- report --------------------------------------------------------------------------
rep = os.path.join(tmp, 'report.html')
flsync('report', '--out', rep)
html = open(rep, encoding='utf-8').read()
check(html.startswith('<!DOCTYPE html>') and html.rstrip().endswith('</html>'), 'report is a whole HTML page')
check(html.count('<svg') >= 4, 'report has its charts', html.count('<svg'))
check('<script' not in html and 'src=' not in html and '<link' not in html
      and html.count('url(') == html.count('url(#'),
      'report is self-contained: no scripts, no external resources (patterns by local url(#id) only)')
check('selfie' in html and 'insight_cashflow_monthly' in html and '2024-01' in html,
      'report shows the account and months')
out, _ = flsync('query', 'SELECT round(sum(earned_usd), 2) AS e FROM insight_cashflow_monthly', '-f', 'json')
earned = json.loads(out)[0]['e']
check(earned and ('<b>%.2f USD</b>' % earned) in html, 'report totals earnings in the home currency (USD)',
      (earned, html[:3000]))
check('report_milestones_monthly' in html and '<td>EUR</td>' in html and '<td>USD</td>' in html,
      'the per-currency detail is in a table under the chart')
svg = html[html.index('<h3>Bids per month</h3>'):]
svg = svg[:svg.index('</svg>')]
check('>2024-03<' in svg and '2024-03 bids' not in svg and '2024-04 bids' in svg,
      'the bids chart keeps a month without bids (2024-03) on its axis, without bars', svg[:2000])
# a month whose bids have no award status yet: 0 won and a 0% win rate, not NULL
quiet = os.path.join(tmp, 'quiet.db')
shutil.copy(DB, quiet)
con = sqlite3.connect(quiet)
con.execute("INSERT INTO bids(id, project_id, bidder_id, amount, period, time_submitted, raw, synced_at) "
            "VALUES (9100, 105, 1001, 75, 2, 1717300000, '{\"id\":9100}', 1717300000)")
con.commit()
con.close()
out, _ = flsync('query', "SELECT * FROM report_bids_monthly WHERE month = '2024-06'", '-f', 'json', db=quiet)
check(json.loads(out or '[]') == [{'month': '2024-06', 'placed': 1, 'won': 0, 'win_rate_pct': 0.0}],
      'report_bids_monthly: a month of bids without award status has 0 won', out)
chromium = shutil.which('chromium') or ('/usr/bin/chromium' if os.path.exists('/usr/bin/chromium') else None)
if not chromium:
    print('SKIP: report screenshot: chromium is not installed (apt-get install chromium to run it)')
else:
    png = os.path.join(tmp, 'out.png')
    prof = tempfile.mkdtemp(prefix='flchrome.')
    r = subprocess.run([chromium, '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
                        '--disable-component-update', '--disable-sync', '--no-first-run', '--user-data-dir=' + prof,
                        '--screenshot=' + png, '--window-size=1200,1600', 'file://' + rep],
                       capture_output=True, timeout=120, cwd=tmp)
    shutil.rmtree(prof, ignore_errors=True)
    check(os.path.exists(png), 'chromium took a screenshot', r.stderr.decode()[-1000:])
    if os.path.exists(png):
        import struct
        import zlib
        data = open(png, 'rb').read()
        # decode the PNG enough to count colours (8-bit RGB/RGBA, no interlace: chromium's output)
        pos, idat, w, h, ctype = 8, b'', 0, 0, 0
        while pos < len(data):
            n, kind = struct.unpack('>I4s', data[pos:pos + 8])
            body = data[pos + 8:pos + 8 + n]
            if kind == b'IHDR':
                w, h, _, ctype = struct.unpack('>IIBB', body[:10])
            elif kind == b'IDAT':
                idat += body
            pos += 12 + n
        raw = zlib.decompress(idat)
        bpp = 4 if ctype == 6 else 3
        stride = w * bpp
        prev = bytearray(stride)
        colours, inked = set(), 0
        for y in range(h):  # undo the PNG row filters (RFC 2083 6.2-6.6)
            f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                if f == 1:
                    line[i] = (line[i] + a) & 255
                elif f == 2:
                    line[i] = (line[i] + b) & 255
                elif f == 3:
                    line[i] = (line[i] + (a + b) // 2) & 255
                elif f == 4:
                    pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                    line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
            prev = line
            if y % 4 == 0:
                for x in range(0, stride, bpp * 4):
                    px = bytes(line[x:x + 3])
                    colours.add(px)
                    inked += px != b'\xff\xff\xff'
        samples = (h + 3) // 4 * ((w + 3) // 4)
        print('report screenshot: %dx%d, %d colours, %.1f%% not white' % (w, h, len(colours), 100.0 * inked / samples))
        check(len(colours) >= 8 and inked > samples // 100, 'the screenshot is not blank',
              '%d colours, %d of %d samples not white' % (len(colours), inked, samples))

# flsync feed: the positions that hold the change feed, and letting one go
out, _ = flsync('feed', 'list')
check('no position held' in out, 'feed list with nothing held says so', out)
con = sqlite3.connect(DB)
with con:
    latest = con.execute('SELECT coalesce(max(seq), 0) FROM changes').fetchone()[0]
    con.execute("INSERT INTO feed_consumers VALUES ('crm-export', ?, strftime('%s', 'now') - 86400 * 40, "
                "strftime('%s', 'now') - 86400 * 40)", (latest - 1,))
    con.execute("INSERT INTO sync_state(stream, cursor, cursor_extra, last_success) "
                "VALUES ('sink.postgres.team', ?, '{\"file_id\":\"f1\"}', strftime('%s', 'now'))", (latest,))
con.close()
out, _ = flsync('feed', 'list', '--format', 'json')
try:
    got = [(r['name'], r['kind'], r['position'], r['behind']) for r in json.loads(out)]
except (ValueError, KeyError) as e:
    got = e
check(got == [('crm-export', 'consumer', latest - 1, 1), ('sink.postgres.team', 'sink', latest, 0)],
      'feed list: both positions, oldest first, with how far behind each is', out)
out, _ = flsync('feed', 'list')
check(out.startswith('feed: ') and 'crm-export' in out and 'sink.postgres.team' in out and 'last_read' in out,
      'feed list as a table', out)
out, _ = flsync('status')
check('oldest position held %d (crm-export; 2 consumers: flsync feed list)' % (latest - 1) in out,
      'status names the oldest position and points to flsync feed', out)
out, _ = flsync('feed', 'unregister', 'crm-export')
check('crm-export no longer holds the feed' in out, 'feed unregister says what it did', out)
_, err = flsync('feed', 'unregister', 'crm-export', code=1)
check('nothing named crm-export holds a position' in err, 'unregistering twice names what is missing', err)
flsync('feed', 'unregister', 'sink.postgres.team')
check(db_rows("SELECT cursor, json_extract(cursor_extra, '$.file_id') FROM sync_state "
              "WHERE stream = 'sink.postgres.team'")[1] == [(None, 'f1')],
      "an unregistered sink keeps its row (the mirror's identity), without a position")
out, _ = flsync('feed', 'list')
check('no position held' in out, 'nothing is held after both went', out)
check(db_rows('SELECT count(*) FROM feed_consumers')[1][0][0] == 0, 'the consumer row is gone')
flsync('feed', 'unregister', code=2, what='feed unregister without a name')
flsync('feed', 'unregister', '', code=2, what='feed unregister with an empty name')
flsync('feed', 'unregister', 'x' * 65, code=2, what='feed unregister with a name of 65 bytes')
flsync('feed', 'unregister', 'crm-export', '--format', 'json', code=2, what='feed unregister --format')
hostile = 'evil\x1b[31m\nred\u009b2J'
con = sqlite3.connect(DB)
with con:
    con.execute("INSERT INTO feed_consumers VALUES (?, ?, 0, 0)", (hostile, latest))
con.close()
for args in (('status',), ('feed', 'list')):
    out, _ = flsync(*args)
    check('evil' in out and '\x1b' not in out and '\u009b' not in out and 'evil\n' not in out,
          'flsync %s shows a hostile consumer name as text, on its line' % ' '.join(args), repr(out[-600:]))
out, _ = flsync('feed', 'unregister', hostile)
check(db_rows('SELECT count(*) FROM feed_consumers')[1][0][0] == 0, 'the hostile name is unregistered by name')
flsync('feed', 'frobnicate', code=2, what='feed with an unknown subcommand')

shutil.rmtree(tmp, ignore_errors=True)
H.exit()
