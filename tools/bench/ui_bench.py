#!/usr/bin/env python3
"""ui_bench.py — what a person waits for in `flsync ui`, measured in Debian's
chromium (through chromedriver):

- first screen: from the start of navigation to the inbox drawn with its
  threads, for an inbox of 10,000 threads (p50/p99 over fresh page loads);
- commit to screen: from another process's COMMIT of a new message in the
  open thread to the message on screen, seen by a MutationObserver in the
  page (p50/p99).

usage: tools/bench/ui_bench.py BUILD_DIR [--threads N] [--loads N] [--messages N]

The world comes from flmock and is synced by flsyncd, as a user's would be.
Prints figures; asserts nothing.
"""
import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'tests', 'ui'))
import webdriver  # noqa: E402


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q / 100 * (len(xs) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('build')
    ap.add_argument('--threads', type=int, default=10000)
    ap.add_argument('--loads', type=int, default=20)
    ap.add_argument('--messages', type=int, default=50)
    a = ap.parse_args()
    b = os.path.abspath(a.build)
    flmock, flsyncd, flsync = (os.path.join(b, p) for p in ('tools/flmock/flmock', 'syncd/flsyncd', 'tools/flsync/flsync'))
    chromium = webdriver.find('chromium', '/usr/bin/chromium')
    chromedriver = webdriver.find('chromedriver', '/usr/bin/chromedriver')
    if not chromium or not chromedriver:
        sys.exit('ui_bench: chromium and chromium-driver are needed')
    tmp = tempfile.mkdtemp(prefix='flui-bench.')
    db = os.path.join(tmp, 'ui.db')
    procs = []
    browser = None
    try:
        mock, api = webdriver.start_listening(
            [flmock, '--port', '0', '--seed', '5', '--token', 'bench', '--threads', str(a.threads),
             '--messages-per-thread', '3', '--projects', '2000', '--users', '500'], tmp, 'flmock')
        procs.append(mock)
        t0 = time.time()
        subprocess.run([flsyncd, '--db', db, '--api', api, '--once'], check=True, capture_output=True,
                       env=dict(os.environ, FLSYNC_TOKEN='bench'))
        con = sqlite3.connect(db)
        nthreads = con.execute('SELECT count(*) FROM threads').fetchone()[0]
        nmsg = con.execute('SELECT count(*) FROM messages').fetchone()[0]
        print('world: %d threads, %d messages, synced in %.1f s' % (nthreads, nmsg, time.time() - t0))
        ui, url = webdriver.start_listening([flsync, 'ui', '--db', db], tmp, 'ui')
        procs.append(ui)
        browser = webdriver.Browser(chromium, chromedriver, os.path.join(tmp, 'chromedriver.log'))

        firsts = []
        for i in range(a.loads + 1):
            browser.get('about:blank')
            browser.get(url + '#/inbox')
            v = browser.wait("return document.querySelectorAll('li.thread').length > 0 && document.body.dataset.firstScreen", 30)
            if not v:
                sys.exit('ui_bench: the inbox did not show')
            if i:  # the first load also warms the server's caches
                firsts.append(float(v))
        shown = browser.script("return document.querySelectorAll('li.thread').length")
        print('first screen, inbox of %d threads (%d drawn): p50 %.0f ms, p99 %.0f ms over %d loads'
              % (nthreads, shown, pct(firsts, 50), pct(firsts, 99), len(firsts)))

        thread, sender = con.execute('SELECT thread_id, from_user_id FROM messages GROUP BY thread_id '
                                     'ORDER BY count(*) DESC LIMIT 1').fetchone()
        browser.get(url + '#/thread/%d' % thread)
        browser.wait("return document.querySelectorAll('.message').length", 20)
        browser.script("""
          window.__seen = {};
          new MutationObserver(() => {
            for (const t of document.querySelectorAll('.message .text'))
              if (t.textContent.startsWith('bench ') && !(t.textContent in window.__seen))
                window.__seen[t.textContent] = Date.now();
          }).observe(document.getElementById('messages'), {childList: true, subtree: true});""")
        lat = []
        next_id = con.execute('SELECT max(id) FROM messages').fetchone()[0] + 1
        for i in range(a.messages):
            text = 'bench %d' % i
            con.execute('INSERT INTO messages(id, thread_id, from_user_id, message, time_created, time_updated, raw, synced_at) '
                        'VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
                        (next_id + i, thread, sender, text, int(time.time()), int(time.time()),
                         json.dumps({'id': next_id + i}), int(time.time())))
            con.commit()
            committed = time.time() * 1000
            seen = browser.wait('return window.__seen[%s]' % json.dumps(text), 10)
            if not seen:
                sys.exit('ui_bench: message %d never showed' % i)
            lat.append(seen - committed)
            time.sleep(0.05)
        print('commit to screen (another process commits a message in the open thread): '
              'p50 %.0f ms, p99 %.0f ms, max %.0f ms over %d messages'
              % (pct(lat, 50), pct(lat, 99), max(lat), len(lat)))
        print('(mean first screen %.0f ms; mean commit to screen %.0f ms)'
              % (statistics.mean(firsts), statistics.mean(lat)))
        con.close()
    finally:
        if browser:
            browser.close()
        for p in procs:
            p.terminate()
            p.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    main()
