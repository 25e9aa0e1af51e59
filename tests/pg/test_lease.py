#!/usr/bin/env python3
"""test_lease.py TEST_LEASE — run the lease suite (test_lease.c, a Check
program) against a private PostgreSQL cluster (pgcluster.py: initdb in a
temporary directory, Unix socket only), passing its connection string in
FL_PG_CONNINFO.  Exit 77 (skipped) without the PostgreSQL server binaries.
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pgcluster  # noqa: E402


def main():
    if not pgcluster.bindir():
        print('skipped: no PostgreSQL server binaries (Debian package postgresql)')
        return 77
    pg = pgcluster.Cluster()
    try:
        p = subprocess.run([sys.argv[1]], env=dict(os.environ, FL_PG_CONNINFO=pg.conninfo), timeout=600)
        return p.returncode
    finally:
        pg.close()


if __name__ == '__main__':
    sys.exit(main())
