"""The Python binding (bindings/python/flsync) on the cli suite's fixture
database: queries and types, errors as flsync.Error with the FL_* code,
write actions and their optimistic rows, the change feed, waiting for a
commit by another process, and the status.

Run by meson (suite python) with FLSYNC_LIBRARY, FL_CLI_FIXTURE and
FL_CLI_FIXTURE_SQL set; PYTHONPATH points at bindings/python.
"""
import os
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

import flsync


@pytest.fixture
def path(tmp_path):
    p = tmp_path / "flsync.db"
    subprocess.run([os.environ["FL_CLI_FIXTURE"], str(p), os.environ["FL_CLI_FIXTURE_SQL"]],
                   check=True)
    return str(p)


@pytest.fixture
def db(path):
    with flsync.Database(path) as d:
        yield d


def test_versions(db):
    assert flsync.library_version()
    assert db.schema_version == flsync.schema_version() > 0


def test_query_rows_are_dicts_of_plain_types(db):
    rows = db.query("SELECT id, title FROM projects WHERE id = ?", 101)
    assert len(rows) == 1 and rows[0]["id"] == 101 and isinstance(rows[0]["title"], str)
    row = db.query("SELECT 1 AS i, 2.5 AS r, 'naïve 中文 🎉' AS t, NULL AS n, x'00ff' AS b, "
                   "9223372036854775807 AS big")[0]
    assert row == {"i": 1, "r": 2.5, "t": "naïve 中文 🎉", "n": None, "b": b"\x00\xff",
                   "big": 2 ** 63 - 1}
    assert db.query("SELECT ?1 + ?2 AS s, ?3 AS t, ?4 AS n, ?5 AS f",
                    40, 2, "x", None, 0.5) == [{"s": 42, "t": "x", "n": None, "f": 0.5}]
    assert db.query("SELECT :a || $b AS s", {"a": "left", "b": "right"}) == [{"s": "leftright"}]
    assert db.query("SELECT id FROM projects WHERE id < 0") == []


def test_bad_input_raises_with_the_code(db, path):
    with pytest.raises(flsync.Error) as e:
        db.query("SELEKT 1")
    assert e.value.code == flsync.FL_ERR_DB and e.value.name == "FL_ERR_DB"
    assert "SELEKT" in e.value.message or "syntax" in e.value.message
    with pytest.raises(flsync.Error) as e:
        db.query("SELECT 1; SELECT 2")
    assert e.value.code == flsync.FL_ERR_INVALID
    with pytest.raises(flsync.Error) as e:
        db.query("SELECT ?", 1, 2)
    assert e.value.code == flsync.FL_ERR_MISUSE and "1 parameter" in e.value.message
    with pytest.raises(flsync.Error):
        db.query("SELECT :a", {"nope": 1})
    with pytest.raises(TypeError):
        db.query("SELECT ?", object())
    with pytest.raises(OverflowError):
        db.query("SELECT ?", 2 ** 64)
    with pytest.raises(ValueError):
        db.query("SELECT 1\0")
    with flsync.Database(path, readonly=True) as ro:
        with pytest.raises(flsync.Error) as e:
            ro.query("DELETE FROM projects")
        assert e.value.code == flsync.FL_ERR_READONLY
    with pytest.raises(flsync.Error) as e:
        flsync.Database(path + ".missing", readonly=True)
    assert e.value.code in (flsync.FL_ERR_IO, flsync.FL_ERR_SCHEMA)
    assert "missing" in e.value.message
    db.close()
    with pytest.raises(flsync.Error) as e:
        db.query("SELECT 1")
    assert e.value.code == flsync.FL_ERR_MISUSE


def test_a_new_database_is_created_with_the_schema(tmp_path):
    with flsync.Database(tmp_path / "new.db") as d:
        assert d.schema_version == flsync.schema_version()
        assert d.query("SELECT count(*) AS n FROM projects") == [{"n": 0}]


def test_enqueue_shows_pending_then_cancel_undoes(db):
    hostile = "<img src=x onerror=alert(1)> \"quotes\" \\ 'single' 中文"
    aid = db.enqueue("message.send", thread_id=501, message=hostile)
    a = db.action(aid)
    assert a["state"] == "queued" and a["kind"] == "message.send"
    assert a["params"]["message"] == hostile and a["error_code"] is None
    pending = db.query("SELECT message, local_state FROM messages WHERE thread_id = 501 "
                       "AND local_state = 'pending'")
    assert pending == [{"message": hostile, "local_state": "pending"}]
    db.cancel(aid)
    assert db.action(aid)["state"] == "cancelled"
    assert db.query("SELECT count(*) AS n FROM messages WHERE local_state = 'pending'") == [{"n": 0}]
    with pytest.raises(flsync.Error) as e:
        db.cancel(aid)
    assert e.value.code == flsync.FL_ERR_STATE


def test_enqueue_refuses_bad_actions(db):
    before = db.query("SELECT count(*) AS n FROM actions")
    with pytest.raises(flsync.Error) as e:
        db.enqueue("message.send", thread_id=501)
    assert e.value.code == flsync.FL_ERR_INVALID and "message" in e.value.message
    with pytest.raises(flsync.Error) as e:
        db.enqueue("no.such.kind", x=1)
    assert e.value.code == flsync.FL_ERR_INVALID
    with pytest.raises(flsync.Error) as e:
        db.action(10 ** 12)
    assert e.value.code == flsync.FL_ERR_NOT_FOUND
    with pytest.raises(ValueError):
        db.enqueue("bid.create", amount=float("nan"))
    assert db.query("SELECT count(*) AS n FROM actions") == before


def test_changes_since_follows_the_feed(db):
    seq = db.changes_latest()
    aid = db.enqueue("thread.read", thread_id=502)
    changes = db.changes_since(seq)
    assert [c["seq"] for c in changes] == list(range(seq + 1, seq + 1 + len(changes)))
    tables = {(c["table"], c["row_id"], c["op"]) for c in changes}
    assert ("actions", aid, "insert") in tables and ("threads", 502, "update") in tables
    assert len(db.changes_since(seq, limit=1)) == 1
    assert db.changes_since(db.changes_latest()) == []


def test_changes_since_a_pruned_seq_says_so(db, path):
    latest = db.changes_latest()
    db.query("UPDATE threads SET is_read = 1 - is_read WHERE id = 502")
    raw = sqlite3.connect(path)
    raw.execute("DELETE FROM changes WHERE seq < ?", (latest + 1,))
    raw.commit()
    raw.close()
    with pytest.raises(flsync.Error) as e:
        db.changes_since(1)
    assert e.value.code == flsync.FL_ERR_PRUNED and "pruned" in e.value.message


def test_wait_for_change_wakes_on_another_process(path):
    with flsync.Database(path, readonly=True) as ro:
        since = ro.changes_latest()
        # nothing happens: the timeout, with the newest seq, after about that long
        for timeout in (0, 0.05, 0.7, 2.7):
            t0 = time.monotonic()
            assert ro.wait_for_change(since, timeout=timeout) == since
            assert time.monotonic() - t0 < timeout + 5
        # another process commits a change 200 ms from now
        writer = subprocess.Popen([sys.executable, "-c", (
            "import sqlite3, sys, time; time.sleep(0.2); c = sqlite3.connect(sys.argv[1]); "
            "c.execute('UPDATE threads SET is_read = 1 - is_read WHERE id = 501'); c.commit()"),
            path])
        got = ro.wait_for_change(since, timeout=30)
        assert writer.wait() == 0
        assert got == since + 1
        assert [c["table"] for c in ro.changes_since(since)] == ["threads"]


def test_wait_for_change_lets_other_threads_run(path):
    """The wait releases the GIL: a writer thread commits while the main
    thread waits on its own handle."""
    with flsync.Database(path, readonly=True) as ro:
        since = ro.changes_latest()

        def write():
            time.sleep(0.1)
            with flsync.Database(path) as rw:
                rw.enqueue("thread.mute", thread_id=501)

        t = threading.Thread(target=write)
        t.start()
        got = ro.wait_for_change(since, timeout=30)
        t.join()
        assert got > since


def test_status(db):
    queued = db.status()["actions"]["queued"]
    db.enqueue("thread.archive", thread_id=501)
    s = db.status()
    assert s["schema_version"] == flsync.schema_version()
    assert s["actions"]["queued"] == queued + 1 and s["changes_latest"] == db.changes_latest()
    assert isinstance(s["streams"], list) and isinstance(s["endpoints"], list)
    for stream in s["streams"]:
        assert isinstance(stream["stream"], str) and stream["rows_synced"] >= 0
