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

__all__ = ["Database", "Error", "Sync", "library_version", "schema_version", "sync_lock_holder",
           "sync_options"]

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
    "FL_ERR_AUTH", "FL_ERR_PRUNED",
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


class _TrimReport(ctypes.Structure):
    _fields_ = [("coalesced", ctypes.c_int64), ("pruned", ctypes.c_int64), ("held", ctypes.c_int64)]


class _CompactReport(ctypes.Structure):
    _fields_ = [("pages_freed", ctypes.c_int64), ("vacuumed", ctypes.c_int), ("checkpointed", ctypes.c_int)]


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
                ("requests", c_int64), ("server_success", c_int64)]


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
                ("actions_cancelled", c_int64), ("changes_latest", c_int64),
                ("repaired", c_int64), ("reconciled_at", c_int64)]


class _SyncProgress(ctypes.Structure):
    _fields_ = [("stream", c_char_p), ("rows", c_int64), ("total", c_int64),
                ("requests", c_int64), ("done", c_int), ("error", c_char_p)]


class _SyncReport(ctypes.Structure):
    _fields_ = [("rows", c_int64), ("requests", c_int64), ("server_now", c_int64),
                ("elapsed_ms", c_int64), ("streams_ok", c_int), ("streams_failed", c_int),
                ("http_status", ctypes.c_long), ("error", c_char_p)]


_CHANGE_FN = ctypes.CFUNCTYPE(c_int, c_void_p, POINTER(_Change))
_PROGRESS_FN = ctypes.CFUNCTYPE(None, c_void_p, POINTER(_SyncProgress))
_LOG_FN = ctypes.CFUNCTYPE(None, c_void_p, c_char_p)


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
_changes_register = _proto("fl_changes_register", c_int, c_void_p, c_char_p, c_int64)
_changes_ack = _proto("fl_changes_ack", c_int, c_void_p, c_char_p, c_int64)
_changes_position = _proto("fl_changes_position", c_int, c_void_p, c_char_p, POINTER(c_int64))
_changes_unregister = _proto("fl_changes_unregister", c_int, c_void_p, c_char_p)
_changes_prune = _proto("fl_changes_prune", c_int, c_void_p, c_int64, POINTER(c_int64))
_changes_trim = _proto("fl_changes_trim", c_int, c_void_p, c_int64, POINTER(_TrimReport))
_db_compact = _proto("fl_db_compact", c_int, c_void_p, POINTER(_CompactReport))
_changes_horizon = _proto("fl_changes_horizon", c_int, c_void_p, POINTER(c_int64))
_status_get = _proto("fl_status_get", c_int, c_void_p, POINTER(POINTER(_Status)))
_status_free = _proto("fl_status_free", None, POINTER(_Status))
_sync_new = _proto("fl_sync_new", c_int, c_char_p, POINTER(c_void_p))
_sync_free = _proto("fl_sync_free", None, c_void_p)
_sync_errmsg = _proto("fl_sync_errmsg", c_char_p, c_void_p)
_sync_set_token = _proto("fl_sync_set_token", c_int, c_void_p, c_char_p)
_sync_set_token_file = _proto("fl_sync_set_token_file", c_int, c_void_p, c_char_p)
_sync_set_option = _proto("fl_sync_set_option", c_int, c_void_p, c_char_p, c_char_p)
_sync_option_name = _proto("fl_sync_option_name", c_char_p, c_int)
_sync_set_progress = _proto("fl_sync_set_progress", None, c_void_p, _PROGRESS_FN, c_void_p)
_sync_set_log = _proto("fl_sync_set_log", None, c_void_p, _LOG_FN, c_void_p)
# sig_atomic_t is an int on every platform Python's ctypes runs this on (glibc).
_sync_set_cancel = _proto("fl_sync_set_cancel", None, c_void_p, POINTER(c_int))
_sync_check = _proto("fl_sync_check", c_int, c_void_p, c_void_p)
_sync_run = _proto("fl_sync_run", c_int, c_void_p, c_void_p)
_sync_run_actions = _proto("fl_sync_run_actions", c_int, c_void_p, c_void_p)
_sync_report = _proto("fl_sync_report", POINTER(_SyncReport), c_void_p)
_sync_needs_login = _proto("fl_sync_needs_login", c_char_p, c_void_p)
_sync_lock = _proto("fl_sync_lock", c_int, c_void_p, c_char_p)
_sync_unlock = _proto("fl_sync_unlock", None, c_void_p)
_sync_lock_holder = _proto("fl_sync_lock_holder", c_int, c_char_p, POINTER(c_int64))


def library_version():
    """libflsync's version string."""
    return _libversion().decode()


def schema_version():
    """The schema version (PRAGMA user_version) this library writes."""
    return _schema_version()


def sync_options():
    """The names of the sync's options (flsync.h lists them with their defaults)."""
    names = []
    while True:
        n = _sync_option_name(len(names))
        if n is None:
            return names
        names.append(n.decode())


def sync_lock_holder(path):
    """Who holds the sync lock of the database at path, without taking it:
    0 when nobody does, else the holder's pid (this process's own when one
    of its Sync objects holds it), or -1 when the holder has not yet
    written its pid.  A running flsyncd starts a pass on SIGUSR1."""
    pid = c_int64()
    rc = _sync_lock_holder(_encode(os.fspath(path), "path"), ctypes.byref(pid))
    if rc:
        raise Error(rc, "cannot read the sync lock of %s" % os.fspath(path))
    return pid.value


def _text(p):
    return None if p is None else p.decode("utf-8", "replace")


def _encode(s, what):
    if not isinstance(s, str):
        raise TypeError("%s must be a str, not %s" % (what, type(s).__name__))
    if "\0" in s:
        raise ValueError("%s contains a NUL character" % what)
    return s.encode("utf-8")


class _Handle:
    """What Database and Sync share: an opaque library handle in self._h,
    freed by close() (or at the end of a with block), and the check that
    turns a failed call's code into Error with the handle's message."""

    _h = None
    _closed = "the handle is closed"

    def _free(self, h):
        raise NotImplementedError

    def _message(self, h):
        raise NotImplementedError

    def close(self):
        if self._h:
            self._free(self._h)
            self._h = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()

    def _handle(self):
        if not self._h:
            raise Error(FL_ERR_MISUSE, self._closed)
        return self._h

    def _check(self, rc):
        if rc:
            raise Error(rc, _text(self._message(self._h)) or _text(_strerror(rc)))


class Database(_Handle):
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
        self._h = handle
        self.path = os.fspath(path)
        self.readonly = bool(readonly)

    # -- life (close() rolls back a transaction left open) -------------------

    _closed = "the database is closed"

    def _free(self, h):
        _db_close(h)

    def _message(self, h):
        return _errmsg(h)

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
        Raises Error with FL_ERR_PRUNED when some of those changes were
        pruned: re-read everything, then follow from changes_latest()."""
        return self._since(seq, limit)[0]

    def _since(self, seq, limit):
        db = self._handle()
        out = []
        newest = c_int64()

        def collect(_ctx, change):
            c = change.contents
            out.append({"seq": c.seq, "table": _text(c.table), "row_id": c.row_id,
                        "op": _CHANGE_OPS[c.op] if 0 <= c.op < 3 else str(c.op), "at": c.at})
            return 0

        fn = _CHANGE_FN(collect)
        self._check(_changes_since(db, int(seq), int(limit or 0), fn, None, ctypes.byref(newest)))
        if limit and len(out) >= int(limit):
            return out, out[-1]["seq"]
        return out, newest.value

    def changes_register(self, name, position):
        """Register the consumer name at position (the newest seq it has
        handled): the feed is never pruned past it until changes_unregister().
        Moves it there if it is registered already.  Raises FL_ERR_PRUNED
        when the feed no longer holds the changes after position."""
        self._check(_changes_register(self._handle(), _encode(name, "name"), int(position)))

    def changes_ack(self, name, position):
        """The registered consumer name has handled every change up to
        position; FL_ERR_NOT_FOUND when it is not registered."""
        self._check(_changes_ack(self._handle(), _encode(name, "name"), int(position)))

    def changes_position(self, name):
        """The position the consumer name holds, or None when it is not registered."""
        out = c_int64()
        rc = _changes_position(self._handle(), _encode(name, "name"), ctypes.byref(out))
        if rc == FL_ERR_NOT_FOUND:
            return None
        self._check(rc)
        return out.value

    def changes_unregister(self, name):
        """Forget the consumer name, or a PostgreSQL sink's position ("sink.postgres.SCHEMA"):
        the feed no longer waits for it (FL_ERR_NOT_FOUND when it holds none)."""
        self._check(_changes_unregister(self._handle(), _encode(name, "name")))

    def changes_prune(self, before):
        """Delete the changes before seq before, except the newest and what a
        registered consumer or a sink still needs; returns how many went."""
        out = c_int64()
        self._check(_changes_prune(self._handle(), int(before), ctypes.byref(out)))
        return out.value

    def changes_trim(self, keep_seconds=30 * 86400):
        """What flsyncd does to the feed after a pass (for a program that runs
        the sync itself): coalesce, then prune what is older than keep_seconds
        (None: nothing), never past a registered consumer or a sink.  Returns
        {"coalesced": n, "pruned": n, "held": oldest position held or -1}."""
        r = _TrimReport()
        keep = -1 if keep_seconds is None else int(keep_seconds)
        self._check(_changes_trim(self._handle(), keep, ctypes.byref(r)))
        return {"coalesced": r.coalesced, "pruned": r.pruned, "held": r.held}

    def compact(self):
        """Give free pages back and truncate the WAL when no reader holds it
        (fl_db_compact).  Returns {"pages_freed": n, "vacuumed": bool,
        "checkpointed": bool}."""
        r = _CompactReport()
        self._check(_db_compact(self._handle(), ctypes.byref(r)))
        return {"pages_freed": r.pages_freed, "vacuumed": bool(r.vacuumed), "checkpointed": bool(r.checkpointed)}

    def changes_horizon(self):
        """The oldest seq changes_since() still serves (0 when nothing was pruned)."""
        out = c_int64()
        self._check(_changes_horizon(self._handle(), ctypes.byref(out)))
        return out.value

    def follow(self, name, limit=None):
        """The changes the registered consumer name has not handled yet, as
        changes_since() gives them, and the position to changes_ack() once they
        are handled: (changes, newest).  A consumer never registered is
        registered at the feed's newest seq (it reads the tables itself first)
        and gets ([], newest)."""
        pos = self.changes_position(name)
        if pos is None:
            newest = self.changes_latest()
            self.changes_register(name, newest)
            return [], newest
        changes, newest = self._since(pos, limit)
        return changes, max(newest, pos)

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

    # -- syncing --------------------------------------------------------------

    def sync(self, api, token=None, progress=None, token_file=None, options=None):
        """Run one sync pass into this database against the API at api (its
        origin, e.g. "https://www.freelancer.com") with token, or token_file:
        Sync(api, token, token_file, options).run(self, progress), which
        documents the report it returns and what it raises.  Keep a Sync
        object instead to sync again and again: it keeps the rate budgets."""
        with Sync(api, token=token, token_file=token_file, options=options) as s:
            return s.run(self, progress=progress)

    # -- status ---------------------------------------------------------------

    def status(self):
        """The sync status as a dict: schema_version, streams (one dict per
        sync stream), endpoints (rate-limit budgets), actions (counts by
        state), changes_latest, and repaired (rows deep reconciliation found
        that polling had missed)."""
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
                                "requests": r.requests, "server_success": r.server_success})
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
                "repaired": s.repaired,
            }
        finally:
            _status_free(st)


class Sync(_Handle):
    """One account's sync (struct fl_sync): the API origin, the token, the
    options, and what lives from pass to pass (the HTTP connection, the
    rate budgets).  Keep one per account for as long as you sync.

    Sync(api, token=None, token_file=None, options=None): token is a bare
    access token; token_file one that flsync auth login wrote (refreshed in
    place).  options maps option names ("cadence.lookback", "search.query",
    ...; see sync_options()) to values (str, int or float; a list sets a
    repeatable option several times).
    """

    def __init__(self, api, token=None, token_file=None, options=None):
        handle = c_void_p()
        rc = _sync_new(_encode(api, "api"), ctypes.byref(handle))
        if rc:
            raise Error(rc, "the API wants an http or https origin, not %r" % api)
        self._h = handle
        self._cancel = c_int(0)
        self._progress = None
        self._error = None
        _sync_set_cancel(self._h, ctypes.byref(self._cancel))
        if (token is None) == (token_file is None):
            self.close()
            raise Error(FL_ERR_MISUSE, "give exactly one of token and token_file")
        if token is not None:
            self._check(_sync_set_token(self._h, _encode(token, "token")))
        else:
            self._check(_sync_set_token_file(self._h, _encode(os.fspath(token_file), "token_file")))
        for name, value in (options or {}).items():
            for v in (value if isinstance(value, (list, tuple)) else [value]):
                self.set_option(name, v)

    # close() frees the handle, and the sync lock if it holds it.
    _closed = "the sync is closed"

    def _free(self, h):
        _sync_free(h)

    def _message(self, h):
        return _sync_errmsg(h)

    def set_option(self, name, value):
        """Set one option; a bad name is FL_ERR_NOT_FOUND, a bad value FL_ERR_INVALID."""
        self._check(_sync_set_option(self._handle(), _encode(name, "option name"),
                                     _encode(str(value), "option value")))

    def cancel(self):
        """Stop the pass running now (from another thread) at its next batch
        boundary; what it committed is kept, and run() raises FL_ERR_ABORTED."""
        self._cancel.value = 1

    @property
    def needs_login(self):
        """Why the sign-in has ended (run flsync auth login), or None."""
        return _text(_sync_needs_login(self._handle()))

    def lock(self, path):
        """Take the sync lock of the database at path until unlock() or close():
        FL_ERR_LOCKED when another process (flsyncd) or handle holds it."""
        self._check(_sync_lock(self._handle(), _encode(os.fspath(path), "path")))

    def unlock(self):
        _sync_unlock(self._handle())

    def check(self, db):
        """GET the account: FL_ERR_AUTH when the API refuses the token."""
        self._check(_sync_check(self._handle(), db._handle()))

    def run_actions(self, db, progress=None):
        """Send the queue now: the short round of fl_sync_run_actions() (the
        account only if no pass has stored it, then the queued actions, each
        exactly once, in dependency order, within the write endpoints' rate
        budgets).  Returns the report as run() does; an action the API
        refused is not an error here: Database.action(id) tells its state,
        error_code and error_message."""
        return self.run(db, progress, _fn=_sync_run_actions)

    def run(self, db, progress=None, _fn=None):
        """Run one pass into db (a read-write Database); returns the report
        as a dict: rows, requests, server_now, elapsed_ms, streams_ok,
        streams_failed, http_status, error.

        progress(p), if given, is called after every page with a dict:
        stream, rows, total (None when unknown), requests, done, error.  It
        returning True cancels the pass at the next batch boundary, and an
        exception it raises (KeyboardInterrupt too) cancels the pass and is
        raised again once the pass has stopped.  A failed pass raises Error,
        with the report as its .report."""
        s = self._handle()
        self._error = None
        self._cancel.value = 0
        if progress is not None:
            def on_progress(_ctx, p):
                c = p.contents
                try:
                    if progress({"stream": _text(c.stream), "rows": c.rows,
                                 "total": None if c.total < 0 else c.total,
                                 "requests": c.requests, "done": bool(c.done),
                                 "error": _text(c.error)}):
                        self._cancel.value = 1
                except BaseException as e:  # noqa: B902 -- re-raised after the pass
                    if self._error is None:
                        self._error = e
                    self._cancel.value = 1
            self._progress = _PROGRESS_FN(on_progress)
            _sync_set_progress(s, self._progress, None)
        else:
            _sync_set_progress(s, _PROGRESS_FN(), None)
        try:
            rc = (_fn or _sync_run)(s, db._handle())
        finally:
            _sync_set_progress(s, _PROGRESS_FN(), None)
            self._progress = None
        r = _sync_report(s).contents
        report = {"rows": r.rows, "requests": r.requests, "server_now": r.server_now,
                  "elapsed_ms": r.elapsed_ms, "streams_ok": r.streams_ok,
                  "streams_failed": r.streams_failed, "http_status": r.http_status or None,
                  "error": _text(r.error) or None}
        if self._error is not None:
            e, self._error = self._error, None
            raise e
        if rc:
            err = Error(rc, _text(_sync_errmsg(s)) or _text(_strerror(rc)))
            err.report = report
            raise err
        return report

