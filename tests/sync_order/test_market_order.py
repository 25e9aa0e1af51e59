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
import sqlite3
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402

FLSYNCD, FLMOCK = sys.argv[1], sys.argv[2]
TOKEN = 'market-order-token'
PAGE = 5
JOB = 3
TALLY = harness.Tally()
check = TALLY.check


def main():
    mock = harness.Mock(FLMOCK, TOKEN, '--seed', '9')
    url = mock.url
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
            world = mock.dump('projects')
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
            stats = json.loads(mock.call('GET', '/_mock/stats'))
            gets = sum(sum(v.values()) for k, v in stats['endpoints'].items()
                       if k.startswith('GET /api/projects/0.1/projects/active/'))
            budget = len(want) // PAGE + 1  # full pages, then the short one that ends the window
            check('GETs of projects/active/ (%d) within n/page + 1 = %d' % (gets, budget), gets <= budget)
    finally:
        mock.stop()
    sys.exit(TALLY.summary())


if __name__ == '__main__':
    main()
