#!/usr/bin/env python3
"""search_bench.py FLSYNC DB [QUERY...] — `flsync search` as a person runs it,
on a database (bench_query --make DB makes a synthetic one of ~1,000,000
records; a world flsyncd synced from flmock does too): for each query, the
median wall time of 7 runs of `flsync search QUERY --limit 20 -f json`
(process start included), the kinds of the 20 results in order (p project,
m message), and, over the first 1000 results, the position of the first
project whose title holds the query's first word (1 is first; - none).

Run it with an older flsync on a copy of the database made before its
migration to compare (an older flsync refuses a newer schema).
"""
import json
import statistics
import subprocess
import sys
import time


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    flsync, db = sys.argv[1], sys.argv[2]
    queries = sys.argv[3:] or ['logo', 'python django', 'invoice', 'title:logo', 'C++']
    print('%-16s %9s  %-22s %s' % ('query', 'median', 'top 20 kinds', 'first title hit'))
    for q in queries:
        times = []
        out = b''
        for _ in range(7):
            t = time.perf_counter()
            p = subprocess.run([flsync, '--db', db, 'search', q, '--limit', '20', '-f', 'json'],
                               capture_output=True)
            times.append(time.perf_counter() - t)
            out = p.stdout
        rows = json.loads(out or b'[]')
        p = subprocess.run([flsync, '--db', db, 'search', q, '--limit', '1000', '-f', 'json'], capture_output=True)
        word = q.split(':')[-1].split()[0].lower()
        many = json.loads(p.stdout or b'[]')
        first = next((i + 1 for i, r in enumerate(many)
                      if r['kind'] == 'project' and word in (r['title'] or '').lower()), None)
        print('%-16s %7.1f ms  %-22s %s' % (q, statistics.median(times) * 1000,
                                            ''.join(r['kind'][0] for r in rows) or '-', first or '-'))


if __name__ == '__main__':
    main()
