#!/usr/bin/env python3
"""vs_python.py — flsyncd against the Python script a user would write
instead (peer_sync.py), on the same flmock world in one run.

One flmock (seed 3, --scale 300000 unless told, rate limits scaled out of
the way) serves both.  Each syncer runs as its own child process into a
fresh database; wall time is measured around it and CPU time (user + system)
is the child's own rusage from wait4, so flmock's CPU is never counted.  With
--runs N the two alternate N times and each figure is the median.

Rows: flsyncd's are the rows its streams stored (sum of sync_state.rows_synced:
inserted or changed entity rows; stub rows it makes for references are not
counted); the peer's are the objects it upserted.  Both read the same
account's projects, bids, milestones, milestone requests, reviews, threads,
messages and reference lists; flsyncd also re-reads the projects the account
bid on (projects_refresh) and fetches every user any row refers to, where the
peer fetches the users its bids, reviews, threads and messages name.

usage: vs_python.py FLSYNCD FLMOCK [--scale N] [--seed N] [--runs N]
"""
import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

PEER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "peer_sync.py")
TOKEN = "demo"


def start_mock(flmock, scale, seed):
    proc = subprocess.Popen([flmock, "--port", "0", "--seed", str(seed), "--token", TOKEN,
                             "--scale", str(scale), "--rate-scale", "1000000"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    if not line.startswith("listening on "):
        proc.kill()
        sys.exit("vs_python: flmock did not start")
    return proc, line[len("listening on "):].strip()


def timed(argv, env, out_path):
    """Run argv to its end: (wall s, child CPU s, peak RSS MB, exit status)."""
    with open(out_path, "w") as out:
        t0 = time.monotonic()
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, ru = os.wait4(proc.pid, 0)
        wall = time.monotonic() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024.0, proc.returncode


def run_flsyncd(flsyncd, url, tmp, i):
    db = os.path.join(tmp, "flsyncd%d.db" % i)
    env = dict(os.environ, FLSYNC_TOKEN=TOKEN, XDG_CONFIG_HOME=tmp)
    log = os.path.join(tmp, "flsyncd%d.log" % i)
    wall, cpu, rss, rc = timed([flsyncd, "--db", db, "--api", url, "--once"], env, log)
    if rc != 0:
        sys.exit("vs_python: flsyncd exited %d; see %s" % (rc, log))
    with sqlite3.connect(db) as c:
        rows = c.execute("SELECT sum(rows_synced) FROM sync_state").fetchone()[0] or 0
    return rows, wall, cpu, rss


def run_peer(url, tmp, i):
    db = os.path.join(tmp, "peer%d.db" % i)
    log = os.path.join(tmp, "peer%d.log" % i)
    wall, cpu, rss, rc = timed([sys.executable, PEER, url, TOKEN, db], dict(os.environ), log)
    with open(log) as f:
        text = f.read()
    if rc != 0 or not text.strip().splitlines()[-1].startswith("rows "):
        sys.exit("vs_python: peer_sync.py failed (%d): %s" % (rc, text[-500:]))
    return int(text.strip().splitlines()[-1].split()[1]), wall, cpu, rss


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("flsyncd")
    ap.add_argument("flmock")
    ap.add_argument("--scale", type=int, default=300000)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--runs", type=int, default=1)
    a = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="flvspy.")
    mock, url = start_mock(a.flmock, a.scale, a.seed)
    res = {"flsyncd": [], "python": []}
    try:
        print("world: flmock --seed %d --scale %d at %s" % (a.seed, a.scale, url), flush=True)
        for i in range(a.runs):
            res["python"].append(run_peer(url, tmp, i))
            res["flsyncd"].append(run_flsyncd(a.flsyncd, url, tmp, i))
    finally:
        mock.terminate()
        mock.wait()
        shutil.rmtree(tmp, ignore_errors=True)

    med = {}
    print("%-8s %9s %8s %8s %10s %10s %8s" % ("syncer", "rows", "wall s", "CPU s",
                                               "rows/s", "CPU us/row", "RSS MB"))
    for name in ("python", "flsyncd"):
        rows = statistics.median(r[0] for r in res[name])
        wall = statistics.median(r[1] for r in res[name])
        cpu = statistics.median(r[2] for r in res[name])
        rss = max(r[3] for r in res[name])
        med[name] = (rows, wall, cpu)
        print("%-8s %9d %8.2f %8.2f %10.0f %10.1f %8.1f" % (name, rows, wall, cpu, rows / wall,
                                                             1e6 * cpu / rows, rss))
    py, c = med["python"], med["flsyncd"]
    print("rows/s, flsyncd over python:        %.2fx (target >= 3x)" % ((c[0] / c[1]) / (py[0] / py[1])))
    print("CPU per row, python over flsyncd:   %.2fx (target >= 3x)" % ((py[2] / py[0]) / (c[2] / c[0])))


if __name__ == "__main__":
    main()
