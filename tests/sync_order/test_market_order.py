#!/usr/bin/env python3
"""test_market_order.py FLSYNCD FLMOCK — flsyncd's market search paging against
the order Search for Projects documents.

GET /api/projects/0.1/projects/active/ sorts "by score, otherwise by most
recently posted", descending unless reverse_sort ("Results appear in ascending
order instead of descending").  flsyncd windows that endpoint on last-updated
time and pages each window by keyset (from_time = the newest time seen, offset
= items already seen at it), which holds only while results come ascending by
time_updated.  Served in the documented default order, every page breaks it:
flsyncd logs "results not in time order", reads the window again by plain
offsets (one page more, deep offsets, and an item updated while the window is
read shifts an unseen one past the offset), and its cursor cannot move until
the window ends.

stream_projects_market therefore asks for the order it pages by, with the
documented parameters (sort_field=time_updated and reverse_sort=true).

Checked: one pass over a market search gets every matching active project,
its pages come in the order flsyncd pages by (no "not in time order" line),
and it costs no more GETs of projects/active/ than floor(n / page_limit) + 1.
"""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import urllib.request

FLSYNCD, FLMOCK = sys.argv[1], sys.argv[2]
TOKEN = 'market-order-token'
PAGE = 5
JOB = 3
failed = passed = 0


def check(name, ok, detail=''):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print('FAIL: %s%s' % (name, ('\n  ' + str(detail)) if detail else ''))


def main():
    mock = subprocess.Popen([FLMOCK, '--port', '0', '--seed', '9', '--token', TOKEN],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    url = mock.stdout.readline().split()[-1]
    try:
        with tempfile.TemporaryDirectory(prefix='flsync-market-') as tmp:
            os.makedirs(os.path.join(tmp, 'flsync'))
            with open(os.path.join(tmp, 'flsync', 'flsyncd.conf'), 'w') as f:
                f.write('[search]\njobs = %d\n[sync]\npage_limit = %d\n' % (JOB, PAGE))
            db = os.path.join(tmp, 'm.db')
            env = dict(os.environ, FLSYNC_TOKEN=TOKEN, XDG_CONFIG_HOME=tmp)
            r = subprocess.run([FLSYNCD, '--db', db, '--api', url, '--once', '-v'], env=env,
                               capture_output=True, text=True, timeout=600)
            check('the pass exits 0', r.returncode == 0, r.stderr[-1500:])

            def get(path):
                req = urllib.request.Request(url + path, headers={'Freelancer-OAuth-V1': TOKEN})
                with urllib.request.urlopen(req, timeout=60) as resp:
                    return resp.read().decode()
            world = [json.loads(l) for l in get('/_mock/dump?entity=projects').splitlines() if l.strip()]
            want = {p['id'] for p in world if p['status'] == 'active' and not p.get('deleted')
                    and any(j['id'] == JOB for j in (p.get('jobs') or []))}
            con = sqlite3.connect(db)
            have = {row[0] for row in con.execute(
                'SELECT project_id FROM project_jobs WHERE job_id = ?', (JOB,))}
            con.close()
            check('every active project of job %d is synced (%d)' % (JOB, len(want)), want <= have,
                  sorted(want - have)[:10])
            unordered = [l for l in r.stderr.splitlines() if 'not in time order' in l]
            check('the market pages come in the order flsyncd pages by', not unordered, unordered[:3])
            stats = json.loads(get('/_mock/stats'))
            gets = sum(sum(v.values()) for k, v in stats['endpoints'].items()
                       if k.startswith('GET /api/projects/0.1/projects/active/'))
            budget = len(want) // PAGE + 1  # full pages, then the short one that ends the window
            check('GETs of projects/active/ (%d) within n/page + 1 = %d' % (gets, budget), gets <= budget)
    finally:
        mock.send_signal(signal.SIGTERM)
        mock.wait(timeout=20)
    print('%d passed, %d failed' % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == '__main__':
    main()
