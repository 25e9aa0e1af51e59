#!/usr/bin/env python3
"""test_webhook_cli.py FLSYNC FLSYNCD FLMOCK — `flsync webhook register|list|url` and
the webhook lines of `flsync status` against flmock: a registered URL is
listed active; one flmock refuses (not loopback) fails naming the API's
error; after the receiver fails deliveries, `list` shows the webhook
inactive with flmock's inactive_reason and `status` repeats it; `url` fails
until a listener address is recorded, then prints http://HOST:PORT/PATH.
"""
import http.server
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402

FLSYNC, FLSYNCD, FLMOCK = sys.argv[1:4]
tmp = tempfile.mkdtemp(prefix='flwebhook.')
DB = os.path.join(tmp, 'hooks.db')
H = harness.Run('webhook_cli')
check = H.check


def run(args, code=0, env=None):
    e = dict(os.environ, FLSYNC_TOKEN='demo')
    e.update(env or {})
    p = subprocess.run(args, capture_output=True, text=True, env=e, timeout=300)
    check(p.returncode == code, '%s: exit %d, want %d' % (' '.join(args[1:4]), p.returncode, code),
          p.stderr[-2000:])
    return p


class Receiver(http.server.BaseHTTPRequestHandler):
    status = 500
    bodies = []

    def do_POST(self):
        n = int(self.headers.get('Content-Length', 0))
        Receiver.bodies.append(self.rfile.read(n))
        self.send_response(Receiver.status)
        self.end_headers()

    def log_message(self, *a):
        pass


def mock_post(base, path):
    req = urllib.request.Request(base + path, method='POST', data=b'')
    return json.loads(urllib.request.urlopen(req, timeout=30).read())


def mock_get(base, path):
    return json.loads(urllib.request.urlopen(base + path, timeout=30).read())


def main():
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Receiver)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    hook = 'http://127.0.0.1:%d/hook' % srv.server_port
    mock = subprocess.Popen([FLMOCK, '--port', '0', '--webhook-faults', 'fail_after=2'],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = mock.stdout.readline()
        if not line.startswith('listening on '):
            print('flmock did not start: %r' % line)
            sys.exit(77)
        api = line.split()[-1]
        fl = [FLSYNC, '--db', DB, 'webhook']
        # A database to record into: one pass of flsyncd.
        run([FLSYNCD, '--db', DB, '--api', api, '--once'])

        p = run(fl + ['register', hook, '--api', api])
        check(p.stdout.startswith('registered webhook ') and hook in p.stdout and '(active)' in p.stdout,
              'register prints the new webhook', p.stdout)
        p = run(fl + ['register', 'https://example.com/hook', '--api', api], code=1)
        check('BAD_FORM' in p.stderr and 'loopback' in p.stderr, 'a refused URL names the API error', p.stderr)
        p = run(fl + ['register', 'not a url', '--api', api], code=1)
        check('http' in p.stderr, 'a URL that is not http(s) is refused before any request', p.stderr)
        p = run(fl + ['register', '--api', api], code=2)
        p = run(fl + ['list', '--api', api])
        lines = p.stdout.splitlines()
        check(len(lines) == 2 and lines[0].split() == ['ID', 'STATE', 'URL'] and 'active' in lines[1]
              and hook in lines[1], 'list shows the webhook active', p.stdout)
        p = run(fl + ['list', '--api', api], code=1, env={'FLSYNC_TOKEN': 'wrong'})
        check('401' in p.stderr or 'NOT_AUTHENTICATED' in p.stderr, 'a wrong token is named', p.stderr)
        p = run(fl + ['list', '--api', api], code=1, env={'FLSYNC_TOKEN': ''})
        check('FLSYNC_TOKEN' in p.stderr, 'no token: says how to give one', p.stderr)

        # Deliveries fail (500) twice: flmock deactivates the webhook.
        mock_post(api, '/_mock/webhooks/emit?type=message.received&thread_id=1')
        mock_post(api, '/_mock/webhooks/emit?type=message.received&thread_id=2')
        for _ in range(500):
            if mock_get(api, '/_mock/webhooks')['failed'] >= 2:
                break
            time.sleep(0.02)
        p = run(fl + ['list', '--api', api, '--json'])
        hooks = json.loads(p.stdout)
        check(len(hooks) == 1 and hooks[0]['inactive'] is True and
              '2 consecutive deliveries failed' in (hooks[0]['inactive_reason'] or ''),
              'list --json shows the inactive_reason', p.stdout)
        p = run([FLSYNC, '--db', DB, 'status'])
        check('inactive_reason: 2 consecutive deliveries failed' in p.stdout and '0 of 1 active' in p.stdout,
              'status shows the inactive webhook', p.stdout)
        p = run([FLSYNC, '--db', DB, 'status', '--json'])
        st = json.loads(p.stdout)
        check(st['webhooks']['known'] == 1 and st['webhooks']['active'] == 0 and
              st['webhooks']['inactive_reason'].startswith('2 consecutive'), 'status --json has webhooks', p.stdout)
        # Registering again revives it.
        Receiver.status = 200
        p = run(fl + ['register', hook, '--api', api])
        p = run(fl + ['list', '--api', api])
        check(' active ' in p.stdout and 'inactive' not in p.stdout, 're-registering revives it', p.stdout)

        # url: nothing recorded yet; then what a listener would record.
        p = run(fl + ['url'], code=1)
        check('--webhook-listen' in p.stderr, 'url without a listener says how to get one', p.stderr)
        con = sqlite3.connect(DB)
        con.execute("INSERT INTO webhook_state(key, text, num) VALUES ('listen_host', '127.0.0.1', 0), "
                    "('listen_port', NULL, 8470), ('secret_path', '/abc123', 0)")
        con.commit()
        con.close()
        p = run(fl + ['url'])
        check(p.stdout == 'http://127.0.0.1:8470/abc123\n', 'url prints the listener URL', p.stdout)
        p = run(fl + ['frobnicate'], code=2)
        p = run(fl + ['--help'])
        check('register URL' in p.stdout, 'webhook --help', p.stdout)
    finally:
        mock.terminate()
        mock.wait(timeout=30)
        srv.shutdown()


H.finish(main)
