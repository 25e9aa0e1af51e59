"""A database flsyncd made is removed when the API refuses the token only
in the round that made it, and only while it holds no data:

- a fresh file and a refused token at once: the file goes (nothing was
  synced; the next try starts clean);
- the API unreachable at first, then a queued action written into the file
  by flsync, then the API answers 401: the file, and the action, stay.

usage: test_token_refused.py FLSYNCD FLSYNC FLMOCK
"""
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
from harness import one, wait_for  # noqa: E402

FLSYNCD, FLSYNC, FLMOCK = sys.argv[1:4]
h = harness.Run('token-refused')
check, tmp = h.check, h.tmp


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def log_of(path):
    with open(path, errors='replace') as f:
        return f.read()


def refused_at_once(tok):
    _, api = h.start([FLMOCK, '--port', '0', '--token', 'other'], 'mock1')
    db = os.path.join(tmp, 'fresh.db')
    p = subprocess.run([FLSYNCD, '--db', db, '--api', api, '--once', '--token-file', tok],
                       capture_output=True, timeout=60)
    check(p.returncode == 4, 'a refused token: exit 4', p.stderr.decode()[-2000:])
    check(not os.path.exists(db), 'the file made in that round is not kept')
    check(b'was not kept' in p.stderr, 'the log says the file was not kept', p.stderr.decode()[-2000:])


def refused_later(tok):
    port = free_port()
    db = os.path.join(tmp, 'acct.db')
    err = os.path.join(tmp, 'flsyncd.err')
    with open(err, 'wb') as f:
        d = subprocess.Popen([FLSYNCD, '--db', db, '--api', 'http://127.0.0.1:%d' % port, '--interval', '1',
                              '--token-file', tok, '-v'], stderr=f, stdout=subprocess.DEVNULL)
    h.procs.append(d)
    check(wait_for(lambda: os.path.exists(db) and 'connect' in log_of(err), 30),
          'flsyncd made the file and could not reach the API', log_of(err)[-2000:])
    q = subprocess.run([FLSYNC, '--db', db, 'queue', 'add', 'thread.read', '--param', 'thread_id=123', '--force'],
                       capture_output=True, text=True, timeout=60)
    check(q.returncode == 0 and 'queued action 1' in q.stdout, 'flsync queued an action in it',
          q.stdout + q.stderr)
    before = len(log_of(err))
    h.start([FLMOCK, '--port', str(port), '--token', 'other'], 'mock2')
    # The API now answers, and refuses the token: flsyncd stops that account.
    check(wait_for(lambda: d.poll() is not None or '401' in log_of(err)[before:]
                   or 'token' in log_of(err)[before:], 30),
          'flsyncd met the refusal', log_of(err)[-2000:])
    time.sleep(1)
    check(os.path.exists(db), 'the file with data is kept', log_of(err)[-2000:])
    check('was not kept' not in log_of(err), 'the log does not say it was removed', log_of(err)[-2000:])
    if os.path.exists(db):
        check(one(db, 'SELECT count(*) FROM actions') == 1, 'the queued action is still there')


def main():
    tok = h.token_file('mine', 'mine')
    refused_at_once(tok)
    refused_later(tok)


h.finish(main)
