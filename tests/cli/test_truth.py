#!/usr/bin/env python3
"""test_truth.py FLSYNC FLSYNCD FLMOCK CLI_FIXTURE — every screen tells the
truth (issue 21), one section per point:

1. status ages on the local clock against flmock's far-off clock, the
   running flsyncd (pid, next pass) named, columns that never overflow;
2. mixed search: a title hit ranks first, relevance 0..100, title:word in a
   mixed search, C++ / C# / .NET / Node.js findable;
3. the inbox names the last message's real sender, "You" for the account;
4. views on a world with closed and frozen projects: my_active_bids and
   open_projects_with_bids hold what their names say, in the UI's words;
5. a read-only directory: query, search, export, status and report work and
   say they are read-only; writers say what to do;
8. CLI details: queue add refusals, queue send --dry-run, export --all /
   --internal / json / -, status --all without a config, a refused token,
   --param 007, query markdown/tsv, flsyncd's log lines, error prefixes.

flmock parts are skipped (the rest still runs) when flmock cannot start.
"""
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

FLSYNC, FLSYNCD, FLMOCK, FIXTURE = sys.argv[1:5]
FIXTURE_SQL = os.environ.get('FL_CLI_FIXTURE_SQL') or os.path.join(os.path.dirname(__file__), 'fixture.sql')
TOKEN = 'truthtest'
tmp = tempfile.mkdtemp(prefix='fltruth.')
os.chmod(tmp, 0o755)
DB = os.path.join(tmp, 'fixture.db')
failures = []
checks = 0
procs = []


def check(cond, what, detail=''):
    global checks
    checks += 1
    if not cond:
        failures.append(what)
        print('FAIL: %s%s' % (what, ('\n  ' + str(detail)[:3000].replace('\n', '\n  ')) if detail else ''),
              flush=True)


def readable_copy(program):
    """program and the libflsync it loads, copied where any user can read them
    (a build under /root, as on a fresh machine, is not), and the environment
    that makes the copy load the copied library."""
    bindir = os.path.join(tmp, 'bin-for-others')
    if not os.path.isdir(bindir):
        os.mkdir(bindir)
        os.chmod(bindir, 0o755)
    copy = os.path.join(bindir, os.path.basename(program))
    if not os.path.exists(copy):
        shutil.copy(program, copy)
        libs = subprocess.run(['ldd', program], capture_output=True, text=True).stdout
        for line in libs.splitlines():
            m = re.search(r'(libflsync\.so[^ ]*) => (/\S+)', line)
            if m:
                shutil.copy(m.group(2), os.path.join(bindir, m.group(1)))
        for f in os.listdir(bindir):
            os.chmod(os.path.join(bindir, f), 0o755)
    return copy, {'LD_LIBRARY_PATH': bindir}


def run(cmd, env=None, code=0, what=None, as_user=False):
    e = dict(os.environ)
    e.pop('FLSYNC_DB', None)
    e.update(env or {})
    if as_user and os.geteuid() == 0:
        # root writes anywhere: a read-only directory needs another user to be one
        prog, more = readable_copy(cmd[0])
        e.update(more)
        cmd = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', prog] + cmd[1:]
    p = subprocess.run(cmd, capture_output=True, env=e, cwd=tmp, timeout=300)
    out, err = p.stdout.decode('utf-8', 'replace'), p.stderr.decode('utf-8', 'replace')
    if code is not None:
        check(p.returncode == code, '%s: exit %d, want %d' % (what or ' '.join(os.path.basename(c) for c in cmd[:4]),
                                                              p.returncode, code), out[-1500:] + err[-1500:])
    return out, err


def flsync(*args, db=DB, **kw):
    return run([FLSYNC] + (['--db', db] if db else []) + list(args), **kw)


def jl(text, default=None):
    """text as JSON, or default when it is not (the command failed)."""
    try:
        return json.loads(text)
    except ValueError:
        return default


def sql(statements, db=DB):
    con = sqlite3.connect(db)
    con.executescript(statements)
    con.commit()
    con.close()


def rows(query, db=DB):
    con = sqlite3.connect(db)
    try:
        return con.execute(query).fetchall()
    except sqlite3.Error as e:
        check(False, 'query %s' % query[:60], e)
        return []
    finally:
        con.close()


def start_mock(seed, scale):
    p = subprocess.Popen([FLMOCK, '--port', '0', '--seed', str(seed), '--token', TOKEN, '--scale', str(scale)],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    line = p.stdout.readline().decode()
    if not line.startswith('listening on '):
        p.kill()
        return None, None
    procs.append(p)
    return p, line.split()[-1]


# ---- the fixture, with what the points need ------------------------------------------

r = subprocess.run([FIXTURE, DB, FIXTURE_SQL], capture_output=True)
if r.returncode != 0:
    print('cli_fixture failed:', r.stderr.decode())
    sys.exit(1)
LOGO_MESSAGES = 200
sql('''
INSERT INTO projects(id, owner_id, title, description, type, status, currency_id, time_submitted, raw, synced_at) VALUES
  (201, 2001, 'Bakery needs a new logo', 'Round, warm, simple.', 'fixed', 'active', 1, 1712100000, '{}', 1714000000),
  (202, 2002, 'C++ developer for a trading engine', 'Low latency C++17.', 'fixed', 'active', 1, 1712100000, '{}', 1714000000),
  (203, 2002, 'Small fix in a C program', 'Plain C, no classes.', 'fixed', 'active', 1, 1712100000, '{}', 1714000000),
  (204, 2002, 'Port a service to .NET', 'ASP.NET core and C# 12.', 'fixed', 'active', 1, 1712100000, '{}', 1714000000),
  (205, 2002, 'Node.js backend for a shop', 'Express and Postgres.', 'fixed', 'active', 1, 1712100000, '{}', 1714000000),
  (206, 2001, 'Frozen: awarded to someone else', 'Nothing left.', 'fixed', 'frozen', 1, 1712100000, '{}', 1714000000),
  (207, 2001, 'Closed before anyone won', 'Closed.', 'fixed', 'closed', 1, 1712100000, '{}', 1714000000),
  (208, 2003, 'Frozen: offered to me', 'Waiting for my answer.', 'fixed', 'frozen', 1, 1712100000, '{}', 1714000000);
INSERT INTO bids(id, project_id, bidder_id, project_owner_id, amount, period, award_status, frontend_bid_status,
                 retracted, time_submitted, raw, synced_at) VALUES
  (9101, 206, 1001, 2001, 100, 5, NULL, 'active', 0, 1712100000, '{}', 1714000000),
  (9102, 207, 1001, 2001, 100, 5, NULL, 'active', 0, 1712100000, '{}', 1714000000),
  (9103, 208, 1001, 2003, 100, 5, 'pending', 'active', 0, 1712100000, '{}', 1714000000),
  (9104, 206, 2004, 2001, 90, 5, 'awarded', 'in progress', 0, 1712100000, '{}', 1714000000);
UPDATE threads SET is_read = 0 WHERE id = 501;
''')
con = sqlite3.connect(DB)
# Few messages say "logo" among many (a rare word there: bm25 rates it high),
# many projects mention it in passing (a common word there): per-table bm25
# then put every message above the projects named for it.
for i in range(LOGO_MESSAGES):
    con.execute("INSERT INTO messages(id, thread_id, from_user_id, message, time_created, raw, synced_at) "
                "VALUES (?, 502, 2003, ?, ?, '{}', 1714000000)",
                (61000 + i, ('Logo?' if i % 2 else 'The logo, the logo! v%d' % i) if i < 6
                 else 'Week %d: the spreadsheet rows are entered.' % i, 1700000000 + i))
for i in range(20):
    con.execute("INSERT INTO projects(id, owner_id, title, description, type, status, currency_id, time_submitted, "
                "raw, synced_at) VALUES (?, 2001, ?, ?, 'fixed', 'active', 1, 1712100000, '{}', 1714000000)",
                (300 + i, 'Website page %d' % i, 'A long description of the site, its pages, its menu, its footer '
                 'and, somewhere among many other words about colours and fonts, the logo.'))
con.commit()
con.close()

# ---- 2. mixed search ------------------------------------------------------------------

out, _ = flsync('search', 'logo', '--limit', '1000', '-f', 'json')
res = jl(out, [])
titled = [i for i, r in enumerate(res) if r['kind'] == 'project' and 'logo' in r['title'].lower()]
check(titled and max(titled) < len(titled), '2: projects with logo in the title come first in a mixed search',
      [(r['kind'], r['title'], r.get('relevance')) for r in res[:8]])
check(all(isinstance(r.get('relevance'), int) and 0 <= r['relevance'] <= 100 for r in res),
      '2: relevance is a whole number from 0 to 100', res[:3])
rel = [r.get('relevance') for r in res]
check(None not in rel and rel == sorted(rel, reverse=True), '2: best first by relevance', rel[:10])
out, err = flsync('search', 'title:logo', '-f', 'json')
res = jl(out, [])
check({r['id'] for r in res} == {102, 201} and all(r['kind'] == 'project' for r in res),
      '2: title:logo works in a mixed search', out + err)
out, err = flsync('search', '{title description}: logo', '-f', 'json')
check({r['id'] for r in jl(out, [])} >= {102, 201} and all(r['kind'] == 'project' for r in jl(out, [])),
      '2: a column set {title description} works in a mixed search', out + err)
flsync('search', 'Re: logo', what='"Re: logo" is text, not a column filter')
out, err = flsync('search', 'nosuchcolumn:logo', code=2)
check('no column nosuchcolumn' in err, '2: an unknown column is named', err)
for q, want in (('C++', {202}), ('C#', {204}), ('.NET', {204}), ('Node.js', {205})):
    out, err = flsync('search', q, '--in', 'projects', '-f', 'json')
    got = {r['id'] for r in jl(out, [])}
    check(got == want, '2: %s finds exactly its projects' % q, (got, err))
out, _ = flsync('search', 'C', '--in', 'projects', '-f', 'json')
got = {r['id'] for r in jl(out, [])}
check(203 in got and 202 not in got, '2: C is not C++', got)
out, _ = flsync('search', 'trading C++ engine', '--in', 'projects', '-f', 'json')
got = [r['id'] for r in jl(out, [])]
check(got == [202], '2: C++ among other words', got)

# ---- 3. the inbox's last sender -----------------------------------------------------

got = dict((r[0], r[1]) for r in rows('SELECT id, last_from FROM unread_threads'))
check(got.get(501) == 'You', '3: unread_threads says You for the account\'s own last message', got)
check(got.get(502) == '山田 太郎', '3: unread_threads names the other person when they wrote last', got)
ui = subprocess.Popen([FLSYNC, '--db', DB, 'ui', '--listen', '127.0.0.1:0'], stdout=subprocess.PIPE,
                      stderr=subprocess.DEVNULL, cwd=tmp)
procs.append(ui)
line = ui.stdout.readline().decode()
m = re.match(r'listening on (http://[^/]+/)\?token=(\S+)', line)
check(m, '3: flsync ui starts', line)
if m:
    req = urllib.request.Request(m.group(1) + 'api/threads', headers={'X-Flsync-Token': m.group(2)})
    with urllib.request.urlopen(req, timeout=30) as resp:
        threads = {t['id']: t for t in jl(resp.read(), {}).get('threads', [])}
    t501, t502 = threads.get(501, {}), threads.get(502, {})
    check(t501.get('last_mine') == 1 and t501.get('last_message', '').startswith('Thanks, paid'),
          '3: the UI\'s inbox marks the account\'s own last message as its own', t501)
    check(t502.get('last_mine') == 0 and t502.get('last_sender') == '山田 太郎',
          '3: the UI\'s inbox names the real sender of the last message', t502)
ui.terminate()
ui.wait(timeout=30)
app_js = open(os.path.join(os.path.dirname(__file__), '..', '..', 'tools', 'flsync', 'ui', 'app.js')).read()
check("t.last_mine ? 'You' : t.last_sender" in app_js, '3: the inbox line shows "You:" or the sender')

# ---- 4. views ---------------------------------------------------------------------

got = {r[0]: (r[1], r[2]) for r in rows('SELECT id, project_status, award_status FROM my_active_bids')}
check(set(got) == {9003, 9004, 9103}, '4: my_active_bids holds the bids still in play, none on closed or '
      'lost frozen projects', got)
check(got.get(9004, (None, None))[1] == 'open' and got.get(9103, (None, None))[1] == 'pending'
      and got.get(9003, (None, None))[1] == 'awarded',
      '4: never awarded reads "open" (the UI\'s word), an award offer "pending"', got)
got = {r[0]: r[1] for r in rows('SELECT id, status FROM open_projects_with_bids')}
check(got and set(got.values()) == {'active'}, '4: open_projects_with_bids holds active projects only', got)
views_md = os.path.join(os.path.dirname(__file__), '..', '..', 'docs', 'views.md')
doc = open(views_md).read() if os.path.exists(views_md) else ''
for (name,) in rows("SELECT name FROM sqlite_schema WHERE type = 'view' AND name NOT LIKE 'insight%'"):
    check('`%s`' % name in doc, '4: docs/views.md documents %s' % name)

# ---- 8. CLI details on the fixture ---------------------------------------------------------

out, err = flsync('queue', 'add', 'bid.create', '--param', 'project_id=105', '--param', 'amount=100',
                  '--param', 'period=3', '--param', 'milestone_percentage=50', '--param', 'description=again',
                  code=1)
check('DUPLICATE_BID' in err and '9004' in err, '8: queue add refuses a second bid on a project, saying why', err)
out, err = flsync('queue', 'add', 'message.send', '--param', 'thread_id=424242', '--param', 'message=hi', code=1)
check('no thread 424242' in err, '8: queue add refuses a thread id not in the database', err)
flsync('queue', 'add', 'message.send', '--param', 'thread_id=501', '--param', 'message=On my way')
out, err = flsync('queue', 'send', '--dry-run')
check('POST /api/messages/0.1/threads/501/messages/' in out and 'On%20my%20way' in out and 'dry run' in out,
      '8: queue send --dry-run shows the request it would send', out + err)
check(rows("SELECT state FROM actions WHERE kind = 'message.send' AND params LIKE '%On my way%'") == [('queued',)],
      '8: a dry run sends nothing')
exp = os.path.join(tmp, 'export')
flsync('export', '--all', '-f', 'csv', '-o', exp)
files = set(os.listdir(exp))
check('my_active_bids.csv' in files and 'projects.csv' in files and 'actions.csv' in files,
      '8: export --all writes the data and the views', sorted(files))
check(not files & {'sync_state.csv', 'sync_batch.csv', 'changes.csv', 'ratelimit_state.csv', 'webhook_seen.csv',
                   'feed_state.csv', 'feed_consumers.csv', 'reply_times.csv', 'reply_months.csv'},
      '8: export --all leaves the bookkeeping out', sorted(files))
exp2 = os.path.join(tmp, 'export2')
flsync('export', '--all', '--internal', '-f', 'json', '-o', exp2)
files = set(os.listdir(exp2)) if os.path.isdir(exp2) else set()
check({'sync_state.json', 'changes.json', 'projects.json'} <= files, '8: --internal adds the bookkeeping', sorted(files))
check('projects.json' in files and len(json.load(open(os.path.join(exp2, 'projects.json'))))
      == rows('SELECT count(*) FROM projects')[0][0], '8: export -f json writes one array a file')
out, err = flsync('export', 'my_active_bids', '-f', 'jsonl', '-o', '-')
check(sorted((jl(l) or {}).get('id', 0) for l in out.splitlines()) == [9003, 9004, 9103] and 'rows' in err,
      '8: export -o - writes to standard output, the summary to standard error', out + err)
out, _ = flsync('query', 'SELECT ? AS v, typeof(?) AS t, typeof(?) AS n', '--param', '007', '--param', '007',
                '--param', '42', '-f', 'json')
check(jl(out) == [{'v': '007', 't': 'text', 'n': 'integer'}], '8: --param 007 is text, 42 a number', out)
out, _ = flsync('query', 'SELECT id, title FROM projects WHERE id IN (101, 202) ORDER BY id', '-f', 'markdown')
check(out.splitlines()[:3] == ['| id | title |', '| --- | --- |', '| 101 | Build a Flask website |'],
      '8: query --format markdown', out)
out, _ = flsync('query', "SELECT 1 AS a, 'x' || char(9) || 'y' AS b", '-f', 'tsv')
check(out == 'a\tb\n1\tx\\ty\n', '8: query --format tsv escapes a tab', repr(out))
out, err = flsync('resync', '--stream', 'nosuch', code=1, what='resync of an unknown stream')
check('resync: resync:' not in err and 'nosuch' in err, '8: an error prefix is not repeated', err)
home = os.path.join(tmp, 'home')
os.mkdir(home)
out, err = flsync('status', '--all', env={'HOME': home, 'XDG_CONFIG_HOME': ''})
check(out.splitlines()[1].startswith('default ') if len(out.splitlines()) > 1 else False, '8: status --all without a configuration file shows the --db database',
      out + err)

# ---- 5. a read-only directory ------------------------------------------------------------

ro = os.path.join(tmp, 'ro')
os.mkdir(ro)
con = sqlite3.connect(DB)
con.execute('PRAGMA wal_checkpoint(TRUNCATE)')
con.close()
shutil.copy(DB, os.path.join(ro, 'flsync.db'))
RO = os.path.join(ro, 'flsync.db')
os.chmod(RO, 0o444)
os.chmod(ro, 0o555)
outdir = os.path.join(tmp, 'ro-out')
os.mkdir(outdir)
os.chmod(outdir, 0o777)
out, err = flsync('query', 'SELECT count(*) AS n FROM projects', '-f', 'json', db=RO, as_user=True)
check((jl(out) or [{}])[0].get('n') == 33 and 'read-only' in err,
      '5: query reads a database in a read-only directory and says it is read-only', out + err)
out, err = flsync('search', 'logo', '-f', 'json', db=RO, as_user=True)
check(len(jl(out, [])) > 0, '5: search works there', out + err)
flsync('export', 'projects', '-f', 'csv', '-o', outdir, db=RO, as_user=True)
check(os.path.exists(os.path.join(outdir, 'projects.csv')), '5: export works there')
out, err = flsync('status', db=RO, as_user=True)
check('read-only' in (out.splitlines() or [''])[0], '5: status says read-only', out + err)
flsync('report', '--out', os.path.join(outdir, 'report.html'), db=RO, as_user=True)
check(os.path.exists(os.path.join(outdir, 'report.html')), '5: report works there')
out, err = flsync('queue', 'add', 'thread.read', '--param', 'thread_id=501', db=RO, as_user=True, code=1)
check('read-only' in err and 'writable' in err and 'attempt to write' not in err,
      '5: a writer says the database is read-only and what to do', err)
check(sorted(os.listdir(ro)) == ['flsync.db'], '5: reading left nothing beside the file', os.listdir(ro))
os.chmod(ro, 0o755)

# ---- 1. status against flmock's far-off clock, and flsyncd -------------------------------------

mock, url = start_mock(21, 2000)
if not mock:
    print('SKIP: flmock did not start; the status and flsyncd checks are skipped')
else:
    W = os.path.join(tmp, 'world.db')
    out, err = run([FLSYNCD, '--db', W, '--api', url, '--once', '-v'], env={'FLSYNC_TOKEN': TOKEN})
    lines = [l for l in err.splitlines() if 'flsyncd:' in l]
    check(lines and all(re.match(r'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d flsyncd: ', l) for l in lines),
          '8: flsyncd\'s log lines start with their time', '\n'.join(lines[:5]))
    check(not re.search(r'rows of \d', err), '8: no "N rows of M"', err[-1500:])
    now = time.time()
    out, _ = flsync('status', '--json', db=W)
    st = jl(out, {'streams': []})
    ages = {s['stream']: now - s['last_success'] for s in st['streams']}
    check(ages and all(-5 < a < 600 for a in ages.values()), '1: every stream\'s last success is minutes old, on the '
          'local clock, though the API\'s clock is far off', ages)
    check(st['streams'] and all(s.get('server_success', now) < now - 86400 for s in st['streams']),
          '1: the API\'s clock is kept beside it (server_success)', st['streams'][:2])
    out, _ = flsync('status', db=W)
    check(not re.search(r'\d+d ago', out), '1: status shows no ages in days', out)
    head = [l for l in out.splitlines() if l.startswith('ENDPOINT')]
    body = out.split(head[0])[1].split('\n\n')[0].strip('\n').splitlines() if head else []
    col = head[0].index('AS OF') if head else -1
    check(bool(head) and bool(body) and all(len(l) > col and l[col - 2:col] == '  ' and l[col] != ' ' for l in body),
          '1: the AS OF column stays in line under its header', out)
    check('not running' in out, '1: status says no flsyncd runs', out)
    daemon = subprocess.Popen([FLSYNCD, '--db', W, '--api', url, '--interval', '600'],
                              env=dict(os.environ, FLSYNC_TOKEN=TOKEN), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, cwd=tmp)
    procs.append(daemon)
    for _ in range(300):
        if os.path.exists(W + '.lock') and 'next ' in open(W + '.lock').read():
            break
        time.sleep(0.1)
    out, _ = flsync('status', db=W)
    check('flsyncd, pid %d' % daemon.pid in out and re.search(r'next pass in (\d+m|\d+s)', out),
          '1: status names the running flsyncd and its next pass', out[:400])
    st = jl(flsync('status', '--json', db=W)[0], {})
    check(st.get('flsyncd_pid') == daemon.pid and 500 < st.get('next_pass', 0) - time.time() <= 601,
          '1: status --json has flsyncd_pid and next_pass', (st.get('flsyncd_pid'), st.get('next_pass')))
    daemon.terminate()
    daemon.wait(timeout=60)

    BAD = os.path.join(tmp, 'refused.db')
    out, err = run([FLSYNCD, '--db', BAD, '--api', url, '--once'], env={'FLSYNC_TOKEN': 'wrong'}, code=None)
    check(not os.path.exists(BAD), '8: a refused token leaves no empty database', os.listdir(tmp))
    check('refused the token' in err and ': :' not in err, '8: the refusal reads well', err)

for p in procs:
    if p.poll() is None:
        p.kill()
        p.wait()
os.chmod(ro, 0o755) if os.path.exists(ro) else None
shutil.rmtree(tmp, ignore_errors=True)
print('%d checks, %d failed' % (checks, len(failures)))
sys.exit(1 if failures else 0)
