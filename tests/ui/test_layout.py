#!/usr/bin/env python3
"""test_layout.py FLSYNC FLSYNCD FLMOCK SHOTS_DIR — every page of `flsync ui`
in chromium at 1280 and at 390 px wide, on a world flsyncd synced from
flmock, as a person reads it:

- no page scrolls sideways (document.scrollingElement.scrollWidth <= innerWidth);
- the queue shows a failed action's error whole (not cut, not clipped) and
  the action in words, not raw JSON;
- no status badge wraps ("bid placed" on one line);
- a project page shows the full description, not only the preview;
- opening an unread thread marks it read (a thread.read action, the row
  read at once); a thread links to its project;
- archived threads are not in the inbox, the Archived filter shows them;
- the market, with no `[search] query` configured, says so and how to set
  it; with one, it lists the search's projects and says nothing of it.

Screenshots of every page at both widths go to SHOTS_DIR; their paths are
printed.  Exit 77 (skipped) without chromium and chromedriver.
"""
import json
import os
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import webdriver  # noqa: E402

FLSYNC, FLSYNCD, FLMOCK, SHOTS = sys.argv[1:5]
TOKEN = 'layouttest'
WIDTHS = [(1280, 900), (390, 844)]
ERROR_CODE = 'ProjectExceptionCodes.DUPLICATE_BID'
ERROR_MESSAGE = 'You have already bid on this project: update that bid instead of placing another one.'
H = harness.Run('layout')
tmp = H.tmp
check = H.check
DB = os.path.join(tmp, 'ui.db')


def sync(config=None):
    cmd = [FLSYNCD, '--db', DB, '--api', API, '--once'] + (['--config', config] if config else [])
    p = subprocess.run(cmd, capture_output=True, timeout=300,
                       env=dict(os.environ, FLSYNC_TOKEN=TOKEN, XDG_CONFIG_HOME=tmp))
    check(p.returncode == 0, 'flsyncd --once exits 0', p.stderr.decode()[-2000:])


def one(sql, *args):
    con = sqlite3.connect(DB)
    try:
        return con.execute(sql, args).fetchone()
    finally:
        con.close()


def write(sql, *args):
    con = sqlite3.connect(DB)
    con.execute(sql, args)
    con.commit()
    con.close()


def set_width(b, width, height):
    """The page's viewport: width x height CSS px.  Not emulating a phone (which zooms a wide page out
    to fit, hiding an overflow): a window that narrow shows every pixel that overflows."""
    b.cmd('POST', '/goog/cdp/execute', {'cmd': 'Emulation.setDeviceMetricsOverride', 'params': {
        'width': width, 'height': height, 'deviceScaleFactor': 1, 'mobile': False}})


def show(b, hash_, ready, timeout=30):
    """Open UI#hash_ and wait until the js expression ready is truthy and the page has settled."""
    b.get(UI_URL + hash_)
    v = b.wait('return document.body.dataset.firstScreen && (%s)' % ready, timeout)
    check(v, 'the page %s shows (%s)' % (hash_, ready))
    time.sleep(0.2)
    return v


NO_SIDEWAYS = 'return [document.scrollingElement.scrollWidth, window.innerWidth]'
BADGES_WRAPPED = """return [...document.querySelectorAll('.state, .badge')]
  .filter(e => e.offsetParent && e.getClientRects().length > 1 || e.offsetHeight > 2 * parseFloat(getComputedStyle(e).fontSize) + 4)
  .map(e => e.textContent)"""


def page(b, width, name, hash_, ready):
    show(b, hash_, ready)
    sw, iw = b.script(NO_SIDEWAYS)
    check(sw <= iw, '%s at %d px: no horizontal scroll' % (name, width), (sw, iw))
    wrapped = b.script(BADGES_WRAPPED)
    check(not wrapped, '%s at %d px: no badge wraps' % (name, width), wrapped)
    shot = os.path.join(SHOTS, '%s-%d.png' % (name, width))
    b.screenshot(shot)
    print('screenshot:', shot, flush=True)


def queue_checks(b, width):
    row = 'document.querySelector(\'tr[data-id="%d"]\')' % FAILED
    err = b.script("""const r = %s; const e = r && r.querySelector('.error'); if (!e) return null;
      const rect = e.getBoundingClientRect();
      return {text: e.textContent, clipped: e.scrollWidth > e.clientWidth + 1, right: rect.right, left: rect.left,
              inner: window.innerWidth, action: (r.querySelector('.action') || {}).textContent || ''}""" % row)
    check(err, 'the queue lists the failed action at %d px' % width)
    if not err:
        return
    check(ERROR_CODE in err['text'] and ERROR_MESSAGE in err['text'],
          'the queue shows the error whole at %d px' % width, err['text'])
    check(not err['clipped'] and err['left'] >= 0 and err['right'] <= err['inner'],
          'the error is inside the screen, not clipped, at %d px' % width, err)
    visible = b.script("""const e = %s.querySelector('.error'); const rg = document.createRange();
      rg.selectNodeContents(e); const rs = [...rg.getClientRects()];
      return rs.every(r => r.right <= window.innerWidth + 0.5 && r.left >= -0.5)""" % row)
    check(visible, 'every line of the error is on screen at %d px' % width)
    act = err['action']
    check('{' not in act and '"' not in act.replace('“', '').replace('”', ''),
          'the action reads as words, not JSON, at %d px' % width, act)
    check('250' in act and str(MARKET_PROJECT) in act, 'the action names its project and amount', act)


def in_browser(b):
    for width, height in WIDTHS:
        set_width(b, width, height)
        b.get(UI_URL)
        b.wait('return document.body.dataset.firstScreen', 30)
        check(b.script('return window.innerWidth') == width, 'the page is %d px wide' % width,
              b.script('return window.innerWidth'))
        page(b, width, 'inbox', '#/inbox', "document.querySelectorAll('li.thread').length")
        ids = b.script("return [...document.querySelectorAll('li.thread')].map(e => Number(e.dataset.id))")
        check(ARCHIVED not in ids, 'an archived thread is not in the inbox at %d px' % width)
        page(b, width, 'archived', '#/inbox/archived', "document.querySelectorAll('li.thread').length")
        ids = b.script("return [...document.querySelectorAll('li.thread')].map(e => Number(e.dataset.id))")
        check(ARCHIVED in ids and all(one('SELECT folder FROM threads WHERE id = ?', i)[0] == 'archived' for i in ids),
              'the Archived filter shows archived threads only', ids)
        page(b, width, 'thread', '#/thread/%d' % THREAD, "document.querySelectorAll('.message').length")
        page(b, width, 'projects', '#/projects', "document.querySelectorAll('tbody tr').length")
        page(b, width, 'market', '#/market', "document.querySelectorAll('tbody tr').length")
        page(b, width, 'project', '#/project/%d' % OWN_PROJECT, "document.querySelectorAll('h2').length")
        page(b, width, 'market-project', '#/project/%d' % MARKET_PROJECT, "document.querySelector('.description')")
        page(b, width, 'bids', '#/bids', "document.querySelectorAll('tbody tr').length")
        page(b, width, 'milestones', '#/milestones', "document.querySelectorAll('tbody tr').length")
        page(b, width, 'queue', '#/queue', "document.querySelectorAll('tbody tr').length")
        queue_checks(b, width)
        page(b, width, 'search', '#/search/logo', "document.querySelectorAll('#results li').length")
        page(b, width, 'status', '#/status', "document.querySelectorAll('tbody tr').length")
        page(b, width, 'insights', '#/insights',
             "document.querySelector('table[data-view=insight_cashflow_monthly]')")

    # A project page: the whole description, not the preview.
    set_width(b, 1280, 900)
    show(b, '#/project/%d' % LONG_PROJECT, "document.querySelector('.description')")
    shown = b.script("return document.querySelector('.description').textContent")
    want = one('SELECT description FROM projects WHERE id = ?', LONG_PROJECT)[0]
    check(shown == want, 'a project page shows the full description', (shown, want))

    # Opening an unread thread marks it read; it links to its project.
    check(one('SELECT is_read FROM threads WHERE id = ?', UNREAD)[0] == 0, 'the thread to open is unread')
    show(b, '#/thread/%d' % UNREAD, "document.querySelectorAll('.message').length")
    end = time.time() + 20
    while time.time() < end and not one("SELECT count(*) FROM actions WHERE kind = 'thread.read' AND "
                                        "json_extract(params, '$.thread_id') = ?", UNREAD)[0]:
        time.sleep(0.1)
    n = one("SELECT count(*) FROM actions WHERE kind = 'thread.read' AND json_extract(params, '$.thread_id') = ?",
            UNREAD)[0]
    check(n == 1, 'opening an unread thread queues thread.read once', n)
    check(one('SELECT is_read FROM threads WHERE id = ?', UNREAD)[0] == 1, 'the thread reads as read at once')
    time.sleep(1)
    n = one("SELECT count(*) FROM actions WHERE kind = 'thread.read' AND json_extract(params, '$.thread_id') = ?",
            UNREAD)[0]
    check(n == 1, 'and only once, however often the page refreshes', n)
    ctx = one("SELECT context_id FROM threads WHERE id = ? AND context_type = 'project'", UNREAD)
    b.script('window.scrollTo(0, 0)')
    time.sleep(0.2)
    shot = os.path.join(SHOTS, 'thread-opened-1280.png')
    b.screenshot(shot)
    print('screenshot:', shot, flush=True)
    if ctx:
        href = b.script("const a = document.querySelector('a.project-link'); return a && a.getAttribute('href')")
        check(href == '#/project/%d' % ctx[0], 'a thread links to its project', href)
        b.script("document.querySelector('a.project-link').click()")
        check(b.wait("return location.hash === '#/project/%d' && document.querySelector('h1') "
                     "&& document.querySelector('h2')" % ctx[0], 20), 'the link opens the project page')
    read_before = one("SELECT count(*) FROM actions WHERE kind = 'thread.read'")[0]
    show(b, '#/thread/%d' % THREAD, "document.querySelectorAll('.message').length")
    time.sleep(0.5)
    check(one("SELECT count(*) FROM actions WHERE kind = 'thread.read'")[0] == read_before,
          'opening a read thread queues nothing')

    # A project no stream has read (a thread's, say): its page says so.
    show(b, '#/project/1', "document.querySelector('.not-synced')")
    check(b.script("return document.getElementById('toast').hidden"), 'an unsynced project is no error toast')

    # The market without a configured search says so and how to set it.
    show(b, '#/market', "document.querySelector('.market-note')")
    note = b.script("const n = document.querySelector('.market-note'); return n && n.textContent")
    check(note and '[search]' in note and 'query' in note and 'flsyncd.conf' in note,
          'the market says no search is configured and how to set one', note)


def market_configured(b):
    conf = os.path.join(tmp, 'flsyncd.conf')
    with open(conf, 'w') as f:
        f.write('[search]\nquery = logo\n')
    sync(conf)
    n = one("SELECT count(*) FROM sync_state WHERE stream LIKE 'projects_market%'")[0]
    check(n >= 1, 'the configured market search ran', n)
    show(b, '#/market', "document.querySelectorAll('tbody tr[data-id]').length")
    check(not b.script("return document.querySelector('.market-note')"),
          'with a search configured, the market says nothing of it')
    names = b.script("return [...document.querySelectorAll('.market-searches')].map(e => e.textContent).join(' ')")
    check('logo' in (names or ''), 'the market names its searches', names)
    shot = os.path.join(SHOTS, 'market-search-1280.png')
    b.screenshot(shot)
    print('screenshot:', shot, flush=True)
    # A market project found by the search, not bid on yet: its page takes a bid.
    bid_project = one("SELECT p.id FROM projects p WHERE p.owner_id IS NOT (SELECT id FROM users WHERE is_self = 1) "
                      "AND NOT EXISTS (SELECT 1 FROM bids b WHERE b.project_id = p.id AND "
                      "b.bidder_id = (SELECT id FROM users WHERE is_self = 1)) ORDER BY p.id LIMIT 1")
    check(bid_project, 'the search found a project not bid on yet')
    for width, height in WIDTHS if bid_project else []:
        set_width(b, width, height)
        page(b, width, 'bid-form', '#/project/%d' % bid_project[0], "document.querySelector('#bid-amount')")


def main():
    global API, UI_URL, THREAD, UNREAD, ARCHIVED, OWN_PROJECT, MARKET_PROJECT, LONG_PROJECT, FAILED
    chromium = webdriver.find('chromium', '/usr/bin/chromium')
    chromedriver = webdriver.find('chromedriver', '/usr/bin/chromedriver')
    if not chromium or not chromedriver:
        print('skipped: chromium and chromium-driver are needed (scripts/test installs them)')
        return 77
    os.makedirs(SHOTS, exist_ok=True)
    _, API = H.start([FLMOCK, '--port', '0', '--seed', '11', '--token', TOKEN, '--scale', '3000'], 'flmock')
    sync()
    THREAD = one('SELECT thread_id FROM messages GROUP BY thread_id HAVING count(*) BETWEEN 2 AND 150 '
                 'ORDER BY count(*) DESC, thread_id LIMIT 1')[0]
    write('UPDATE threads SET is_read = 1 WHERE id = ?', THREAD)
    UNREAD = one("SELECT t.id FROM threads t JOIN projects p ON p.id = t.context_id AND t.context_type = 'project' "
                 "WHERE t.id != ? AND EXISTS (SELECT 1 FROM messages m WHERE m.thread_id = t.id) "
                 "ORDER BY t.time_updated DESC LIMIT 1", THREAD)[0]
    write('UPDATE threads SET is_read = 0 WHERE id = ?', UNREAD)
    ARCHIVED = one("SELECT id FROM threads WHERE id NOT IN (?, ?) ORDER BY time_updated DESC LIMIT 1",
                   THREAD, UNREAD)[0]
    write("UPDATE threads SET folder = 'archived' WHERE id = ?", ARCHIVED)
    OWN_PROJECT = one('SELECT p.id FROM projects p WHERE p.owner_id = (SELECT id FROM users WHERE is_self = 1) '
                      'ORDER BY (SELECT count(*) FROM bids b WHERE b.project_id = p.id) DESC LIMIT 1')[0]
    MARKET_PROJECT = one("SELECT p.id FROM projects p WHERE p.owner_id IS NOT (SELECT id FROM users WHERE is_self = 1) "
                         "AND EXISTS (SELECT 1 FROM bids b WHERE b.project_id = p.id AND "
                         "b.bidder_id = (SELECT id FROM users WHERE is_self = 1)) ORDER BY p.id LIMIT 1")[0]
    # A description longer than its preview, with a last sentence the preview cannot hold.
    LONG_PROJECT = MARKET_PROJECT
    write("UPDATE projects SET description = coalesce(description, '') || ? WHERE id = ?",
          '\n\n' + 'Details follow. ' * 40 + 'The last sentence of the full description.', LONG_PROJECT)
    now = int(time.time())
    con = sqlite3.connect(DB)
    FAILED = con.execute(
        "INSERT INTO actions(kind, params, state, attempts, http_status, error_code, error_message, created_at, "
        "updated_at) VALUES ('bid.create', ?, 'failed', 1, 409, ?, ?, ?, ?)",
        (json.dumps({'project_id': MARKET_PROJECT, 'amount': 250, 'period': 7, 'milestone_percentage': 50,
                     'description': 'Can start today; my work: https://portfolio.example.com/' + 'design-' * 20 + ' '
                     + 'and a long proposal that goes on and on ' * 3}),
         ERROR_CODE, ERROR_MESSAGE, now, now)).lastrowid
    con.commit()
    con.close()
    _, UI_URL = H.start([FLSYNC, 'ui', '--db', DB, '--listen', '127.0.0.1:0'], 'ui', cwd=tmp)
    b = webdriver.Browser(chromium, chromedriver, os.path.join(tmp, 'chromedriver.log'))
    try:
        in_browser(b)
        market_configured(b)
    finally:
        b.close()
    return 0


H.finish(main, logs=('ui',))
