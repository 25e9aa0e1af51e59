"""What the Python benchmarks share: flmock started on port 0 and its URL
read from its first line."""
import os
import subprocess
import time


def start_flmock(flmock, tmp, args, wait_s=120):
    """Start flmock --port 0 with args (its stdout in tmp/flmock.out); (process, API URL)."""
    out = open(os.path.join(tmp, 'flmock.out'), 'wb+')
    p = subprocess.Popen([flmock, '--port', '0'] + [str(x) for x in args], stdout=out,
                         stderr=subprocess.DEVNULL)
    end = time.monotonic() + wait_s
    while time.monotonic() < end:
        out.seek(0)
        line = out.readline().decode()
        if line.startswith('listening on '):
            return p, line.split()[2]
        if p.poll() is not None:
            break
        time.sleep(0.05)
    p.kill()
    raise SystemExit('flmock did not start')
