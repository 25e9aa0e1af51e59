#!/usr/bin/env python3
"""test_auth.py FLSYNC FLSYNCD FLMOCK — signing in, against flmock's OAuth service.

Covered: the --no-browser login end to end (URL with state and PKCE, the
redirect pasted on stdin, the token file 0600 without the client secret,
flsyncd syncing with it); the browser login through a stand-in xdg-open;
PKCE ignored by the service; a state mismatch refused before any exchange;
a personal access token from stdin; a full sync during which the access
token expires many times (by request count, and by time) giving the same
database as a clean sync; two flsyncd sharing one token file refreshing at
the same moment, both succeeding with one refresh grant; a revoked refresh
token giving exit 4, the message, "needs login" in the token file, in
flsync auth status and in flsync status; token files with mode 0644 or
0640 refused; a bare token file still accepted; and no token anywhere in
argv, output, logs or the database.
"""
import json
import os
import sqlite3
import stat
import subprocess
import sys
import tempfile
import threading
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402

FLSYNC, FLSYNCD, FLMOCK = sys.argv[1:4]
VALGRIND = os.environ.get('FL_UNDER_VALGRIND') == '1'
STATIC = 'static-auth-test-token'
CLIENT, SECRET = 'test-client', 's3cret-of-the-app'
WORLD = ['--users', '120', '--projects', '150', '--bids-per-project', '4', '--milestones', '80',
         '--milestone-requests', '40', '--reviews', '80', '--threads', '40', '--messages-per-thread', '5']
tmp = tempfile.mkdtemp(prefix='flauth.')
TALLY = harness.Tally()
check = TALLY.check
secrets_seen = set()   # every token issued: none may show up where it must not


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None


opener = urllib.request.build_opener(NoRedirect)


class Mock:
    def __init__(self, *args, world=WORLD):
        self.proc = subprocess.Popen([FLMOCK, '--port', '0', '--seed', '5', '--token', STATIC,
                                      '--client-id', CLIENT, '--client-secret', SECRET, *world, *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith('listening on '):
            print('SKIP: flmock did not start:', line)
            sys.exit(77)
        self.url = line.split()[-1]

    def call(self, method, path):
        req = urllib.request.Request(self.url + path, method=method)
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read().decode())

    def oauth(self):
        return self.call('GET', '/_mock/oauth')

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def write_secret():
    path = os.path.join(tmp, 'client-secret')
    with open(path, 'w') as f:
        f.write(SECRET + '\n')
    os.chmod(path, 0o600)
    return path


def follow(url):
    """What a browser does: GET the authorization URL; return the Location it is sent to."""
    try:
        opener.open(url, timeout=30)
    except urllib.error.HTTPError as e:
        if e.code in (301, 302, 303, 307):
            return e.headers['Location']
        raise
    raise AssertionError('no redirect from ' + url)


def login(mock, token_file, extra=(), tamper=None):
    """flsync auth login --no-browser: (exit code, stdout first line, stderr)."""
    cmd = [FLSYNC, 'auth', 'login', '--no-browser', '--token-file', token_file, '--api', mock.url,
           '--auth', mock.url, '--client-id', CLIENT, '--client-secret-file', write_secret(),
           '--redirect', 'http://127.0.0.1:8976/callback', '--scope', 'basic', '6', *extra]
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = p.stdout.readline().strip()
    try:
        loc = follow(first)
    except Exception as e:  # noqa: BLE001 - reported as a failure below
        loc = 'error: %s' % e
    if tamper:
        loc = tamper(loc)
    out, err = p.communicate(loc + '\n', timeout=120)
    return p.returncode, first, err


def record(token_file):
    with open(token_file) as f:
        rec = json.load(f)
    for k in ('access_token', 'refresh_token'):
        if rec.get(k):
            secrets_seen.add(rec[k])
    return rec


def flsyncd(db, url, token_file=None, extra=(), env_token=None, timeout=900):
    env = dict(os.environ, XDG_CONFIG_HOME=tmp)
    env.pop('FLSYNC_TOKEN', None)
    if env_token:
        env['FLSYNC_TOKEN'] = env_token
    cmd = [FLSYNCD, '--db', db, '--api', url, '--once', '-v', *extra]
    if token_file:
        cmd += ['--token-file', token_file]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)


def tables(db):
    """Every synced entity row, without synced_at (when it was stored is no difference)."""
    con = sqlite3.connect(db)
    out = {}
    for t in ('users', 'currencies', 'jobs', 'projects', 'project_jobs', 'bids', 'milestones',
              'milestone_requests', 'reviews', 'threads', 'thread_members', 'messages'):
        cols = [r[1] for r in con.execute('PRAGMA table_info(%s)' % t) if r[1] != 'synced_at']
        out[t] = sorted(con.execute('SELECT %s FROM %s' % (', '.join(cols), t)).fetchall(), key=repr)
    con.close()
    return out


def no_secret_in(name, text):
    leaked = [s for s in secrets_seen | {SECRET} if s and s in text]
    check('%s holds no token or secret' % name, not leaked, 'found %d of them' % len(leaked))


def test_no_browser_login(mock):
    tf = os.path.join(tmp, 'login.json')
    code, url, err = login(mock, tf)
    check('login --no-browser exits 0', code == 0, err)
    q = urllib.parse.parse_qs(urllib.parse.urlparse(url).query)
    check('the first stdout line is the authorization URL', url.startswith(mock.url + '/oauth/authorise?'), url)
    check('it asks for a code with our client id and scopes',
          q.get('response_type') == ['code'] and q.get('client_id') == [CLIENT] and q.get('scope') == ['basic 6'], q)
    check('it carries a random state', len(q.get('state', [''])[0]) >= 32, q)
    check('it sends PKCE (S256)', q.get('code_challenge_method') == ['S256'] and len(q.get('code_challenge', [''])[0]) == 43, q)
    st = os.stat(tf)
    check('the token file has mode 0600', stat.S_IMODE(st.st_mode) == 0o600, oct(st.st_mode))
    rec = record(tf)
    check('the record holds the access and refresh tokens, expiry, token URL and client id',
          rec.get('access_token') and rec.get('refresh_token') and rec.get('expires_at', 0) > 0 and
          rec.get('token_url') == mock.url + '/oauth/token' and rec.get('client_id') == CLIENT, rec.keys())
    check('the record names the secret\'s file, not the secret',
          rec.get('client_secret_file') == os.path.join(tmp, 'client-secret') and SECRET not in open(tf).read())
    self_id = mock.call('GET', '/_mock/self')['id']
    check('the record names the account GET self gave', rec.get('user_id') == self_id, rec.get('user_id'))
    st = subprocess.run([FLSYNC, 'auth', 'status', '--token-file', tf], capture_output=True, text=True)
    check('auth status exits 0 and shows the account, expiry and scopes',
          st.returncode == 0 and str(self_id) in st.stdout and 'expires' in st.stdout and 'basic 6' in st.stdout,
          st.stdout + st.stderr)
    no_secret_in('auth status', st.stdout + st.stderr)
    no_secret_in('login output', url + err)
    j = json.loads(subprocess.run([FLSYNC, 'auth', 'status', '--token-file', tf, '--json'],
                                  capture_output=True, text=True).stdout)
    check('auth status --json says refreshable, not needing login', j['refreshable'] and j['needs_login'] is None, j)
    o = mock.oauth()
    check('the service saw PKCE and one code grant', o['authorised_with_pkce'] >= 1 and o['authorization_code_grants'] >= 1, o)
    db = os.path.join(tmp, 'login.db')
    r = flsyncd(db, mock.url, tf)
    check('flsyncd --token-file with the login record syncs', r.returncode == 0, r.stderr)
    no_secret_in('flsyncd -v log', r.stdout + r.stderr)
    return tf


def test_browser_login(mock):
    """The default flow: a listener on the redirect's port, xdg-open, the redirect caught."""
    bindir = os.path.join(tmp, 'bin')
    os.makedirs(bindir, exist_ok=True)
    fake = os.path.join(bindir, 'xdg-open')
    with open(fake, 'w') as f:
        f.write('#!/usr/bin/env python3\n'
                'import sys, threading, urllib.request\n'
                '# A browser: follow the redirects, in the background as xdg-open does.\n'
                'import os\n'
                'if os.fork() == 0:\n'
                '    urllib.request.urlopen(sys.argv[1], timeout=30).read()\n')
    os.chmod(fake, 0o755)
    tf = os.path.join(tmp, 'browser.json')
    env = dict(os.environ, PATH=bindir + ':' + os.environ['PATH'])
    r = subprocess.run([FLSYNC, 'auth', 'login', '--token-file', tf, '--api', mock.url, '--auth', mock.url,
                        '--client-id', CLIENT, '--client-secret-file', write_secret(),
                        '--redirect', 'http://127.0.0.1:0/callback', '--timeout', '60'],
                       env=env, capture_output=True, text=True, timeout=120)
    check('login through the browser exits 0', r.returncode == 0, r.stderr)
    check('it wrote the token file', os.path.exists(tf) and record(tf).get('refresh_token'))


def test_pkce_ignored():
    mock = Mock('--ignore-pkce')
    try:
        tf = os.path.join(tmp, 'nopkce.json')
        code, _, err = login(mock, tf)
        check('login works where the service ignores PKCE', code == 0 and os.path.exists(tf), err)
    finally:
        mock.stop()


def test_state_mismatch(mock):
    tf = os.path.join(tmp, 'mismatch.json')
    before = mock.oauth()['authorization_code_grants']

    def other_state(loc):
        u = urllib.parse.urlparse(loc)
        q = urllib.parse.parse_qs(u.query)
        q['state'] = ['someone-elses-state-0123456789abcdef']
        return u._replace(query=urllib.parse.urlencode({k: v[0] for k, v in q.items()})).geturl()

    code, _, err = login(mock, tf, tamper=other_state)
    check('a state mismatch is refused (exit 1)', code == 1 and 'state' in err, err)
    check('nothing is written on a mismatch', not os.path.exists(tf))
    check('no code is exchanged on a mismatch', mock.oauth()['authorization_code_grants'] == before)
    code, _, err = login(mock, tf, tamper=lambda loc: loc.split('&state=')[0])
    check('a redirect without state is refused', code == 1 and 'state' in err and not os.path.exists(tf), err)
    code, _, err = login(mock, tf, extra=['--client-id', 'nobody'])
    check('an unknown client is refused', code != 0 and not os.path.exists(tf), err)


def test_refresh_and_client(mock):
    """flsync auth refresh renews in place; a wrong client secret is invalid_client, said plainly."""
    tf = os.path.join(tmp, 'sub', 'dir', 'refresh.json')
    code, _, err = login(mock, tf)
    check('login makes the token file\'s directory', code == 0 and os.path.exists(tf), err)
    check('... with mode 0700', stat.S_IMODE(os.stat(os.path.dirname(tf)).st_mode) == 0o700)
    old = record(tf)
    before = mock.oauth()['refresh_token_grants']
    r = subprocess.run([FLSYNC, 'auth', 'refresh', '--token-file', tf], capture_output=True, text=True)
    new = record(tf)
    check('auth refresh renews both tokens in place', r.returncode == 0 and new['access_token'] != old['access_token']
          and new['refresh_token'] != old['refresh_token'] and mock.oauth()['refresh_token_grants'] == before + 1,
          r.stderr)
    with open(new['client_secret_file'], 'w') as f:
        f.write('not-the-secret\n')
    r = subprocess.run([FLSYNC, 'auth', 'refresh', '--token-file', tf], capture_output=True, text=True)
    check('a wrong client secret: invalid_client, exit 4, naming the secret\'s file',
          r.returncode == 4 and 'invalid_client' in r.stderr and new['client_secret_file'] in r.stderr, r.stderr)
    check('... and the refresh token is not marked spent', not record(tf).get('needs_login'))
    mock.call('POST', '/_mock/oauth/expire')
    r = flsyncd(os.path.join(tmp, 'client.db'), mock.url, tf)
    check('flsyncd with a wrong client secret exits 4 with the message',
          r.returncode == 4 and 'invalid_client' in r.stderr, r.stderr)
    code, _, err = login(mock, os.path.join(tmp, 'wrong-secret.json'))  # write_secret() mends the file
    check('login with the right secret again works', code == 0, err)
    with open(os.path.join(tmp, 'client-secret'), 'w') as f:
        f.write('wrong\n')
    cmd = [FLSYNC, 'auth', 'login', '--no-browser', '--token-file', os.path.join(tmp, 'never.json'), '--api', mock.url,
           '--auth', mock.url, '--client-id', CLIENT, '--client-secret-file', os.path.join(tmp, 'client-secret')]
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    loc = follow(p.stdout.readline().strip())
    _, err = p.communicate(loc + '\n', timeout=60)
    check('login with a wrong secret: exit 4, invalid_client, nothing written',
          p.returncode == 4 and 'invalid_client' in err and not os.path.exists(os.path.join(tmp, 'never.json')), err)
    write_secret()


def test_personal_token(mock):
    tf = os.path.join(tmp, 'pat.json')
    r = subprocess.run([FLSYNC, 'auth', 'token', '--token-file', tf, '--api', mock.url],
                       input=STATIC + '\n', capture_output=True, text=True)
    check('auth token reads stdin, checks and writes the file', r.returncode == 0 and os.path.exists(tf), r.stderr)
    check('its file has mode 0600', stat.S_IMODE(os.stat(tf).st_mode) == 0o600)
    st = subprocess.run([FLSYNC, 'auth', 'status', '--token-file', tf], capture_output=True, text=True)
    check('its status shows no refresh and not the token', st.returncode == 0 and 'none' in st.stdout and STATIC not in st.stdout, st.stdout)
    r = subprocess.run([FLSYNC, 'auth', 'token', '--token-file', os.path.join(tmp, 'bad.json'), '--api', mock.url],
                       input='not-the-token\n', capture_output=True, text=True)
    check('a refused token exits 4, writes nothing, and is not echoed',
          r.returncode == 4 and not os.path.exists(os.path.join(tmp, 'bad.json')) and 'not-the-token' not in r.stderr, r.stderr)
    r = flsyncd(os.path.join(tmp, 'pat.db'), mock.url, tf)
    check('flsyncd syncs with the personal-token record', r.returncode == 0, r.stderr)


def test_expiring_sync():
    """A full sync while access tokens keep expiring equals a clean sync.  By
    time: half the requests stall 1.5 s, so that even with requests side by
    side the sync outlasts several 2 s tokens."""
    for label, args, world in (('by request count', ['--token-requests', '5'], ['--scale', '6000']),
                               ('by time', ['--token-ttl', '2', '--faults', 'stall=0.5,stall_ms=1500'], WORLD)):
        mock = Mock(*args, world=world)
        try:
            clean = os.path.join(tmp, 'clean-%d.db' % len(label))
            r = flsyncd(clean, mock.url, env_token=STATIC)
            check('clean sync (%s)' % label, r.returncode == 0, r.stderr)
            tf = os.path.join(tmp, 'expiring-%d.json' % len(label))
            code, _, err = login(mock, tf)
            check('login (%s)' % label, code == 0, err)
            db = os.path.join(tmp, 'expiring-%d.db' % len(label))
            before = mock.oauth()
            r = flsyncd(db, mock.url, tf)
            after = mock.oauth()
            record(tf)
            grants = after['refresh_token_grants'] - before['refresh_token_grants']
            check('the sync with expiring tokens succeeds (%s)' % label, r.returncode == 0, r.stderr)
            check('the access token expired and was refreshed several times (%s): %d' % (label, grants),
                  grants >= 3, json.dumps(after))
            check('no refresh was refused (%s)' % label, after['errors']['invalid_grant'] == before['errors']['invalid_grant'])
            a, b = tables(clean), tables(db)
            check('the database equals a clean sync\'s (%s)' % label, a == b,
                  [t for t in a if a[t] != b[t]])
            print('expiring tokens %s: %d refresh grants, %d API 401s for expiry' %
                  (label, grants, after['api_refused_expired'] - before['api_refused_expired']))
            no_secret_in('flsyncd -v log (%s)' % label, r.stdout + r.stderr)
            with open(db, 'rb') as f:
                raw = f.read().decode('latin-1')
            no_secret_in('the database file (%s)' % label, raw)
        finally:
            mock.stop()


def test_shared_token_file():
    """Two flsyncd, one token file, both refreshing at the same moment."""
    mock = Mock('--token-delay-ms', '3000')
    try:
        tf = os.path.join(tmp, 'shared.json')
        code, _, err = login(mock, tf)
        check('login for the shared file', code == 0, err)
        for round_, how in enumerate(('the API refuses the expired token (401)', 'both see the expiry due')):
            if round_ == 0:
                mock.call('POST', '/_mock/oauth/expire')
            else:
                # Make the file say the token expires now: each process refreshes before its first request.
                rec = record(tf)
                rec['expires_at'] = rec['obtained_at'] = 1
                with open(tf + '.new', 'w') as f:
                    json.dump(rec, f)
                os.chmod(tf + '.new', 0o600)
                os.rename(tf + '.new', tf)
                mock.call('POST', '/_mock/oauth/expire')
            before = mock.oauth()
            results = [None, None]

            def run(i):
                results[i] = flsyncd(os.path.join(tmp, 'shared-%d-%d.db' % (round_, i)), mock.url, tf)

            threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            after = mock.oauth()
            record(tf)
            check('both passes succeed (%s)' % how, all(r.returncode == 0 for r in results),
                  '\n'.join(r.stderr[-1500:] for r in results))
            grants = after['refresh_token_grants'] - before['refresh_token_grants']
            check('exactly one refresh grant between them (%s): %d' % (how, grants), grants == 1, json.dumps(after))
            check('no refresh token was spent twice (%s)' % how,
                  after['errors']['invalid_grant'] == before['errors']['invalid_grant'], json.dumps(after))
            took = sum('1 tokens taken from another' in r.stderr for r in results)
            print('shared token file, %s: %d grant(s); %d process(es) took the other\'s token' % (how, grants, took))
            check('the other process took the refreshed token from the file (%s)' % how, took == 1,
                  '\n'.join(r.stderr[-800:] for r in results))
    finally:
        mock.stop()


def test_revoked(mock):
    tf = os.path.join(tmp, 'revoked.json')
    code, _, err = login(mock, tf)
    check('login before revocation', code == 0, err)
    db = os.path.join(tmp, 'revoked.db')
    r = flsyncd(db, mock.url, tf)
    check('a pass before revocation succeeds', r.returncode == 0, r.stderr)
    mock.call('POST', '/_mock/oauth/revoke')
    mock.call('POST', '/_mock/oauth/expire')
    r = flsyncd(db, mock.url, tf)
    check('a revoked refresh token: flsyncd exits 4', r.returncode == 4, r.stderr)
    check('... saying to run flsync auth login', 'flsync auth login --token-file ' + tf in r.stderr, r.stderr)
    check('... naming invalid_grant', 'invalid_grant' in r.stderr, r.stderr)
    no_secret_in('the refusal', r.stdout + r.stderr)
    check('the token file says needs login', record(tf).get('needs_login'))
    st = subprocess.run([FLSYNC, 'auth', 'status', '--token-file', tf], capture_output=True, text=True)
    check('auth status: NEEDS LOGIN, exit 4', st.returncode == 4 and 'NEEDS LOGIN' in st.stdout, st.stdout + st.stderr)
    st = subprocess.run([FLSYNC, '--db', db, 'status'], capture_output=True, text=True)
    check('flsync status: NEEDS LOGIN with what to run', st.returncode == 0 and 'NEEDS LOGIN' in st.stdout and
          'flsync auth login' in st.stdout, st.stdout + st.stderr)
    j = json.loads(subprocess.run([FLSYNC, '--db', db, 'status', '--json'], capture_output=True, text=True).stdout)
    check('flsync status --json: needs_login', j.get('needs_login') and 'flsync auth login' in j['needs_login'], j.get('needs_login'))
    before = mock.oauth()
    r = flsyncd(db, mock.url, tf)
    check('the next flsyncd exits 4 at once, asking no one', r.returncode == 4 and 'flsync auth login' in r.stderr and
          mock.oauth() == before, r.stderr)
    code, _, err = login(mock, tf)
    check('logging in again mends it', code == 0 and not record(tf).get('needs_login'), err)
    r = flsyncd(db, mock.url, tf)
    check('... and the next pass succeeds', r.returncode == 0, r.stderr)
    st = subprocess.run([FLSYNC, '--db', db, 'status'], capture_output=True, text=True)
    check('... and flsync status no longer says NEEDS LOGIN', 'NEEDS LOGIN' not in st.stdout, st.stdout)
    r = subprocess.run([FLSYNC, 'auth', 'logout', '--token-file', tf], capture_output=True, text=True)
    check('auth logout removes the file', r.returncode == 0 and not os.path.exists(tf), r.stderr)


def test_unsafe_modes(mock, tf):
    for mode in (0o644, 0o640, 0o604):
        os.chmod(tf, mode)
        r = flsyncd(os.path.join(tmp, 'mode.db'), mock.url, tf)
        check('token file mode %o: flsyncd exits 4 with a message' % mode,
              r.returncode == 4 and 'readable by others' in r.stderr and 'chmod 600' in r.stderr, r.stderr)
        st = subprocess.run([FLSYNC, 'auth', 'status', '--token-file', tf], capture_output=True, text=True)
        check('token file mode %o: auth status refuses it' % mode, st.returncode == 1 and 'readable by others' in st.stderr, st.stderr)
    os.chmod(tf, 0o600)
    secret = write_secret()
    os.chmod(secret, 0o644)
    r = subprocess.run([FLSYNC, 'auth', 'login', '--no-browser', '--token-file', os.path.join(tmp, 'x.json'),
                        '--api', mock.url, '--auth', mock.url, '--client-id', CLIENT, '--client-secret-file', secret],
                       input='', capture_output=True, text=True, timeout=60)
    check('a client secret file others may read is refused before the browser',
          r.returncode == 1 and r.stdout == '' and 'readable by others' in r.stderr, r.stdout + r.stderr)
    write_secret()
    bare = os.path.join(tmp, 'bare-token')
    with open(bare, 'w') as f:
        f.write(STATIC + '\n')
    os.chmod(bare, 0o600)
    r = flsyncd(os.path.join(tmp, 'bare.db'), mock.url, bare)
    check('a bare token in --token-file still works', r.returncode == 0, r.stderr)


def main():
    mock = Mock()
    try:
        tf = test_no_browser_login(mock)
        test_browser_login(mock)
        test_state_mismatch(mock)
        test_personal_token(mock)
        test_refresh_and_client(mock)
        test_unsafe_modes(mock, tf)
        test_revoked(mock)
    finally:
        mock.stop()
    test_pkce_ignored()
    test_shared_token_file()
    test_expiring_sync()
    return TALLY.summary()


sys.exit(main())
