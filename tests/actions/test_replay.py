#!/usr/bin/env python3
"""test_replay.py FLSYNCD FLSYNC FLMOCK [LIBFLSYNC] — queued write actions replayed by flsyncd against flmock.

Everything goes through the real binaries: `flsyncd --once` syncs (so the
database knows the account), `flsync queue add KIND --json ...` queues,
`flsyncd --once` replays, and the outcome is read back with `flsync queue
show ID --json`, SQL on the database, and flmock's /_mock/log and /_mock/dump.

Covered: each kind's success where flmock implements it (the action done,
the server's object in place of the optimistic row, the write applied once);
a documented rejection (failed with the API's error_code and message, effect
undone); dependent actions (thread.create then message.send into its local
reference); a failed action not blocking an unrelated one; per-endpoint rate
limits under a burst of queued bids (requests per window from /_mock/log,
nothing failed); and exactly-once under SIGKILL of flsyncd at random points,
with and without lost replies.  "Already" answers (test_already): a duplicate
bid, review or invitation on its first send fails with the API's words and the
real object in place of the optimistic row; after a lost reply, what the
server has is done when it is what was sent and failed when it is not.
"""
import ctypes
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402

FLSYNCD, FLSYNC, FLMOCK = sys.argv[1], sys.argv[2], sys.argv[3]
# The shared library, for queueing the burst of 1,000 bids in-process (a process per
# `flsync queue add` costs ~50-80 ms here: 1,000 of them alone would take over a minute).
LIBFLSYNC = sys.argv[4] if len(sys.argv) > 4 else os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(FLSYNC)))), 'libflsync.so')
TOKEN = 'replay-test-token'
VALGRIND = os.environ.get('FL_UNDER_VALGRIND') == '1'
SEED = '5'
TALLY = harness.Tally()
check = TALLY.check
T0 = time.time()


def note(msg):
    print('note: ' + msg)


class Mock(harness.Mock):
    def __init__(self, *args):
        super().__init__(FLMOCK, TOKEN, '--seed', SEED, *args)

    def api(self, method, path, params):
        """An API write as the account, with a JSON body: (HTTP status, envelope)."""
        req = urllib.request.Request(self.url + path, method=method, data=json.dumps(params).encode(),
                                     headers={'Freelancer-OAuth-V1': TOKEN, 'Content-Type': 'application/json'})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, json.loads(r.read().decode())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read().decode())

    def log(self):
        return [json.loads(l) for l in self.call('GET', '/_mock/log').splitlines() if l.strip()]

    def self_id(self):
        return json.loads(self.call('GET', '/_mock/self'))['id']


def write_config(tmp, text):
    os.makedirs(os.path.join(tmp, 'flsync'), exist_ok=True)
    with open(os.path.join(tmp, 'flsync', 'flsyncd.conf'), 'w') as f:
        f.write(text)


def env_for(db):
    return dict(os.environ, FLSYNC_TOKEN=TOKEN, XDG_CONFIG_HOME=os.path.dirname(db))


def flsyncd(db, url, timeout=300):
    return subprocess.run([FLSYNCD, '--db', db, '--api', url, '--once', '-v'], env=env_for(db),
                          capture_output=True, text=True, timeout=timeout)


def flsync(db, *args):
    return subprocess.run([FLSYNC, '--db', db, *args], capture_output=True, text=True, timeout=60,
                          env=env_for(db))


def queue_add(db, kind, params):
    r = flsync(db, 'queue', 'add', kind, '--json', json.dumps(params))
    m = re.search(r'queued action (\d+)', r.stdout)
    if r.returncode != 0 or not m:
        raise RuntimeError('queue add %s %s: exit %d: %s%s' % (kind, json.dumps(params), r.returncode,
                                                              r.stdout, r.stderr))
    return int(m.group(1))


def lib_enqueue_many(db, kind, params_list):
    """fl_action_enqueue() through libflsync for each params; returns the ids."""
    lib = ctypes.CDLL(LIBFLSYNC)
    lib.fl_db_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_void_p)]
    lib.fl_action_enqueue.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p,
                                      ctypes.POINTER(ctypes.c_int64), ctypes.c_void_p]
    lib.fl_errmsg.argtypes = [ctypes.c_void_p]
    lib.fl_errmsg.restype = ctypes.c_char_p
    lib.fl_db_close.argtypes = [ctypes.c_void_p]
    handle = ctypes.c_void_p()
    rc = lib.fl_db_open(db.encode(), 0, ctypes.byref(handle))
    if rc:
        raise RuntimeError('fl_db_open %s: %d' % (db, rc))
    ids = []
    try:
        for params in params_list:
            out = ctypes.c_int64()
            rc = lib.fl_action_enqueue(handle, kind.encode(), json.dumps(params).encode(), ctypes.byref(out), None)
            if rc:
                raise RuntimeError('fl_action_enqueue %s: %d %s' % (json.dumps(params), rc, lib.fl_errmsg(handle)))
            ids.append(out.value)
    finally:
        lib.fl_db_close(handle)
    return ids


def show(db, action):
    r = flsync(db, 'queue', 'show', str(action), '--json')
    if r.returncode != 0:
        raise RuntimeError('queue show %d: %s' % (action, r.stderr))
    return json.loads(r.stdout)


def sql(db, query, *args):
    con = sqlite3.connect(db, timeout=30)
    try:
        return con.execute(query, args).fetchall()
    finally:
        con.close()


def sql1(db, query, *args):
    rows = sql(db, query, *args)
    return rows[0][0] if rows else None


def states(db):
    return dict(sql(db, 'SELECT state, count(*) FROM actions GROUP BY state'))


def body_params(entry):
    """A log entry's body (JSON, form or multipart) as a dict; arrays as lists."""
    body = entry.get('body') or ''
    if body.startswith('{'):
        try:
            return json.loads(body)
        except ValueError:
            return {}
    out = {}
    for k, v in urllib.parse.parse_qsl(body, keep_blank_values=True):
        if k.endswith('[]'):
            out.setdefault(k[:-2], []).append(v)
        else:
            out[k] = v
    return out


def eq(a, b):
    return str(a) == str(b)


# ---- the plan: one valid action of each kind, on objects of the world -------------

API = '/api/projects/0.1'
MSG = '/api/messages/0.1'


def plan_actions(mock, tag):
    """A list of dicts: kind, params, match(entry, body) -> bool for its write in /_mock/log,
    table/creates info, and world(dump) -> number of times its effect is in the world."""
    S = mock.self_id()
    P = {p['id']: p for p in mock.dump('projects')}
    B = mock.dump('bids')
    M = mock.dump('milestones')
    R = mock.dump('milestone_requests')
    T = mock.dump('threads')
    RV = mock.dump('reviews')
    U = [u['id'] for u in mock.dump('users') if u['id'] != S]
    used = set()   # projects already acted on
    plan = []
    missing = []

    def active(pid):
        p = P.get(pid)
        return p and p['status'] == 'active' and not p.get('deleted')

    def take(kind, cands, make):
        for c in cands:
            pid = c.get('project_id') if isinstance(c, dict) else None
            if pid in used:
                continue
            a = make(c)
            if a is None:
                continue
            if pid:
                used.add(pid)
            a['kind'] = kind
            plan.append(a)
            return a
        missing.append(kind)
        return None

    my_bid_projects = {b['project_id'] for b in B if b['bidder_id'] == S}
    awarded_or_pending = {b['project_id'] for b in B if b['award_status'] in ('pending', 'awarded')}

    def bid_put(action, ok_world):
        def make(b):
            return dict(params={'bid_id': b['id']}, target=('bids', b['id']),
                        match=lambda e, body, i=b['id']: e['method'] == 'PUT' and
                        e['path'] == '%s/bids/%d/' % (API, i) and e['query'] == action,
                        world=lambda w, i=b['id']: sum(1 for x in w['bids'] if x['id'] == i and ok_world(x)))
        return make

    # bid.create: on active projects of others, one per project, never bid on by self
    fresh = [pid for pid, p in sorted(P.items()) if active(pid) and p['owner_id'] != S
             and pid not in my_bid_projects]
    for pid in fresh[:3]:
        def make(c, pid=pid):
            desc = 'replay %s bid on %d' % (tag, pid)
            return dict(params={'project_id': pid, 'amount': 120, 'period': 6, 'milestone_percentage': 50,
                                'description': desc},
                        creates=('bids', 'id'),
                        match=lambda e, body, pid=pid: e['method'] == 'POST' and e['path'] == API + '/bids/'
                        and eq(body.get('project_id'), pid),
                        world=lambda w, pid=pid: sum(1 for x in w['bids']
                                                     if x['project_id'] == pid and x['bidder_id'] == S))
        take('bid.create', [{'project_id': pid}], make)

    own_bids = [b for b in B if b['project_owner_id'] == S and not b['retracted']]
    mine = [b for b in B if b['bidder_id'] == S and not b['retracted']]
    take('bid.award', [b for b in own_bids if active(b['project_id']) and b['award_status'] is None
                       and b['project_id'] not in awarded_or_pending],
         bid_put('award', lambda x: x['award_status'] == 'pending'))
    take('bid.revoke', [b for b in own_bids if b['award_status'] == 'pending'],
         bid_put('revoke', lambda x: x['award_status'] == 'revoked'))
    take('bid.accept', [b for b in mine if b['award_status'] == 'pending' and active(b['project_id'])],
         bid_put('accept', lambda x: x['award_status'] == 'awarded'))
    take('bid.reject', [b for b in mine if b['award_status'] == 'pending'],
         bid_put('reject', lambda x: x['award_status'] == 'rejected'))
    take('bid.retract', [b for b in mine if b['award_status'] is None and active(b['project_id'])],
         bid_put('retract', lambda x: x['retracted']))
    take('bid.highlight', [b for b in mine if not b['highlighted'] and b['award_status'] is None],
         bid_put('highlight', lambda x: x['highlighted']))
    take('bid.shortlist', [b for b in own_bids if not b['shortlisted']],
         bid_put('shortlist', lambda x: x['shortlisted']))

    # milestones
    awarded = [b for b in B if b['award_status'] == 'awarded']

    def ms_create(b):
        desc = 'replay %s milestone on bid %d' % (tag, b['id'])
        return dict(params={'project_id': b['project_id'], 'bidder_id': b['bidder_id'], 'bid_id': b['id'],
                            'amount': 5, 'description': desc, 'reason': 'partial_payment'},
                    creates=('milestones', 'transaction_id'),
                    match=lambda e, body, d=desc: e['method'] == 'POST' and e['path'] == API + '/milestones/'
                    and body.get('description') == d,
                    world=lambda w, d=desc: sum(1 for x in w['milestones'] if x.get('description') == d))
    take('milestone.create', [b for b in awarded if b['project_owner_id'] == S], ms_create)

    bids_by_id = {b['id']: b for b in B}

    def ms_put(action, ok_world, extra=None):
        def make(m):
            i = m['transaction_id']
            params = {'milestone_id': i}
            if extra:
                params.update(extra(m))
            return dict(params=params, target=('milestones', i),
                        match=lambda e, body, i=i: e['method'] == 'PUT' and
                        e['path'] == '%s/milestones/%d/' % (API, i) and e['query'] == action,
                        world=lambda w, i=i: sum(1 for x in w['milestones'] if x['transaction_id'] == i
                                                 and ok_world(x)))
        return make
    take('milestone.release', [m for m in M if m['project_owner_id'] == S and m['status'] == 'frozen'
                               and bids_by_id.get(m['bid_id'], {}).get('award_status') == 'awarded'],
         ms_put('release', lambda x: x['status'] == 'cleared', lambda m: {'amount': m['amount']}))
    take('milestone.request_release', [m for m in M if m['bidder_id'] == S and m['status'] == 'frozen'],
         ms_put('request_release', lambda x: x['status'] == 'requested_release'))
    take('milestone.cancel', [m for m in M if m['bidder_id'] == S and m['status'] in ('frozen', 'requested_release')],
         ms_put('cancel', lambda x: x['status'] == 'canceled'))

    pending_req_bids = {q['bid_id'] for q in R if q['status'] == 'pending'}

    def mr_create(b):
        desc = 'replay %s request on bid %d' % (tag, b['id'])
        return dict(params={'project_id': b['project_id'], 'bid_id': b['id'], 'amount': 3, 'description': desc},
                    creates=('milestone_requests', 'id'),
                    match=lambda e, body, d=desc: e['method'] == 'POST' and
                    e['path'] == API + '/milestone_requests/' and body.get('description') == d,
                    world=lambda w, d=desc: sum(1 for x in w['milestone_requests'] if x.get('description') == d))
    take('milestone_request.create', [b for b in awarded if b['bidder_id'] == S and b['id'] not in pending_req_bids],
         mr_create)

    def mr_put(action, ok_world, extra=None):
        def make(q):
            params = {'milestone_request_id': q['id']}
            if extra:
                params.update(extra)
            return dict(params=params, target=('milestone_requests', q['id']),
                        match=lambda e, body, i=q['id']: e['method'] == 'PUT' and
                        e['path'] == '%s/milestone_requests/%d/' % (API, i) and e['query'] == action,
                        world=lambda w, i=q['id']: sum(1 for x in w['milestone_requests'] if x['id'] == i
                                                       and ok_world(x)))
        return make
    take('milestone_request.accept', [q for q in R if q['project_owner_id'] == S and q['status'] == 'pending'],
         mr_put('accept', lambda x: x['status'] == 'created'))
    take('milestone_request.reject', [q for q in R if q['project_owner_id'] == S and q['status'] == 'pending'],
         mr_put('reject', lambda x: x['status'] == 'rejected', {'reason': 'not this one'}))
    take('milestone_request.delete', [q for q in R if q['bidder_id'] == S and q['status'] == 'pending'],
         mr_put('delete', lambda x: x['status'] == 'deleted'))

    # review: a completed project of self's with the accepted bid, not yet reviewed by self
    reviewed = {(r['project_id'], r['from_user_id']) for r in RV}

    def review(b):
        p = P[b['project_id']]
        if (p['id'], S) in reviewed:
            return None
        owner = p['owner_id'] == S
        to = b['bidder_id'] if owner else p['owner_id']
        return dict(params={'project_id': p['id'], 'to_user_id': to, 'role': 'freelancer' if owner else 'employer',
                            'rating': 5, 'comment': 'replay %s review' % tag},
                    creates=('reviews', None), review=(p['id'], S, to),
                    match=lambda e, body, pid=p['id']: e['method'] == 'POST' and e['path'] == API + '/reviews/'
                    and eq(body.get('project_id'), pid),
                    world=lambda w, pid=p['id']: sum(1 for x in w['reviews']
                                                     if x['project_id'] == pid and x['from_user_id'] == S))
    take('review.post', [b for b in awarded if P[b['project_id']]['status'] == 'closed'
                         and S in (b['bidder_id'], b['project_owner_id'])], review)

    # threads and messages
    def thread_put(action, field, want):
        def make(t):
            return dict(params={'thread_id': t['id']}, target=('threads', t['id']),
                        match=lambda e, body, i=t['id']: e['method'] == 'PUT' and e['path'] == MSG + '/threads/'
                        and e['query'] == action and e.get('id') == i,
                        world=lambda w, i=t['id']: sum(1 for x in w['threads'] if x['id'] == i and x[field] == want))
        return make
    tids = set()

    def fresh_threads(pred):
        return [t for t in T if pred(t) and t['id'] not in tids]
    for kind, action, field, want, pred in (
            ('thread.read', 'read', 'is_read', True, lambda t: not t['is_read']),
            ('thread.archive', 'archive', 'folder', 'archived', lambda t: t['folder'] != 'archived'),
            ('thread.mute', 'mute', 'is_muted', True, lambda t: not t['is_muted'])):
        a = take(kind, fresh_threads(pred), thread_put(action, field, want))
        if a:
            tids.add(a['params']['thread_id'])
    for t in [t for t in T if t['id'] not in tids][:2]:
        text = 'replay %s message into %d' % (tag, t['id'])
        take('message.send', [t], lambda t, text=text: dict(
            params={'thread_id': t['id'], 'message': text}, creates=('messages', 'id'),
            match=lambda e, body, i=t['id'], text=text: e['method'] == 'POST' and
            e['path'] in ('%s/threads/%d/messages/' % (MSG, i), MSG + '/messages/') and body.get('message') == text,
            world=lambda w, text=text: sum(1 for x in w['messages'] if x['message'] == text)))

    # a thread with a member self has no thread with yet, then a message into it by its local reference
    have = {frozenset(t['thread']['members']) for t in T}
    other = next(u for u in U if frozenset((S, u)) not in have)
    thr = take('thread.create', [{}], lambda _: dict(
        params={'members': [other], 'context_type': 'general', 'type': 'private_chat'},
        creates=('threads', 'id'),
        match=lambda e, body, o=other: e['method'] == 'POST' and e['path'] == MSG + '/threads/'
        and [str(o)] == [str(x) for x in (body.get('members') or [])],
        world=lambda w, o=other: sum(1 for x in w['threads'] if sorted(x['thread']['members']) == sorted([S, o]))))
    if thr:
        text = 'replay %s first message to %d' % (tag, other)
        thr['then'] = dict(kind='message.send', params={'message': text}, creates=('messages', 'id'),
                           match=lambda e, body, text=text: e['method'] == 'POST' and 'messages' in e['path']
                           and body.get('message') == text,
                           world=lambda w, text=text: sum(1 for x in w['messages'] if x['message'] == text))

    # projects
    title = 'Replay %s logo for a bakery' % tag
    take('project.create', [{}], lambda _: dict(
        params={'title': title, 'description': 'A small logo, two colours, vector files.',
                'currency': {'id': 1}, 'budget': {'minimum': 30, 'maximum': 250}, 'jobs': [{'id': 3}]},
        creates=('projects', 'id'),
        match=lambda e, body: e['method'] == 'POST' and e['path'] == API + '/projects/' and body.get('title') == title,
        world=lambda w: sum(1 for x in w['projects'] if x['title'] == title)))
    own_active = [pid for pid, p in sorted(P.items()) if p['owner_id'] == S and active(pid)]
    if own_active:
        pid = own_active[0]
        take('project.invite', [{}], lambda _: dict(
            params={'project_id': pid, 'freelancer_id': U[-1]},
            match=lambda e, body: e['method'] == 'POST' and e['path'] == '%s/projects/%d/invite/' % (API, pid)
            and eq(body.get('freelancer_id'), U[-1]),
            world=None))
    else:
        missing.append('project.invite')
    return S, plan, missing


def enqueue_plan(db, plan):
    """Queue every planned action (and its dependent); returns them all with their action ids."""
    out = []
    for a in plan:
        a['id'] = queue_add(db, a['kind'], a['params'])
        out.append(a)
        if 'then' in a:
            t = a['then']
            t['params']['thread_id'] = 'local:thread:%d' % a['id']
            t['id'] = queue_add(db, t['kind'], t['params'])
            t['parent'] = a
            out.append(t)
    return out


def world_of(mock):
    return {e: mock.dump(e) for e in ('projects', 'bids', 'milestones', 'milestone_requests', 'reviews',
                                      'threads', 'messages')}


def applied(log, a):
    """Log entries of action a's write that the server answered with success."""
    return [e for e in log if e.get('status') == 200 and a['match'](e, body_params(e))]


# ---- tests ------------------------------------------------------------------------

def first_sync(tmp, name, mock):
    db = os.path.join(tmp, name + '.db')
    r = flsyncd(db, mock.url)
    if not check('%s: first sync exits 0' % name, r.returncode == 0, r.stderr[-1500:]):
        raise RuntimeError('first sync failed')
    return db


def test_kinds(tmp):
    """Each kind's success: done, server object in place of the local row, applied once."""
    os.makedirs(os.path.join(tmp, 'kinds'))
    mock = Mock()
    try:
        db = first_sync(os.path.join(tmp, 'kinds'), 'kinds', mock)
        S, plan, missing = plan_actions(mock, 'kinds')
        check('kinds: the world has a target for every kind flmock implements', not missing, missing)
        note('message read actions are not implemented by flmock: not checked here')
        actions = enqueue_plan(db, plan)
        # optimistic effects visible before replay
        for a in actions:
            if a.get('creates') and a['creates'][0] != 'reviews':
                n = sql1(db, "SELECT count(*) FROM %s WHERE id = ? AND local_state = 'pending'" % a['creates'][0],
                         -a['id'])
                check('kinds: %s (action %d) shows a pending local row before replay' % (a['kind'], a['id']),
                      n == 1, n)
        r = flsyncd(db, mock.url)
        check('kinds: replay pass exits 0', r.returncode == 0, r.stderr[-2000:])
        log = mock.log()
        world = world_of(mock)
        for a in actions:
            name = 'kinds: %s (action %d)' % (a['kind'], a['id'])
            info = show(db, a['id'])
            if not check(name + ' is done', info['state'] == 'done',
                         '%s %s: %s' % (info['state'], info['error_code'], info['error_message'])):
                continue
            hits = applied(log, a)
            check(name + ' applied exactly once in /_mock/log', len(hits) == 1,
                  '%d successful writes: %s' % (len(hits), [h['seq'] for h in hits]))
            if a.get('world'):
                check(name + ' is in the world once', a['world'](world) == 1, a['world'](world))
            if a.get('creates'):
                table, idf = a['creates']
                if table == 'reviews':
                    p, f, t = a['review']
                    st = sql(db, 'SELECT local_state, raw IS NOT NULL FROM reviews WHERE project_id = ? AND '
                             'from_user_id = ? AND to_user_id = ?', p, f, t)
                    check(name + ': the server review replaced the local one', st == [(None, 1)], st)
                    continue
                res = info['result'] or {}
                sid = res.get(idf) or res.get('id')
                check(name + ': result holds the server object', bool(sid), info['result'])
                gone = sql1(db, 'SELECT count(*) FROM %s WHERE id = ?' % table, -a['id'])
                check(name + ': the local row (id %d) is gone' % -a['id'], gone == 0, gone)
                row = sql(db, 'SELECT local_state, local_id, raw IS NOT NULL FROM %s WHERE id = ?' % table, sid)
                check(name + ': the server row %s is stored, not pending' % sid,
                      len(row) == 1 and row[0][0] is None and row[0][2] == 1, row)
            elif a.get('target'):
                table, tid = a['target']
                row = sql(db, 'SELECT local_state, local_action FROM %s WHERE id = ?' % table, tid)
                check(name + ': %s %d no longer pending' % (table, tid), row == [(None, None)], row)
        # the dependent message sits in the server's thread
        for a in actions:
            if a.get('parent'):
                tid = (show(db, a['parent']['id'])['result'] or {}).get('id')
                res = show(db, a['id'])['result'] or {}
                check('kinds: dependent message.send went into the server thread %s' % tid,
                      tid and res.get('thread_id') == tid, res)
                local = sql1(db, 'SELECT thread_id FROM messages WHERE id = ?', res.get('id'))
                check('kinds: the stored message points at the server thread', local == tid, local)
                check('kinds: dependent action recorded its dependency', show(db, a['id'])['depends_on']
                      == a['parent']['id'])
        # a second pass sends nothing again
        before = len(log)
        r = flsyncd(db, mock.url)
        writes = [e for e in mock.log()[before:]]
        check('kinds: a second pass sends no writes', not writes, writes[:3])
        fk = sql(db, 'PRAGMA foreign_key_check')
        check('kinds: foreign keys hold', not fk, fk[:5])

        # Reconciliation, deterministically: every action as a crash right after its request
        # left it ('sending', sent once, outcome not recorded).  The server already has each
        # effect, so the next pass must find it and apply nothing a second time.
        con = sqlite3.connect(db)
        con.execute("UPDATE actions SET state = 'sending', attempts = 1, result = NULL, http_status = NULL "
                    "WHERE state = 'done'")
        con.commit()
        con.close()
        before = len(mock.log())
        r = flsyncd(db, mock.url)
        check('kinds: the reconciling pass exits 0', r.returncode == 0, r.stderr[-1500:])
        log = mock.log()
        again = log[before:]
        world = world_of(mock)
        for a in actions:
            name = 'reconcile: %s (action %d)' % (a['kind'], a['id'])
            info = show(db, a['id'])
            mine = [e for e in again if a['match'](e, body_params(e))]
            dedup = a['kind'] in ('thread.create', 'message.send')  # the server answers a resend with the original
            check(name + ' is done again', info['state'] == 'done',
                  '%s %s: %s; resent: %s' % (info['state'], info['error_code'], info['error_message'],
                                             [(e['seq'], e['status'], e['error_code']) for e in mine]))
            if a['kind'] == 'project.invite':
                # no lookup exists for invitations: a resend answered FREELANCER_ALREADY_INVITED is fine
                check(name + ' was not applied again', not [e for e in mine if e['status'] == 200], mine)
            elif not dedup:
                check(name + ' was not sent again', not mine,
                      [(e['seq'], e['status'], e['error_code']) for e in mine])
            if a.get('world'):
                check(name + ' is in the world once', a['world'](world) == 1, a['world'](world))
    finally:
        mock.stop()


def test_bid_update(tmp):
    """Update Existing Bid: the account's live bid gets a new amount and text."""
    os.makedirs(os.path.join(tmp, 'update'))
    mock = Mock()
    try:
        db = first_sync(os.path.join(tmp, 'update'), 'update', mock)
        S = mock.self_id()
        active = {p['id'] for p in mock.dump('projects') if p['status'] == 'active' and not p.get('deleted')}
        live = [b for b in mock.dump('bids') if b['bidder_id'] == S and b['project_id'] in active
                and not b.get('retracted') and b.get('award_status') is None]
        if not check('update: the world has a live bid of the account', bool(live)):
            return
        bid = live[0]
        aid = queue_add(db, 'bid.update', {'bid_id': bid['id'], 'amount': 321.5,
                                           'description': 'Updated proposal \u2728'})
        row = sql(db, 'SELECT amount, local_state, local_action FROM bids WHERE id = ?', bid['id'])
        check('update: the bid shows the new amount, pending', row == [(321.5, 'pending', 'bid.update')], row)
        r = flsyncd(db, mock.url)
        check('update: replay pass exits 0', r.returncode == 0, r.stderr[-1500:])
        info = show(db, aid)
        check('update: action done', info['state'] == 'done', info)
        after = [b for b in mock.dump('bids') if b['id'] == bid['id']][0]
        check('update: the world has the new amount and text',
              after['amount'] == 321.5 and after['description'] == 'Updated proposal \u2728', after)
        puts = [e for e in mock.log() if e['method'] == 'PUT' and e['path'].endswith('/%d/' % bid['id'])
                and e.get('status') == 200]
        check('update: applied exactly once', len(puts) == 1, puts)
        row = sql(db, 'SELECT amount, local_state FROM bids WHERE id = ?', bid['id'])
        check('update: the local row is confirmed', row == [(321.5, None)], row)
        bad = queue_add(db, 'bid.update', {'bid_id': bid['id'], 'period': 400})
        flsyncd(db, mock.url)
        info = show(db, bad)
        check('update: a period the API refuses fails with its code',
              info['state'] == 'failed' and 'BID_PERIOD_INVALID' in (info['error_code'] or ''), info)
        row = sql(db, 'SELECT amount, period, local_state FROM bids WHERE id = ?', bid['id'])
        check('update: and its effect is undone', row == [(321.5, bid['period'], None)], row)
    finally:
        mock.stop()


def test_rejection_and_independence(tmp):
    """A rejection fails the action with the API's words and undoes it; it blocks nothing unrelated."""
    os.makedirs(os.path.join(tmp, 'reject'))
    mock = Mock()
    try:
        db = first_sync(os.path.join(tmp, 'reject'), 'reject', mock)
        S = mock.self_id()
        P = {p['id']: p for p in mock.dump('projects')}
        B = mock.dump('bids')
        mine = {b['project_id'] for b in B if b['bidder_id'] == S}
        # award self's own bid on a project self does not own -> PERMISSION_DENIED
        foreign = next(b for b in B if b['project_owner_id'] != S and b['bidder_id'] == S
                       and sql1(db, 'SELECT count(*) FROM bids WHERE id = ?', b['id']))
        # a bid on a project that is not active -> PROJECT_NOT_ACTIVE (and its optimistic row must go)
        closed = next(pid for pid, p in sorted(P.items()) if p['status'] == 'closed' and p['owner_id'] != S
                      and pid not in mine)
        good = next(pid for pid, p in sorted(P.items()) if p['status'] == 'active' and p['owner_id'] != S
                    and pid not in mine and not p.get('deleted'))
        before_bid = sql(db, 'SELECT award_status, time_awarded, local_state FROM bids WHERE id = ?', foreign['id'])
        a1 = queue_add(db, 'bid.award', {'bid_id': foreign['id']})
        a2 = queue_add(db, 'bid.create', {'project_id': closed, 'amount': 50, 'period': 3,
                                          'milestone_percentage': 50, 'description': 'too late'})
        a3 = queue_add(db, 'bid.create', {'project_id': good, 'amount': 50, 'period': 3,
                                          'milestone_percentage': 50, 'description': 'right on time'})
        check('reject: the award shows before replay',
              sql1(db, 'SELECT local_action FROM bids WHERE id = ?', foreign['id']) == 'bid.award')
        r = flsyncd(db, mock.url)
        log = mock.log()
        for aid, path, query in ((a1, '%s/bids/%d/' % (API, foreign['id']), 'award'),
                                 (a2, API + '/bids/', '')):
            info = show(db, aid)
            entry = [e for e in log if e['path'] == path and e['query'] == query and e['status'] != 200]
            ok = check('reject: action %d (%s) failed' % (aid, info['kind']), info['state'] == 'failed',
                       info['state'])
            if ok and check('reject: action %d has one rejected request in the log' % aid, len(entry) == 1, entry):
                e = entry[0]
                check('reject: action %d keeps the API error_code %s' % (aid, e['error_code']),
                      info['error_code'] == e['error_code'], info['error_code'])
                check('reject: action %d keeps the HTTP status %s' % (aid, e['status']),
                      info['http_status'] == e['status'], info['http_status'])
                check('reject: action %d has the API message' % aid, bool(info['error_message']), info)
            sent = [e for e in log if e['path'] == path and e['query'] == query and
                    (aid != a2 or eq(body_params(e).get('project_id'), closed))]
            check('reject: action %d was not sent twice' % aid, len(sent) == 1, sent)
        after_bid = sql(db, 'SELECT award_status, time_awarded, local_state FROM bids WHERE id = ?', foreign['id'])
        check('reject: the failed award is undone (bid as before)', after_bid == before_bid,
              '%s -> %s' % (before_bid, after_bid))
        check('reject: the failed bid.create left no row', sql1(db, 'SELECT count(*) FROM bids WHERE id = ? OR '
                                                            "local_id = 'local:bid:%d'" % a2, -a2) == 0)
        info3 = show(db, a3)
        check('reject: the unrelated later bid is done', info3['state'] == 'done', info3['state'])
        # retry of a failed action queues it again with its effect
        r = flsync(db, 'queue', 'retry', str(a2))
        check('reject: flsync queue retry of the failed action', r.returncode == 0, r.stderr)
        check('reject: retried action is queued with its row back', show(db, a2)['state'] == 'queued' and
              sql1(db, 'SELECT count(*) FROM bids WHERE id = ?', -a2) == 1)
        r = flsync(db, 'queue', 'cancel', str(a2))
        check('reject: cancel of the retried action', r.returncode == 0 and show(db, a2)['state'] == 'cancelled',
              r.stderr)
        # a dependent of a failed action fails too, and does not stop the rest
        t = queue_add(db, 'thread.create', {'members': [999999999], 'context_type': 'general',
                                            'type': 'private_chat'})
        m = queue_add(db, 'message.send', {'thread_id': 'local:thread:%d' % t, 'message': 'never sent'})
        later = next(pid for pid, p in sorted(P.items()) if p['status'] == 'active' and p['owner_id'] != S
                     and pid not in mine and pid != good and not p.get('deleted'))
        z = queue_add(db, 'bid.create', {'project_id': later, 'amount': 51, 'period': 3,
                                         'milestone_percentage': 50})
        flsyncd(db, mock.url)
        it, im, iz = show(db, t), show(db, m), show(db, z)
        check('reject: thread.create with an unknown member failed', it['state'] == 'failed', it)
        check('reject: its dependent message failed too, with a reason', im['state'] in ('failed', 'cancelled') and
              bool(im['error_message'] or im['state'] == 'cancelled'), im)
        check('reject: the dependent message was never sent',
              not [e for e in mock.log() if body_params(e).get('message') == 'never sent'])
        check('reject: the message row is gone', sql1(db, 'SELECT count(*) FROM messages WHERE id = ?', -m) == 0)
        check('reject: a later unrelated bid is done', iz['state'] == 'done', iz)
    finally:
        mock.stop()


def test_refusal_tells_project(tmp):
    """A refusal that says what became of the project updates the local row: PROJECT_DELETED marks it
    deleted at once, and the project is read again by id in the same pass (PROJECT_NOT_ACTIVE: its status)."""
    os.makedirs(os.path.join(tmp, 'gone'))
    mock = Mock()
    try:
        db = first_sync(os.path.join(tmp, 'gone'), 'gone', mock)
        S = mock.self_id()
        mine = {b['project_id'] for b in mock.dump('bids') if b['bidder_id'] == S}
        P = {p['id']: p for p in mock.dump('projects')}
        local = {r[0] for r in sql(db, 'SELECT id FROM projects')}

        def pick(pred):
            return next((pid for pid, p in sorted(P.items()) if pred(p) and p['owner_id'] != S
                         and pid not in mine and pid not in local), None)
        deleted = pick(lambda p: p.get('deleted'))
        closed = pick(lambda p: p['status'] == 'closed' and not p.get('deleted'))
        if not check('gone: the world has a deleted and a closed project the account never saw',
                     deleted and closed, (deleted, closed)):
            return
        # As a market search stored them while they were open: rows the pass's own reads never refresh.
        con = sqlite3.connect(db, timeout=30)
        with con:
            for pid in (deleted, closed):
                con.execute("INSERT INTO projects(id, title, status, deleted, raw, synced_at, time_submitted) "
                            "VALUES (?, 'seen open', 'active', 0, '{}', strftime('%s', 'now'), ?)",
                            (pid, P[pid]['time_submitted']))
        con.close()
        # The deleted one first, with every read of projects failing: what the refusal says is stored
        # by itself, and the read by id waits in webhook_hints for a pass that can make it.
        mock.call('POST', '/_mock/faults?spec=' + urllib.parse.quote('http500=1,path=/api/projects/0.1/projects'))
        ad = queue_add(db, 'bid.create', {'project_id': deleted, 'amount': 60, 'period': 3,
                                          'milestone_percentage': 50, 'description': 'on a deleted project'})
        flsyncd(db, mock.url)
        mock.call('POST', '/_mock/faults?spec=')
        info = show(db, ad)
        check('gone: action %d failed with PROJECT_DELETED' % ad,
              info['state'] == 'failed' and (info['error_code'] or '').endswith('PROJECT_DELETED'), info)
        row = sql(db, 'SELECT deleted, title FROM projects WHERE id = ?', deleted)
        check('gone: the deleted project is marked deleted by the refusal itself', row == [(1, 'seen open')], row)
        check('gone: a read of it by id is asked for',
              sql1(db, "SELECT count(*) FROM webhook_hints WHERE kind = 'project' AND id = ?", deleted) == 1)
        ac = queue_add(db, 'bid.create', {'project_id': closed, 'amount': 61, 'period': 3,
                                          'milestone_percentage': 50, 'description': 'on a closed project'})
        r = flsyncd(db, mock.url)
        check('gone: the pass exits 0', r.returncode == 0, r.stderr[-1500:])
        info = show(db, ac)
        check('gone: action %d failed with PROJECT_NOT_ACTIVE' % ac,
              info['state'] == 'failed' and (info['error_code'] or '').endswith('PROJECT_NOT_ACTIVE'), info)
        row = sql(db, 'SELECT status, title FROM projects WHERE id = ?', closed)
        check('gone: the closed project was read again: its status and title are the API\'s',
              row == [(P[closed]['status'], P[closed]['title'])], row)
        row = sql(db, 'SELECT deleted, title FROM projects WHERE id = ?', deleted)
        check('gone: the deleted project was read again too', row == [(1, P[deleted]['title'])], row)
        check('gone: no project hint is left behind',
              sql1(db, "SELECT count(*) FROM webhook_hints WHERE kind = 'project'") == 0)
    finally:
        mock.stop()


def test_already(tmp):
    """'Already' answers: a failure on a first send; after an uncertain send, compared with what was sent."""
    os.makedirs(os.path.join(tmp, 'already'))
    write_config(os.path.join(tmp, 'already'), '[sync]\nretry_base_ms = 100\n')
    mock = Mock()
    try:
        db = first_sync(os.path.join(tmp, 'already'), 'already', mock)
        S = mock.self_id()
        pids = fresh_projects(mock, S, 3)
        P = {p['id']: p for p in mock.dump('projects')}
        RV = mock.dump('reviews')
        reviewed = {(r['project_id'], r['from_user_id']) for r in RV}
        done_bids = [b for b in mock.dump('bids') if b['award_status'] == 'awarded'
                     and P[b['project_id']]['status'] == 'closed' and S in (b['bidder_id'], b['project_owner_id'])
                     and (b['project_id'], S) not in reviewed]
        if not check('already: the world has 3 fresh projects and 3 unreviewed finished ones',
                     len(pids) == 3 and len(done_bids) >= 3, (pids, len(done_bids))):
            return

        def review_params(b, comment):
            owner = P[b['project_id']]['owner_id'] == S
            return {'project_id': b['project_id'], 'to_user_id': b['bidder_id'] if owner else b['project_owner_id'],
                    'role': 'freelancer' if owner else 'employer', 'rating': 5, 'comment': comment}

        def posts(path, pred):
            return [e for e in mock.log() if e['method'] == 'POST' and e['path'] == path and pred(body_params(e))]

        def bid_rows(pid):
            return sql(db, 'SELECT id, amount, description, local_state FROM bids WHERE project_id = ? AND '
                       'bidder_id = ? ORDER BY id', pid, S)

        # 1. The account had bid before: DUPLICATE_BID on the first send is a failure, with the API's words.
        p1 = pids[0]
        st, env = mock.api('POST', API + '/bids/', {'project_id': p1, 'bidder_id': S, 'amount': 90, 'period': 4,
                                                    'milestone_percentage': 50, 'description': 'placed on the site'})
        check('already: the earlier bid is placed', st == 200, env)
        real = env.get('result') or {}
        st, dup = mock.api('POST', API + '/bids/', {'project_id': p1, 'bidder_id': S, 'amount': 90, 'period': 4,
                                                    'milestone_percentage': 50})
        check('already: a second bid is answered 409 DUPLICATE_BID', st == 409 and
              'DUPLICATE_BID' in dup.get('error_code', ''), dup)
        a1 = queue_add(db, 'bid.create', {'project_id': p1, 'amount': 120, 'period': 6, 'milestone_percentage': 50,
                                          'description': 'the new offer'})
        r = flsyncd(db, mock.url)
        info = show(db, a1)
        check('already: duplicate bid on its first send ends failed', info['state'] == 'failed', info)
        check('already: it keeps the API error_code, HTTP status and message',
              info['error_code'] == dup.get('error_code') and info['http_status'] == 409 and
              info['error_message'] == dup.get('message'), info)
        check('already: the optimistic row is the real bid again',
              bid_rows(p1) == [(real.get('id'), 90.0, 'placed on the site', None)], bid_rows(p1))
        sent = posts(API + '/bids/', lambda b: eq(b.get('project_id'), p1) and b.get('description') == 'the new offer')
        check('already: the new offer was sent once and refused', [e['status'] for e in sent] == [409], sent)

        # 2. A lost reply, and the server has exactly what was sent: done.
        p2 = pids[1]
        mock.call('POST', '/_mock/faults?spec=' + urllib.parse.quote('lostreply=1,writes=1,count=1'))
        a2 = queue_add(db, 'bid.create', {'project_id': p2, 'amount': 130, 'period': 7, 'milestone_percentage': 40,
                                          'description': 'offer with a lost reply'})
        drained = drain(db, mock.url, 60)
        mock.call('POST', '/_mock/faults?spec=')
        info = show(db, a2)
        sent = posts(API + '/bids/', lambda b: eq(b.get('project_id'), p2))
        check('already: the lost reply happened', drained and [e['fault'] for e in sent][:1] == ['lostreply'], sent)
        check('already: after a lost reply, the matching bid ends done', info['state'] == 'done', info)
        world = [b for b in mock.dump('bids') if b['project_id'] == p2 and b['bidder_id'] == S]
        check('already: and is in the world once', len(world) == 1, world)
        check('already: its result is the server bid, stored in place of the optimistic row',
              world and (info['result'] or {}).get('id') == world[0]['id'] and
              bid_rows(p2) == [(world[0]['id'], 130.0, 'offer with a lost reply', None)], (info, bid_rows(p2)))

        # 3. The send was uncertain, and a different bid is there: failed, "a different bid already exists".
        p3 = pids[2]
        mock.call('POST', '/_mock/faults?spec=' + urllib.parse.quote('reset=1,writes=1,count=1'))
        a3 = queue_add(db, 'bid.create', {'project_id': p3, 'amount': 140, 'period': 8, 'milestone_percentage': 40,
                                          'description': 'offer whose send was cut'})
        flsyncd(db, mock.url)
        mock.call('POST', '/_mock/faults?spec=')
        info = show(db, a3)
        check('already: the cut send left the bid queued for another try', info['state'] == 'queued' and
              info['attempts'] == 1, info)
        st, env = mock.api('POST', API + '/bids/', {'project_id': p3, 'bidder_id': S, 'amount': 99, 'period': 8,
                                                    'milestone_percentage': 40, 'description': 'offer whose send was cut'})
        other = (env.get('result') or {}).get('id')
        check('already: meanwhile a different bid is placed', st == 200, env)
        drain(db, mock.url, 60)
        info = show(db, a3)
        check('already: after an uncertain send, a different bid ends failed',
              info['state'] == 'failed' and info['error_message'] == 'a different bid already exists', info)
        check('already: the row is the real, different bid',
              bid_rows(p3) == [(other, 99.0, 'offer whose send was cut', None)], bid_rows(p3))
        world = [b for b in mock.dump('bids') if b['project_id'] == p3 and b['bidder_id'] == S]
        check('already: the world holds only that bid', len(world) == 1 and world[0]['amount'] == 99, world)
        sent = posts(API + '/bids/', lambda b: eq(b.get('project_id'), p3) and eq(b.get('amount'), 140))
        check('already: the different bid was found before a resend (one cut send, no duplicate)',
              [e['fault'] for e in sent] == ['reset'], sent)

        # 4-6. The same for Post a Review (REVIEW_ALREADY_RATED_USER).
        def review_row(params):
            return sql(db, 'SELECT description, local_state FROM reviews WHERE project_id = ? AND from_user_id = ? '
                       'AND to_user_id = ?', params['project_id'], S, params['to_user_id'])
        b4, b5, b6 = done_bids[:3]
        first = review_params(b4, 'reviewed on the site')
        st, env = mock.api('POST', API + '/reviews/', dict(first, from_user_id=S))
        check('already: the earlier review is posted', st == 200, env)
        st, dup = mock.api('POST', API + '/reviews/', dict(first, from_user_id=S))
        check('already: a second review is refused REVIEW_ALREADY_RATED_USER',
              'REVIEW_ALREADY_RATED_USER' in dup.get('error_code', ''), dup)
        a4 = queue_add(db, 'review.post', review_params(b4, 'reviewed from the queue'))
        flsyncd(db, mock.url)
        info = show(db, a4)
        check('already: a duplicate review on its first send ends failed with the API\'s words',
              info['state'] == 'failed' and info['error_code'] == dup.get('error_code') and
              info['error_message'] == dup.get('message'), info)
        check('already: the review row is the real one', review_row(first) == [('reviewed on the site', None)],
              review_row(first))

        params5 = review_params(b5, 'review with a lost reply')
        mock.call('POST', '/_mock/faults?spec=' + urllib.parse.quote('lostreply=1,writes=1,count=1'))
        a5 = queue_add(db, 'review.post', params5)
        drain(db, mock.url, 60)
        mock.call('POST', '/_mock/faults?spec=')
        info = show(db, a5)
        sent = posts(API + '/reviews/', lambda b: eq(b.get('project_id'), b5['project_id']))
        check('already: the review\'s reply was lost', [e['fault'] for e in sent][:1] == ['lostreply'], sent)
        check('already: after a lost reply, the matching review ends done', info['state'] == 'done', info)
        check('already: the review is stored, not pending', review_row(params5) == [('review with a lost reply', None)],
              review_row(params5))

        params6 = review_params(b6, 'review whose send was cut')
        mock.call('POST', '/_mock/faults?spec=' + urllib.parse.quote('reset=1,writes=1,count=1'))
        a6 = queue_add(db, 'review.post', params6)
        flsyncd(db, mock.url)
        mock.call('POST', '/_mock/faults?spec=')
        st, env = mock.api('POST', API + '/reviews/', dict(params6, from_user_id=S, comment='another review'))
        check('already: meanwhile a different review is posted', st == 200, env)
        drain(db, mock.url, 60)
        info = show(db, a6)
        check('already: after an uncertain send, a different review ends failed',
              info['state'] == 'failed' and info['error_message'] == 'a different review already exists', info)
        check('already: the review row is the real, different one', review_row(params6) == [('another review', None)],
              review_row(params6))

        # 7. Invite Freelancers To A Project: FREELANCER_ALREADY_INVITED on a first send is a failure.
        own = [pid for pid, p in sorted(P.items()) if p['owner_id'] == S and p['status'] == 'active'
               and not p.get('deleted')]
        users = [u['id'] for u in mock.dump('users') if u['id'] != S]
        if check('already: the account has an active project', bool(own)):
            path = '%s/projects/%d/invite/' % (API, own[0])
            st, env = mock.api('POST', path, {'freelancer_id': users[0]})
            st, dup = mock.api('POST', path, {'freelancer_id': users[0]})
            check('already: a second invitation is refused FREELANCER_ALREADY_INVITED',
                  'FREELANCER_ALREADY_INVITED' in dup.get('error_code', ''), dup)
            a7 = queue_add(db, 'project.invite', {'project_id': own[0], 'freelancer_id': users[0]})
            flsyncd(db, mock.url)
            info = show(db, a7)
            check('already: an invitation made before ends failed with the API\'s words',
                  info['state'] == 'failed' and info['error_code'] == dup.get('error_code') and
                  info['error_message'] == dup.get('message'), info)

        # 8. Perform Bid Action: BID_ALREADY_RETRACTED on a first send; the row is the server's again.
        active = {p['id'] for p in mock.dump('projects') if p['status'] == 'active' and not p.get('deleted')}
        live = [b for b in mock.dump('bids') if b['bidder_id'] == S and b['project_id'] in active
                and not b['retracted'] and b['award_status'] is None
                and sql1(db, 'SELECT retracted FROM bids WHERE id = ?', b['id']) == 0]
        if check('already: the account has a live bid', bool(live)):
            bid = live[0]
            path = '%s/bids/%d/?action=retract' % (API, bid['id'])
            st, env = mock.api('PUT', path, {})
            st, dup = mock.api('PUT', path, {})
            check('already: a second retract is refused BID_ALREADY_RETRACTED',
                  'BID_ALREADY_RETRACTED' in dup.get('error_code', ''), dup)
            a8 = queue_add(db, 'bid.retract', {'bid_id': bid['id']})
            check('already: the retract shows before replay',
                  sql(db, 'SELECT retracted, local_action FROM bids WHERE id = ?', bid['id']) == [(1, 'bid.retract')])
            flsyncd(db, mock.url)
            info = show(db, a8)
            check('already: a retract of a bid retracted before ends failed with the API\'s words',
                  info['state'] == 'failed' and info['error_code'] == dup.get('error_code') and
                  info['error_message'] == dup.get('message'), info)
            check('already: the bid row is the server\'s (retracted), not pending',
                  sql(db, 'SELECT retracted, local_state, local_action FROM bids WHERE id = ?', bid['id'])
                  == [(1, None, None)], sql(db, 'SELECT * FROM bids WHERE id = ?', bid['id']))

        # 9. Create New Project: DUPLICATE_PROJECT on a first send; the account's project is stored.
        title = 'Already posted: a shop logo'
        proj = {'title': title, 'description': 'posted on the site first', 'currency': {'id': 1},
                'budget': {'minimum': 40, 'maximum': 90}, 'jobs': [{'id': 3}]}
        st, env = mock.api('POST', API + '/projects/', proj)
        check('already: the earlier project is posted', st == 200, env)
        real = (env.get('result') or {}).get('id')
        st, dup = mock.api('POST', API + '/projects/', proj)
        check('already: the same title again is DUPLICATE_PROJECT', 'DUPLICATE_PROJECT' in dup.get('error_code', ''),
              dup)
        a9 = queue_add(db, 'project.create', dict(proj, description='queued offline', budget={'minimum': 50}))
        flsyncd(db, mock.url)
        info = show(db, a9)
        check('already: a project posted before ends failed with the API\'s words',
              info['state'] == 'failed' and info['error_code'] == dup.get('error_code') and
              info['error_message'] == dup.get('message'), info)
        rows = sql(db, 'SELECT id, description, local_state FROM projects WHERE title = ?', title)
        check('already: the project row is the account\'s real one', rows == [(real, 'posted on the site first', None)],
              rows)
    finally:
        mock.stop()


def window_max(times, width=3600):
    times = sorted(times)
    best, j = 0, 0
    for i in range(len(times)):
        while times[i] - times[j] >= width:
            j += 1
        best = max(best, i - j + 1)
    return best


def fresh_projects(mock, S, n):
    P = mock.dump('projects')
    mine = {b['project_id'] for b in mock.dump('bids') if b['bidder_id'] == S}
    return [p['id'] for p in P if p['status'] == 'active' and not p.get('deleted') and p['owner_id'] != S
            and p['id'] not in mine][:n]


def rate_case(tmp, name, scale, nbids, passes, extra=()):
    os.makedirs(os.path.join(tmp, name))
    mock = Mock('--rate-scale', str(scale), *extra)
    try:
        db = first_sync(os.path.join(tmp, name), name, mock)
        S = mock.self_id()
        limit = int(500 * scale)
        pids = fresh_projects(mock, S, nbids)
        if len(pids) < nbids:
            note('%s: only %d fresh projects for %d bids' % (name, len(pids), nbids))
        t = time.time()
        params = [{'project_id': pid, 'amount': 40, 'period': 5, 'milestone_percentage': 50} for pid in pids]
        ids = None
        if len(params) > 100 and not LIBFLSYNC:
            note('%s: no loadable libflsync in this build (sanitizers)' % name)
        if len(params) > 100 and LIBFLSYNC and os.path.exists(LIBFLSYNC):
            try:
                ids = lib_enqueue_many(db, 'bid.create', params)
                how = 'fl_action_enqueue() in-process'
            except OSError as e:  # e.g. a sanitizer build's library cannot be loaded into python
                note('%s: cannot load %s (%s)' % (name, LIBFLSYNC, e))
        if ids is None:
            if len(params) > 100:
                note('%s: queueing 200 bids with flsync instead of %d (a process each is too slow for '
                     '1,000 within the time budget)' % (name, len(params)))
                params = params[:200]
            ids = [queue_add(db, 'bid.create', p) for p in params]
            how = 'flsync queue add'
        note('%s: queued %d bids with %s in %.1f s (limit %d/hour)' % (name, len(ids), how, time.time() - t, limit))
        t = time.time()
        for _ in range(passes):
            flsyncd(db, mock.url)
        note('%s: %d passes in %.1f s' % (name, passes, time.time() - t))
        log = [e for e in mock.log() if e['method'] == 'POST' and e['path'] == API + '/bids/']
        st = states(db)
        peak = window_max([e['time'] for e in log])
        check('%s: POST bids/ per rolling hour (%d) within the limit %d' % (name, peak, limit), peak <= limit)
        limited = [e for e in log if e['status'] == 429]
        check('%s: no request hit a 429' % name, not limited, '%d answered 429' % len(limited))
        sent_ok = len([e for e in log if e['status'] == 200])
        check('%s: the limit was used (%d bids placed)' % (name, sent_ok), sent_ok == min(limit, len(ids)))
        check('%s: none failed' % name, st.get('failed', 0) == 0, st)
        check('%s: done = placed (%d), the rest queued' % (name, sent_ok),
              st.get('done', 0) == sent_ok and st.get('queued', 0) == len(ids) - sent_ok, st)
        return mock, db
    except Exception:
        mock.stop()
        raise


def test_rate_limit(tmp):
    mock, db = rate_case(tmp, 'rate', 0.02, 30, 3)
    mock.stop()


def test_burst(tmp):
    budget = time.time()
    mock, db = rate_case(tmp, 'burst', 1.0, 1000, 2, extra=('--scale', '60000'))
    mock.stop()
    note('burst of 1,000 queued bids at the documented 500/hour took %.1f s' % (time.time() - budget))


def drain(db, url, limit_s):
    """Run flsyncd --once until nothing is queued or sending (honouring back-off), at most limit_s."""
    end = time.time() + limit_s
    while time.time() < end:
        st = states(db)
        if not st.get('queued') and not st.get('sending'):
            return True
        r = flsyncd(db, url)
        with open(os.path.join(os.path.dirname(db), 'flsyncd.log'), 'a') as f:
            f.write(r.stderr)
        st = states(db)
        if not st.get('queued') and not st.get('sending'):
            return True
        nxt = sql1(db, "SELECT min(next_attempt) FROM actions WHERE state = 'queued'") or 0
        time.sleep(min(max(nxt - time.time(), 0.05), 3))
    return False


def test_crash(tmp, name, faults):
    os.makedirs(os.path.join(tmp, name))
    write_config(os.path.join(tmp, name), '[sync]\nretry_base_ms = 100\n')
    mock = Mock()
    try:
        db = first_sync(os.path.join(tmp, name), name, mock)
        S, plan, missing = plan_actions(mock, name)
        # more bids and messages make the batch long enough to be killed inside
        extra = []
        used = {a['params'].get('project_id') for a in plan}
        for pid in [p for p in fresh_projects(mock, S, 40) if p not in used][:12]:
            extra.append(dict(kind='bid.create', params={'project_id': pid, 'amount': 77, 'period': 7,
                                                         'milestone_percentage': 40},
                              creates=('bids', 'id'),
                              match=lambda e, body, pid=pid: e['method'] == 'POST' and e['path'] == API + '/bids/'
                              and eq(body.get('project_id'), pid),
                              world=lambda w, pid=pid: sum(1 for x in w['bids'] if x['project_id'] == pid
                                                           and x['bidder_id'] == S)))
        for i, t in enumerate(mock.dump('threads')[:10]):
            text = '%s burst message %d' % (name, i)
            extra.append(dict(kind='message.send', params={'thread_id': t['id'], 'message': text},
                              creates=('messages', 'id'),
                              match=lambda e, body, text=text: e['method'] == 'POST' and 'messages' in e['path']
                              and body.get('message') == text,
                              world=lambda w, text=text: sum(1 for x in w['messages'] if x['message'] == text)))
        random.Random(7).shuffle(extra)
        actions = enqueue_plan(db, plan + extra)
        if faults:
            mock.call('POST', '/_mock/faults?spec=' + urllib.parse.quote(faults))
        rng = random.Random(int(SEED) * 31 + len(name))
        kills = 0
        for _ in range(8):
            st = states(db)
            if not st.get('queued') and not st.get('sending'):
                break
            with open(os.path.join(os.path.dirname(db), 'flsyncd.log'), 'a') as logf:
                p = subprocess.Popen([FLSYNCD, '--db', db, '--api', mock.url, '--once', '-v'], env=env_for(db),
                                     stdout=subprocess.DEVNULL, stderr=logf)
            time.sleep(rng.uniform(0.005, 0.25))
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
                kills += 1
            p.wait()
        st = states(db)
        note('%s: %d kills; after them: %s; %d writes in the log' % (name, kills, st, len(mock.log())))
        drained = drain(db, mock.url, 60)
        check('%s: the queue drains after the kills' % name, drained, states(db))
        if faults:
            mock.call('POST', '/_mock/faults?spec=')
        log = mock.log()
        world = world_of(mock)
        lost = [e for e in log if e.get('fault') == 'lostreply']
        if faults:
            note('%s: %d writes had their reply lost' % (name, len(lost)))
        for a in actions:
            label = '%s: %s (action %d)' % (name, a['kind'], a['id'])
            info = show(db, a['id'])
            hits = applied(log, a)
            ids = {h.get('id') for h in hits}
            if info['state'] == 'done':
                # a server-side dedup (thread.create, message.send with client_message_id) answers a
                # resend with the same object: one effect, counted by distinct object
                dedup = a['kind'] in ('thread.create', 'message.send')
                n = len(ids) if dedup else len(hits)
                check(label + ' done and applied exactly once', n == 1,
                      '%d successful writes %s (seq %s)' % (n, ids, [h['seq'] for h in hits]))
                if a.get('world'):
                    check(label + ' is in the world exactly once', a['world'](world) == 1, a['world'](world))
            elif info['state'] == 'failed':
                check(label + ' failed with a reason', bool(info['error_code'] or info['error_message']), info)
                if not check(label + ' failed, so never applied', not hits,
                             'failed (%s: %s) but the server applied it: seq %s' % (
                                 info['error_code'], info['error_message'], [h['seq'] for h in hits])):
                    path = hits[0]['path']
                    for e in log:
                        if e['path'] == path or (e['method'] == 'GET' and str(hits[0].get('id')) in e.get('query', '')):
                            print('    log seq %s %s %s?%s status %s fault %s %s' % (
                                e['seq'], e['method'], e['path'], e['query'], e['status'], e['fault'],
                                e['error_code']))
                    with open(os.path.join(os.path.dirname(db), 'flsyncd.log')) as f:
                        for line in f:
                            if 'action %d ' % a['id'] in line:
                                print('    flsyncd: ' + line.rstrip())
            else:
                check(label + ' finished', False, info['state'])
        done = sum(1 for a in actions if show(db, a['id'])['state'] == 'done')
        note('%s: %d of %d actions done' % (name, done, len(actions)))
        pend = sql(db, "SELECT 'bids', id FROM bids WHERE local_state = 'pending' UNION ALL "
                   "SELECT 'messages', id FROM messages WHERE local_state = 'pending' UNION ALL "
                   "SELECT 'threads', id FROM threads WHERE local_state = 'pending' UNION ALL "
                   "SELECT 'milestones', id FROM milestones WHERE local_state = 'pending'")
        check('%s: no row is left pending' % name, not pend, pend[:5])
    finally:
        mock.stop()


def run(name, fn, *args):
    t = time.time()
    try:
        fn(*args)
    except Exception as e:  # a crash of the test itself is a failure, not an abort
        check(name, False, '%s: %s' % (type(e).__name__, e))
    print('-- %s: %.1f s' % (name, time.time() - t))
    sys.stdout.flush()


def main():
    with tempfile.TemporaryDirectory(prefix='flsync-replay-') as tmp:
        run('kinds', test_kinds, tmp)
        run('bid update', test_bid_update, tmp)
        run('rejection', test_rejection_and_independence, tmp)
        run('refusal tells the project', test_refusal_tells_project, tmp)
        run('already', test_already, tmp)
        run('rate limit', test_rate_limit, tmp)
        if VALGRIND:
            note('burst of 1,000 skipped under valgrind')
        else:
            run('burst', test_burst, tmp)
        run('crash', test_crash, tmp, 'crash', '')
        run('crash+lostreply', test_crash, tmp, 'lostreply', 'lostreply=0.3')
    sys.exit(TALLY.summary(' (%.0f s)' % (time.time() - T0)))


if __name__ == '__main__':
    main()
