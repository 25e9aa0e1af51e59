"""flsync — Python binding of libflsync, the local Freelancer.com sync engine.

A thin layer over the C library (ctypes, nothing to compile): plain Python
types in and out, and every failure raised as one exception, flsync.Error,
carrying the library's FL_* code and message.

    import flsync
    with flsync.Database("flsync.db", readonly=True) as db:
        for bid in db.query("SELECT * FROM my_active_bids WHERE amount > ?", 100):
            print(bid["project_id"], bid["amount"])
        seq = db.changes_latest()
        while True:
            seq_now = db.wait_for_change(seq, timeout=30)
            for change in db.changes_since(seq):
                ...
            seq = seq_now

The library is found through $FLSYNC_LIBRARY (a path to libflsync.so), then
where `meson install` put it, then by the loader's search (libflsync.so.0).
A Database handle is not thread-safe: give each thread its own.  Calls into
the library release the GIL, so a thread blocked in wait_for_change() does
not hold up the others.
"""

import ctypes
import json
import os
import time

__all__ = ["Database", "Error", "library_version", "schema_version"]

try:
    from . import _config
    _INSTALLED_LIBRARY = _config.LIBRARY
except ImportError:  # running from the source tree
    _INSTALLED_LIBRARY = None

# enum fl_code, in flsync.h's order; the numbers are part of the ABI.
CODES = (
    "FL_OK", "FL_ERR_NOMEM", "FL_ERR_MISUSE", "FL_ERR_DB", "FL_ERR_SCHEMA",
    "FL_ERR_BUSY", "FL_ERR_READONLY", "FL_ERR_IO", "FL_ERR_NETWORK",
    "FL_ERR_TIMEOUT", "FL_ERR_HTTP", "FL_ERR_API", "FL_ERR_PARSE",
    "FL_ERR_TOO_BIG", "FL_ERR_RATE_LIMITED", "FL_ERR_NOT_FOUND",
    "FL_ERR_ABORTED", "FL_ERR_LOCKED", "FL_ERR_INVALID", "FL_ERR_STATE",
)
for _i, _name in enumerate(CODES):
    globals()[_name] = _i
__all__ += list(CODES)

_OPEN_READONLY = 0x01
_OPEN_CREATE = 0x02
_TYPE_INTEGER, _TYPE_REAL, _TYPE_TEXT, _TYPE_BLOB, _TYPE_NULL = 1, 2, 3, 4, 5
_ACTION_STATES = ("queued", "sending", "done", "failed", "cancelled")
_CHANGE_OPS = ("insert", "update", "delete")
# wait_for_change() waits in slices this long, so that Ctrl-C (which the
# library's wait deliberately sleeps through) reaches Python in time.
_WAIT_SLICE_MS = 500


class Error(Exception):
    """A libflsync failure: .code is the FL_* number, .name its name
    ("FL_ERR_BUSY"), .message the library's text naming what failed."""

    def __init__(self, code, message):
        self.code = code
        self.name = CODES[code] if 0 <= code < len(CODES) else "FL_ERR_%d" % code
        self.message = message
        super().__init__("%s: %s" % (self.name, message))


c_int64 = ctypes.c_int64
c_char_p = ctypes.c_char_p
c_int = ctypes.c_int
c_void_p = ctypes.c_void_p
POINTER = ctypes.POINTER


class _Change(ctypes.Structure):
    _fields_ = [("seq", c_int64), ("table", c_char_p), ("row_id", c_int64),
                ("op", c_int), ("at", c_int64)]


class _ActionInfo(ctypes.Structure):
    _fields_ = [("id", c_int64), ("kind", c_char_p), ("state", c_int),
                ("params", c_char_p), ("local_ref", c_char_p),
                ("depends_on", c_int64), ("attempts", c_int),
                ("http_status", c_int), ("error_code", c_char_p),
                ("error_message", c_char_p), ("result", c_char_p),
                ("created_at", c_int64), ("updated_at", c_int64),
                ("next_attempt", c_int64)]


class _StreamStatus(ctypes.Structure):
    _fields_ = [("stream", c_char_p), ("cursor", c_int64),
                ("last_started", c_int64), ("last_success", c_int64),
                ("last_error", c_char_p), ("last_error_at", c_int64),
                ("failures", c_int64), ("rows_synced", c_int64),
                ("requests", c_int64)]


class _RatelimitStatus(ctypes.Structure):
    _fields_ = [("endpoint", c_char_p), ("limit", c_int64),
                ("window_s", c_int64), ("remaining", c_int64),
                ("paused_until", c_int64), ("updated_at", c_int64)]


class _Status(ctypes.Structure):
    _fields_ = [("schema_version", c_int),
                ("streams_count", c_int64), ("streams", POINTER(_StreamStatus)),
                ("endpoints_count", c_int64), ("endpoints", POINTER(_RatelimitStatus)),
                ("actions_queued", c_int64), ("actions_sending", c_int64),
                ("actions_done", c_int64), ("actions_failed", c_int64),
                ("actions_cancelled", c_int64), ("changes_latest", c_int64)]


_CHANGE_FN = ctypes.CFUNCTYPE(c_int, c_void_p, POINTER(_Change))


def _load():
    tried = []
    for name in (os.environ.get("FLSYNC_LIBRARY"), _INSTALLED_LIBRARY, "libflsync.so.0"):
        if not name:
            continue
        try:
            return ctypes.CDLL(name)
        except OSError as e:
            tried.append(str(e))
    raise ImportError("flsync: cannot load libflsync (set FLSYNC_LIBRARY to its path): "
                      + "; ".join(tried))


_lib = _load()


def _proto(name, restype, *argtypes):
    fn = getattr(_lib, name)
    fn.restype = restype
    fn.argtypes = argtypes
    return fn


_strerror = _proto("fl_strerror", c_char_p, c_int)
_libversion = _proto("fl_libversion", c_char_p)
_free = _proto("fl_free", None, c_void_p)
_db_open = _proto("fl_db_open", c_int, c_char_p, c_int, POINTER(c_void_p))
_db_open_errmsg = _proto("fl_db_open_errmsg", c_char_p)
_db_close = _proto("fl_db_close", None, c_void_p)
_errmsg = _proto("fl_errmsg", c_char_p, c_void_p)
_db_schema_version = _proto("fl_db_schema_version", c_int, c_void_p)
_schema_version = _proto("fl_schema_version", c_int)
_db_busy_timeout = _proto("fl_db_busy_timeout", c_int, c_void_p, c_int)
_action_enqueue = _proto("fl_action_enqueue", c_int, c_void_p, c_char_p, c_char_p,
                         POINTER(c_int64), POINTER(c_void_p))
_action_cancel = _proto("fl_action_cancel", c_int, c_void_p, c_int64)
_action_retry = _proto("fl_action_retry", c_int, c_void_p, c_int64)
_action_get = _proto("fl_action_get", c_int, c_void_p, c_int64, POINTER(POINTER(_ActionInfo)))
_action_free = _proto("fl_action_free", None, POINTER(_ActionInfo))
_stmt_prepare = _proto("fl_stmt_prepare", c_int, c_void_p, c_char_p, POINTER(c_void_p))
_stmt_bind_int64 = _proto("fl_stmt_bind_int64", c_int, c_void_p, c_int, c_int64)
_stmt_bind_double = _proto("fl_stmt_bind_double", c_int, c_void_p, c_int, ctypes.c_double)
_stmt_bind_text = _proto("fl_stmt_bind_text", c_int, c_void_p, c_int, c_char_p, c_int)
_stmt_bind_null = _proto("fl_stmt_bind_null", c_int, c_void_p, c_int)
_stmt_param_count = _proto("fl_stmt_param_count", c_int, c_void_p)
_stmt_param_index = _proto("fl_stmt_param_index", c_int, c_void_p, c_char_p)
_stmt_step = _proto("fl_stmt_step", c_int, c_void_p, POINTER(c_int))
_stmt_finalize = _proto("fl_stmt_finalize", None, c_void_p)
_stmt_column_count = _proto("fl_stmt_column_count", c_int, c_void_p)
_stmt_column_name = _proto("fl_stmt_column_name", c_char_p, c_void_p, c_int)
_stmt_column_type = _proto("fl_stmt_column_type", c_int, c_void_p, c_int)
_stmt_column_int64 = _proto("fl_stmt_column_int64", c_int64, c_void_p, c_int)
_stmt_column_double = _proto("fl_stmt_column_double", ctypes.c_double, c_void_p, c_int)
_stmt_column_text = _proto("fl_stmt_column_text", c_void_p, c_void_p, c_int, POINTER(c_int))
_stmt_column_blob = _proto("fl_stmt_column_blob", c_void_p, c_void_p, c_int, POINTER(c_int))
_changes_since = _proto("fl_changes_since", c_int, c_void_p, c_int64, c_int64, _CHANGE_FN,
                        c_void_p, POINTER(c_int64))
_changes_latest = _proto("fl_changes_latest", c_int, c_void_p, POINTER(c_int64))
_changes_wait = _proto("fl_changes_wait", c_int, c_void_p, c_int64, c_int, POINTER(c_int64))
_status_get = _proto("fl_status_get", c_int, c_void_p, POINTER(POINTER(_Status)))
_status_free = _proto("fl_status_free", None, POINTER(_Status))


def library_version():
    """libflsync's version string."""
    return _libversion().decode()


def schema_version():
    """The schema version (PRAGMA user_version) this library writes."""
    return _schema_version()


def _text(p):
    return None if p is None else p.decode("utf-8", "replace")


def _encode(s, what):
    if not isinstance(s, str):
        raise TypeError("%s must be a str, not %s" % (what, type(s).__name__))
    if "\0" in s:
        raise ValueError("%s contains a NUL character" % what)
    return s.encode("utf-8")


class Database:
    """An open flsync database (fl_db_open).

    Database(path, readonly=False): a read-write handle creates the file
    when it is missing and brings its schema up to date; a read-only one
    never writes.  Close it with close(), or use it as a context manager.
    """

    def __init__(self, path, readonly=False):
        handle = c_void_p()
        flags = _OPEN_READONLY if readonly else _OPEN_CREATE
        rc = _db_open(_encode(os.fspath(path), "path"), flags, ctypes.byref(handle))
        if rc:
            raise Error(rc, _text(_db_open_errmsg()))
        self._db = handle
        self.path = os.fspath(path)
        self.readonly = bool(readonly)

    # -- life ---------------------------------------------------------------

    def close(self):
        """Close the handle (a transaction left open is rolled back)."""
        if getattr(self, "_db", None):
            _db_close(self._db)
            self._db = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()

    def _handle(self):
        if not self._db:
            raise Error(FL_ERR_MISUSE, "the database is closed")
        return self._db

    def _check(self, rc):
        if rc:
            raise Error(rc, _text(_errmsg(self._db)) or _text(_strerror(rc)))

    @property
    def schema_version(self):
        """The file's schema version (PRAGMA user_version)."""
        return _db_schema_version(self._handle())

    def busy_timeout(self, ms):
        """How long a call waits for another connection's lock before FL_ERR_BUSY."""
        self._check(_db_busy_timeout(self._handle(), int(ms)))

    # -- queries ------------------------------------------------------------

    def query(self, sql, *params):
        """Run one SQL statement; its rows as a list of dicts (column name ->
        int, float, str, bytes or None).  Parameters bind in order (?), or
        by name from one dict (:name, @name, $name)."""
        db = self._handle()
        st = c_void_p()
        self._check(_stmt_prepare(db, _encode(sql, "sql"), ctypes.byref(st)))
        try:
            self._bind(st, params)
            rows = []
            row = c_int()
            ncol = None
            names = None
            while True:
                self._check(_stmt_step(st, ctypes.byref(row)))
                if not row.value:
                    return rows
                if names is None:
                    ncol = _stmt_column_count(st)
                    names = [_text(_stmt_column_name(st, i)) for i in range(ncol)]
                rows.append({names[i]: self._column(st, i) for i in range(ncol)})
        finally:
            _stmt_finalize(st)

    def _bind(self, st, params):
        n = _stmt_param_count(st)
        if len(params) == 1 and isinstance(params[0], dict):
            named = params[0]
            for key, value in named.items():
                idx = 0
                for prefix in (":", "@", "$"):
                    idx = _stmt_param_index(st, _encode(prefix + key, "parameter name"))
                    if idx:
                        break
                if not idx:
                    raise Error(FL_ERR_MISUSE, "the statement has no parameter named %r" % key)
                self._bind_one(st, idx, value)
            return
        if len(params) != n:
            raise Error(FL_ERR_MISUSE, "the statement takes %d parameter%s, %d given"
                        % (n, "" if n == 1 else "s", len(params)))
        for i, value in enumerate(params, start=1):
            self._bind_one(st, i, value)

    def _bind_one(self, st, idx, value):
        if value is None:
            rc = _stmt_bind_null(st, idx)
        elif isinstance(value, int):  # bool too
            if not -(1 << 63) <= value < (1 << 63):
                raise OverflowError("parameter %d does not fit in 64 bits" % idx)
            rc = _stmt_bind_int64(st, idx, int(value))
        elif isinstance(value, float):
            rc = _stmt_bind_double(st, idx, value)
        elif isinstance(value, str):
            data = value.encode("utf-8")
            rc = _stmt_bind_text(st, idx, data, len(data))
        else:
            raise TypeError("parameter %d: cannot bind a %s (int, float, str or None)"
                            % (idx, type(value).__name__))
        self._check(rc)

    @staticmethod
    def _column(st, i):
        t = _stmt_column_type(st, i)
        if t == _TYPE_INTEGER:
            return _stmt_column_int64(st, i)
        if t == _TYPE_REAL:
            return _stmt_column_double(st, i)
        if t == _TYPE_NULL:
            return None
        n = c_int()
        if t == _TYPE_TEXT:
            p = _stmt_column_text(st, i, ctypes.byref(n))
            return ctypes.string_at(p, n.value).decode("utf-8", "replace") if p else ""
        p = _stmt_column_blob(st, i, ctypes.byref(n))
        return ctypes.string_at(p, n.value) if p else b""

    # -- write actions --------------------------------------------------------

    def enqueue(self, kind, **params):
        """Queue a write action (flsync.h lists the kinds; parameters use the
        API's names).  Its optimistic effect is visible at once.  Returns the
        action's id; action(id)["local_ref"] is the local reference of an
        object it creates."""
        db = self._handle()
        out_id = c_int64()
        ref = c_void_p()
        body = json.dumps(params, ensure_ascii=False, allow_nan=False)
        self._check(_action_enqueue(db, _encode(kind, "kind"), body.encode("utf-8"),
                                    ctypes.byref(out_id), ctypes.byref(ref)))
        if ref.value:
            _free(ref)
        return out_id.value

    def action(self, action_id):
        """One action as a dict: id, kind, state ("queued", "sending", "done",
        "failed", "cancelled"), params, local_ref, depends_on, attempts,
        http_status, error_code, error_message, result (decoded JSON),
        created_at, updated_at, next_attempt."""
        db = self._handle()
        info = POINTER(_ActionInfo)()
        self._check(_action_get(db, int(action_id), ctypes.byref(info)))
        try:
            a = info.contents
            result = _text(a.result)
            return {
                "id": a.id,
                "kind": _text(a.kind),
                "state": _ACTION_STATES[a.state] if 0 <= a.state < len(_ACTION_STATES) else str(a.state),
                "params": json.loads(_text(a.params) or "{}"),
                "local_ref": _text(a.local_ref),
                "depends_on": a.depends_on or None,
                "attempts": a.attempts,
                "http_status": a.http_status or None,
                "error_code": _text(a.error_code),
                "error_message": _text(a.error_message),
                "result": json.loads(result) if result else None,
                "created_at": a.created_at,
                "updated_at": a.updated_at,
                "next_attempt": a.next_attempt,
            }
        finally:
            _action_free(info)

    def cancel(self, action_id):
        """Cancel a queued action and undo its optimistic effect."""
        self._check(_action_cancel(self._handle(), int(action_id)))

    def retry(self, action_id):
        """Queue a failed action again."""
        self._check(_action_retry(self._handle(), int(action_id)))

    # -- the change feed ------------------------------------------------------

    def changes_latest(self):
        """The newest change's seq (0 if none): where a reader that has just
        read everything starts following."""
        out = c_int64()
        self._check(_changes_latest(self._handle(), ctypes.byref(out)))
        return out.value

    def changes_since(self, seq, limit=None):
        """The changes after seq, oldest first, at most limit of them: dicts
        with seq, table, row_id, op ("insert", "update", "delete") and at.
        Raises Error with FL_ERR_NOT_FOUND when those changes were pruned."""
        db = self._handle()
        out = []

        def collect(_ctx, change):
            c = change.contents
            out.append({"seq": c.seq, "table": _text(c.table), "row_id": c.row_id,
                        "op": _CHANGE_OPS[c.op] if 0 <= c.op < 3 else str(c.op), "at": c.at})
            return 0

        fn = _CHANGE_FN(collect)
        self._check(_changes_since(db, int(seq), int(limit or 0), fn, None, None))
        return out

    def wait_for_change(self, since, timeout=None):
        """Block until a change newer than since is committed by any process,
        or timeout seconds pass (None: no limit).  Returns the newest seq;
        it equals since (or is lower) when the time ran out."""
        db = self._handle()
        out = c_int64()
        deadline = None if timeout is None else time.monotonic() + max(0.0, float(timeout))
        while True:
            if deadline is None:
                slice_ms = _WAIT_SLICE_MS
            else:
                slice_ms = max(0, min(_WAIT_SLICE_MS, int((deadline - time.monotonic()) * 1000 + 0.999)))
            rc = _changes_wait(db, int(since), slice_ms, ctypes.byref(out))
            if rc == FL_OK:
                return out.value
            if rc != FL_ERR_TIMEOUT:
                self._check(rc)
            if deadline is not None and time.monotonic() >= deadline:
                return out.value

    # -- status ---------------------------------------------------------------

    def status(self):
        """The sync status as a dict: schema_version, streams (one dict per
        sync stream), endpoints (rate-limit budgets), actions (counts by
        state) and changes_latest."""
        db = self._handle()
        st = POINTER(_Status)()
        self._check(_status_get(db, ctypes.byref(st)))
        try:
            s = st.contents
            streams = []
            for i in range(s.streams_count):
                r = s.streams[i]
                streams.append({"stream": _text(r.stream), "cursor": r.cursor,
                                "last_started": r.last_started, "last_success": r.last_success,
                                "last_error": _text(r.last_error), "last_error_at": r.last_error_at,
                                "failures": r.failures, "rows_synced": r.rows_synced,
                                "requests": r.requests})
            endpoints = []
            for i in range(s.endpoints_count):
                r = s.endpoints[i]
                endpoints.append({"endpoint": _text(r.endpoint), "limit": r.limit,
                                  "window_s": r.window_s, "remaining": r.remaining,
                                  "paused_until": r.paused_until, "updated_at": r.updated_at})
            return {
                "schema_version": s.schema_version,
                "streams": streams,
                "endpoints": endpoints,
                "actions": {"queued": s.actions_queued, "sending": s.actions_sending,
                            "done": s.actions_done, "failed": s.actions_failed,
                            "cancelled": s.actions_cancelled},
                "changes_latest": s.changes_latest,
            }
        finally:
            _status_free(st)
