"""webdriver.py — what the ui suite and the ui benchmark share: starting a
server that prints "listening on URL" first (flmock, flsync ui), and just
enough of the W3C WebDriver protocol (over urllib) to drive Debian's
chromium through chromedriver: open a page, find, click, type, run a
script, take a screenshot.

chromedriver is started on port 0; its port is read back from the kernel
(the listening socket among the process's descriptors), never guessed.
"""
import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

CHROMIUM_FLAGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                  '--disable-background-networking', '--disable-component-update', '--disable-sync',
                  '--disable-dev-shm-usage', '--window-size=1280,900']


def start_listening(cmd, cwd, name, env=None):
    """Start cmd in cwd (its output in NAME.out/.err there); (process, URL) from its first line."""
    out = open(os.path.join(cwd, name + '.out'), 'wb+')
    err = open(os.path.join(cwd, name + '.err'), 'wb')
    p = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=cwd, env=env)
    for _ in range(600):
        out.seek(0)
        line = out.readline().decode()
        if line.startswith('listening on '):
            return p, line[len('listening on '):].strip()
        if p.poll() is not None:
            break
        time.sleep(0.05)
    p.kill()
    raise SystemExit('%s did not start: %s' % (name, open(err.name).read()[-2000:]))


def find(*names):
    for n in names:
        p = shutil.which(n) or (n if os.path.isabs(n) and os.access(n, os.X_OK) else None)
        if p:
            return p
    return None


def _listening_port(pid):
    """The TCP port process pid listens on (from /proc), or None."""
    inodes = set()
    try:
        for fd in os.listdir('/proc/%d/fd' % pid):
            try:
                link = os.readlink('/proc/%d/fd/%s' % (pid, fd))
            except OSError:
                continue
            if link.startswith('socket:['):
                inodes.add(link[8:-1])
    except OSError:
        return None
    for table in ('/proc/net/tcp', '/proc/net/tcp6'):
        try:
            lines = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if f[3] == '0A' and f[9] in inodes:  # LISTEN
                return int(f[1].rsplit(':', 1)[1], 16)
    return None


class WebDriverError(Exception):
    pass


class Browser:
    def __init__(self, chromium, chromedriver, log_path):
        self.log = open(log_path, 'wb')
        self.profile = tempfile.mkdtemp(prefix='flui-chromium.')
        self.proc = subprocess.Popen([chromedriver, '--port=0'], stdout=self.log, stderr=subprocess.STDOUT)
        port = None
        for _ in range(200):
            port = _listening_port(self.proc.pid)
            if port:
                break
            if self.proc.poll() is not None:
                raise WebDriverError('chromedriver exited (%d); see %s' % (self.proc.returncode, log_path))
            time.sleep(0.05)
        if not port:
            self.close()
            raise WebDriverError('chromedriver did not listen; see %s' % log_path)
        self.base = 'http://127.0.0.1:%d' % port
        caps = {'capabilities': {'alwaysMatch': {'browserName': 'chrome', 'goog:chromeOptions': {
            'binary': chromium, 'args': CHROMIUM_FLAGS + ['--user-data-dir=' + self.profile]}}}}
        for attempt in range(50):
            try:
                self.session = self._call('POST', '/session', caps)['sessionId']
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        else:
            raise WebDriverError('no WebDriver session; see %s' % log_path)

    def _call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={'Content-Type': 'application/json'})
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                return json.loads(r.read()).get('value')
        except urllib.error.HTTPError as e:
            detail = e.read().decode(errors='replace')
            raise WebDriverError('%s %s: %d %s' % (method, path, e.code, detail[:500]))

    def cmd(self, method, path, body=None):
        return self._call(method, '/session/%s%s' % (self.session, path), body)

    def get(self, url):
        self.cmd('POST', '/url', {'url': url})

    def script(self, js, *args):
        return self.cmd('POST', '/execute/sync', {'script': js, 'args': list(args)})

    def async_script(self, js, *args):
        return self.cmd('POST', '/execute/async', {'script': js, 'args': list(args)})

    def elements(self, css):
        return [list(e.values())[0] for e in self.cmd('POST', '/elements', {'using': 'css selector', 'value': css})]

    def click(self, css):
        els = self.elements(css)
        if not els:
            raise WebDriverError('nothing matches %s' % css)
        self.cmd('POST', '/element/%s/click' % els[0], {})

    def type(self, css, text):
        els = self.elements(css)
        if not els:
            raise WebDriverError('nothing matches %s' % css)
        self.cmd('POST', '/element/%s/value' % els[0], {'text': text})

    def wait(self, js, timeout=20, *args):
        """Poll js (returning a truthy value when done) up to timeout seconds; its value or None."""
        end = time.time() + timeout
        while True:
            v = self.script(js, *args)
            if v or time.time() > end:
                return v
            time.sleep(0.05)

    def screenshot(self, path):
        with open(path, 'wb') as f:
            f.write(base64.b64decode(self.cmd('GET', '/screenshot')))

    def close(self):
        try:
            if getattr(self, 'session', None):
                self.cmd('DELETE', '')
        except Exception:
            pass
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)
