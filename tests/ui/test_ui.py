#!/usr/bin/env python3
"""test_ui.py FLSYNC FLSYNCD FLMOCK — `flsync ui` on a world flsyncd synced
from flmock, over HTTP and in a real browser (Debian's chromium through
chromedriver):

- its guards: no token, a POST without the token header, a foreign Origin
  or Host, a huge or malformed body, unknown ids, invalid actions: each a
  4xx with a message, and nothing queued;
- in the browser: open the inbox and read a thread; queue a reply and see
  it pending, then sent after flsyncd's pass replays it against flmock,
  without a reload; a message stored by a sync pass appears live; a message
  holding an HTML/JS payload shows as text and runs nothing; a POST the
  page makes without the token is refused.

Exit 77 (skipped) when chromium or chromedriver is missing; with
FL_UI_SCREENSHOT=PATH it saves the inbox's screenshot there.
"""
import json
import os
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import webdriver  # noqa: E402

FLSYNC, FLSYNCD, FLMOCK = sys.argv[1:4]
TOKEN = 'uitest'
XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script> & "quotes"'
H = harness.Run('ui')
tmp = H.tmp
check = H.check
DB = os.path.join(tmp, 'ui.db')


def sync():
    p = subprocess.run([FLSYNCD, '--db', DB, '--api', API, '--once'], capture_output=True, timeout=300,
                       env=dict(os.environ, FLSYNC_TOKEN=TOKEN))
    check(p.returncode == 0, 'flsyncd --once exits 0', p.stderr.decode()[-2000:])


def http(method, path, fields=None, headers=None, body=None, host=None, base=None):
    """(status, decoded JSON or text) for a request to flsync ui (at base, else UI)."""
    h = dict(headers or {})
    if fields is not None:
        body = urllib.parse.urlencode(fields).encode()
        h.setdefault('Content-Type', 'application/x-www-form-urlencoded')
    req = urllib.request.Request((base or UI) + path, data=body, method=method, headers=h)
    if host:
        req.add_unredirected_header('Host', host)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            status, data = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, data = e.code, e.read()
    try:
        return status, json.loads(data)
    except ValueError:
        return status, data.decode(errors='replace')


def count(sql, *args):
    con = sqlite3.connect(DB)
    n = con.execute(sql, args).fetchone()[0]
    con.close()
    return n


def guards():
    cookie = {'X-Flsync-Token': UI_TOKEN}  # how the page's script reads
    post_ok = {'X-Flsync-Token': UI_TOKEN, 'Origin': UI}
    actions = count('SELECT count(*) FROM actions')
    s, _ = http('GET', '/')
    check(s == 403, 'the page without the token: 403', s)
    s, _ = http('GET', '/api/threads')
    check(s == 403, 'an endpoint without the token: 403', s)
    s, body = http('GET', '/api/threads?token=' + UI_TOKEN[:-1] + 'x')
    check(s == 403, 'a wrong token: 403', s)
    s, body = http('GET', '/api/threads?limit=5', headers=cookie)
    check(s == 200 and len(body['threads']) == 5, 'the token header carries the token for GETs', (s, body))
    s, body = http('GET', '/api/threads?limit=5', headers={'Cookie': 'flsync_token_%s=%s; token=%s' % (PORT, UI_TOKEN, UI_TOKEN)})
    check(s == 403, 'a cookie is no token (browsers send cookies to every port)', (s, body))
    with urllib.request.urlopen(UI + '/?token=' + UI_TOKEN, timeout=30) as r:
        check(r.status == 200 and r.headers.get('Set-Cookie') is None, 'the page sets no cookie', r.headers)
    fields = {'kind': 'thread.read', 'params': json.dumps({'thread_id': THREAD})}
    s, body = http('POST', '/api/enqueue', fields, headers={'Origin': UI})
    check(s == 403 and 'token' in body.get('error', ''), 'a POST without the token header: 403', (s, body))
    s, body = http('POST', '/api/enqueue?token=' + UI_TOKEN, fields, headers={'Origin': UI})
    check(s == 403, 'a POST with the token only in its URL: 403', (s, body))
    s, body = http('POST', '/api/enqueue', fields, headers=dict(post_ok, Origin='http://evil.example'))
    check(s == 403, 'a POST from another origin: 403', (s, body))
    s, body = http('POST', '/api/enqueue', fields, headers=dict(post_ok, **{'Sec-Fetch-Site': 'cross-site'}))
    check(s == 403, 'a POST the browser calls cross-site: 403', (s, body))
    s, body = http('GET', '/api/threads', headers=cookie, host='evil.example:%s' % PORT)
    check(s == 421, 'a foreign Host header (DNS rebinding): 421', (s, body))
    s, body = http('POST', '/api/enqueue', headers=post_ok, body=b'kind=' + b'x' * (70 * 1024),
                   **{})
    check(s == 413, 'a body over 64 KiB: 413', (s, str(body)[:200]))
    s, body = http('POST', '/api/enqueue', headers=dict(post_ok, **{'Content-Type': 'application/json'}),
                   body=b'{"kind":"thread.read"}')
    check(s == 400 and 'form' in body.get('error', ''), 'a body that is not a form: 400', (s, body))
    s, body = http('POST', '/api/enqueue', headers=dict(post_ok, **{'Content-Type': 'application/x-www-form-urlencoded'}),
                   body=b'kind=thread.read&kind=thread.mute&params=%7B%7D')
    check(s == 400, 'a field given twice: 400', (s, body))
    s, body = http('POST', '/api/enqueue', {'kind': 'message.send', 'params': '{"thread_id":%d}' % THREAD}, headers=post_ok)
    check(s == 400 and 'message' in body.get('error', ''), 'an action missing a parameter: 400 naming it', (s, body))
    s, body = http('POST', '/api/enqueue', {'kind': 'bid.award', 'params': 'not json'}, headers=post_ok)
    check(s == 400, 'malformed params: 400', (s, body))
    s, body = http('POST', '/api/enqueue', {'kind': 'bid.create', 'params': json.dumps(
        {'project_id': 12345, 'amount': 50, 'period': 3, 'milestone_percentage': 50})}, headers=post_ok)
    check(s in (400, 404) and 'project' in body.get('error', ''), 'a bid on an unknown project: 4xx naming it',
          (s, body))
    s, body = http('POST', '/api/cancel', {'id': '999999999'}, headers=post_ok)
    check(s == 404, 'cancel an unknown action: 404', (s, body))
    s, body = http('POST', '/api/cancel', {'id': 'abc'}, headers=post_ok)
    check(s == 400, 'a non-numeric id: 400', (s, body))
    s, body = http('GET', '/api/thread?id=1', headers=cookie)
    check(s == 404 and 'thread' in body.get('error', ''), 'GET an unknown thread: 404', (s, body))
    s, body = http('GET', '/api/thread?id=1%27%20OR%201=1', headers=cookie)
    check(s == 400, 'an id with SQL in it: 400', (s, body))
    s, body = http('GET', '/api/nope', headers=cookie)
    check(s == 404, 'an unknown endpoint: 404', (s, body))
    s, body = http('DELETE', '/api/threads', headers=cookie)
    check(s == 405, 'an unknown method: 405', (s, body))
    s, body = http('GET', '/api/search?q=%22unbalanced', headers=cookie)
    check(s == 200 and 'results' in body, 'search text that is not FTS syntax still answers', (s, body))
    check(count('SELECT count(*) FROM actions') == actions, 'no refused request queued anything')
    s, body = http('POST', '/api/sync', {}, headers=post_ok)
    check(s == 409 and 'flsyncd' in body.get('error', ''), 'sync now without flsyncd: 409 saying so', (s, body))

    # With flsyncd running (an hour between passes), "sync now" starts a pass at once.
    log = open(os.path.join(tmp, 'flsyncd.err'), 'wb+')
    d = subprocess.Popen([FLSYNCD, '--db', DB, '--api', API, '--interval', '3600', '-v'], stderr=log,
                         stdout=subprocess.DEVNULL, env=dict(os.environ, FLSYNC_TOKEN=TOKEN))
    try:
        pid = None
        for _ in range(200):
            s, body = http('GET', '/api/status', headers=cookie)
            if s == 200 and body.get('flsyncd_pid') and b'next pass in' in open(log.name, 'rb').read():
                pid = body['flsyncd_pid']
                break
            time.sleep(0.05)
        check(pid == d.pid, 'the status names the running flsyncd', (pid, d.pid))
        s, body = http('POST', '/api/sync', {}, headers=post_ok)
        check(s == 202 and body.get('flsyncd_pid') == d.pid, 'sync now signals it', (s, body))
        for _ in range(200):
            if b'pass 2 started' in open(log.name, 'rb').read():
                break
            time.sleep(0.05)
        check(b'pass 2 started' in open(log.name, 'rb').read(), 'flsyncd starts its next pass at once',
              open(log.name, 'rb').read()[-1500:])
    finally:
        d.terminate()
        d.wait(30)
    s, body = http('GET', '/api/status', headers=cookie)
    check(s == 200 and body.get('flsyncd_pid') == 0, 'a stopped flsyncd is not taken for running', body)


def sync_here():
    """With --api and no flsyncd, "sync now" runs a pass in flsync ui itself."""
    before = count('SELECT sum(requests) FROM sync_state')
    env = dict(os.environ, FLSYNC_TOKEN=TOKEN)
    p, url = H.start([FLSYNC, 'ui', '--db', DB, '--listen', '127.0.0.1:0', '--api', API], 'ui-here', env=env,
                     cwd=tmp)
    base, token = url.split('/?token=')
    h = {'X-Flsync-Token': token, 'Origin': base}
    s, body = http('GET', '/api/status', headers=h, base=base)
    check(s == 200 and body['sync']['here'] and body['flsyncd_pid'] == 0, 'the status says a pass can run here', body)
    s, body = http('POST', '/api/sync', {}, headers=h, base=base)
    check(s == 202 and body.get('flsyncd_pid') == 0 and 'here' in body.get('message', ''),
          'sync now without flsyncd starts a pass here', (s, body))
    for _ in range(600):
        s, body = http('GET', '/api/status', headers=h, base=base)
        if s == 200 and body['sync']['passes'] >= 1:
            break
        time.sleep(0.05)
    check(body['sync']['passes'] == 1 and body['sync']['last_error'] is None and not body['sync']['running'],
          'the pass here ends without an error', body)
    check(count('SELECT sum(requests) FROM sync_state') > before,
          'the pass here made its requests and recorded them', before)
    # A flsyncd started now finds the lock free: the pass here held it only while it ran.
    d = subprocess.run([FLSYNCD, '--db', DB, '--api', API, '--once'], capture_output=True, timeout=300, env=env)
    check(d.returncode == 0, 'flsyncd syncs after the pass here', d.stderr.decode()[-1500:])
    p.terminate()
    p.wait(30)


def in_browser(b):
    b.get(UI_URL)
    n = b.wait("return document.querySelectorAll('li.thread').length", 30)
    check(n and n > 0, 'the inbox lists threads', n)
    b.script('location.reload()')
    time.sleep(0.5)
    n = b.wait("return document.querySelectorAll('li.thread').length", 30)
    check(n and n > 0, 'a reload keeps working (the token is in the URL)', n)
    shot = os.environ.get('FL_UI_SCREENSHOT') or os.path.join(tmp, 'inbox.png')
    b.screenshot(shot)
    check(os.path.getsize(shot) > 10000, 'a screenshot of the inbox', shot)

    b.click('li.thread[data-id="%d"] a' % THREAD)
    n = b.wait("return document.querySelectorAll('.message').length", 20)
    want = min(200, count('SELECT count(*) FROM messages WHERE thread_id = ?', THREAD))
    check(n == want, 'the thread shows its messages', (n, want))
    first = count("SELECT message FROM messages WHERE thread_id = ? ORDER BY time_created, id LIMIT 1", THREAD) \
        if want < 200 else None
    if first is not None:
        check(b.script("return document.querySelector('.message .text').textContent") == first,
              'the first message reads as stored')
    b.script('window.__marker = 42')

    reply = 'Reply from the browser, %d ✓' % time.time()
    b.type('#reply', reply)
    b.click('#send')
    js_state = """
      const ms = [...document.querySelectorAll('.message')].filter(m => m.querySelector('.text').textContent === arguments[0]);
      return ms.length ? (ms[ms.length - 1].querySelector('.state') || {}).textContent || 'none' : null;"""
    st = b.wait('return (function(){%s})()' % js_state.replace('arguments[0]', json.dumps(reply)), 20)
    check(st == 'pending', 'the queued reply shows pending at once', st)
    sync()  # replays the reply to flmock, then syncs
    st = b.wait('const s = (function(){%s})(); return s === "sent" ? s : null' % js_state.replace('arguments[0]', json.dumps(reply)), 30)
    check(st == 'sent', 'the reply shows sent after the pass, without a reload', st)
    sent = [json.loads(l) for l in urllib.request.urlopen(API + '/_mock/log').read().decode().splitlines()]
    check(any(reply in urllib.parse.parse_qs(e.get('body') or '').get('message', []) and e.get('applied')
              for e in sent), 'flmock received the reply', sent[-3:])

    # Another client posts into the thread; the pass stores it; the page shows it live.
    req = urllib.request.Request(API + '/api/messages/0.1/threads/%d/messages/' % THREAD,
                                 data=urllib.parse.urlencode({'message': XSS}).encode(), method='POST',
                                 headers={'Freelancer-OAuth-V1': TOKEN})
    check(json.loads(urllib.request.urlopen(req).read())['status'] == 'success', 'flmock took a message')
    # The sync's windows end a safety lag before the server's now: let the clock pass it, quietly.
    urllib.request.urlopen(urllib.request.Request(API + '/_mock/advance?seconds=900&quiet=900', method='POST'))
    sync()
    js_xss = """return [...document.querySelectorAll('.message .text')].some(t => t.textContent === %s)""" % json.dumps(XSS)
    check(b.wait(js_xss, 30), 'a message stored by a sync pass appears live')
    check(b.script('return window.__marker') == 42, 'no reload happened')
    check(b.script('return window.__xss === undefined'), 'the HTML/JS payload ran nothing')
    check(b.script("return document.querySelectorAll('.messages img, .messages script').length") == 0,
          'the payload made no elements')

    # Pages come and go (more than the server's 16 streams): their streams are let go, and live updates go on.
    for _ in range(24):
        b.get(UI_URL + '#/thread/%d' % THREAD)
        b.wait("return document.querySelectorAll('.message').length", 20)
    con = sqlite3.connect(DB)
    sender = con.execute('SELECT from_user_id FROM messages WHERE thread_id = ? AND from_user_id IS NOT '
                         '(SELECT id FROM users WHERE is_self = 1) LIMIT 1', (THREAD,)).fetchone()
    con.execute("INSERT INTO messages(id, thread_id, from_user_id, message, time_created, time_updated, raw) "
                "VALUES ((SELECT max(id) + 1 FROM messages), ?, ?, 'after many pages', strftime('%s', 'now'), "
                "strftime('%s', 'now'), '{}')", (THREAD, sender[0] if sender else None))
    con.commit()
    con.close()
    check(b.wait("""return [...document.querySelectorAll('.message .text')].some(t => t.textContent === 'after many pages')""", 30),
          'after 24 page loads, a commit still shows live')

    # The page's own script, minus the token header: refused.
    status = b.async_script("""
      const done = arguments[arguments.length - 1];
      fetch('/api/enqueue', {method: 'POST', body: new URLSearchParams({kind: 'thread.read',
        params: JSON.stringify({thread_id: %d})})}).then(r => done(r.status), e => done(String(e)));""" % THREAD)
    check(status == 403, 'a POST without the token, from the page itself: 403', status)


def main():
    global API, UI, UI_URL, UI_TOKEN, PORT, THREAD
    chromium = webdriver.find('chromium', '/usr/bin/chromium')
    chromedriver = webdriver.find('chromedriver', '/usr/bin/chromedriver')
    if not chromium or not chromedriver:
        print('skipped: chromium and chromium-driver are needed (scripts/test installs them)')
        return 77
    _, API = H.start([FLMOCK, '--port', '0', '--seed', '11', '--token', TOKEN, '--scale', '3000'], 'flmock')
    sync()
    THREAD = count('SELECT thread_id FROM messages GROUP BY thread_id HAVING count(*) BETWEEN 2 AND 150 '
                   'ORDER BY count(*) DESC, thread_id LIMIT 1')
    _, UI_URL = H.start([FLSYNC, 'ui', '--db', DB, '--listen', '127.0.0.1:0'], 'ui', cwd=tmp)
    check(UI_URL.startswith('http://127.0.0.1:') and '/?token=' in UI_URL, 'the first line names the URL', UI_URL)
    UI = UI_URL.split('/?token=')[0]
    UI_TOKEN = UI_URL.split('token=')[1]
    PORT = UI.rsplit(':', 1)[1]
    guards()
    sync_here()
    b = webdriver.Browser(chromium, chromedriver, os.path.join(tmp, 'chromedriver.log'))
    try:
        in_browser(b)
    finally:
        b.close()
    return 0


H.finish(main, logs=('ui',))
