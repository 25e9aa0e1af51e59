"""The sync through the Python binding (flsync.Sync, Database.sync) against
flmock: a pass with progress, its report and rows; cancelling from the
progress callback and from another thread; a refused token; options; the
sync lock against a running flsyncd and between two handles.

Run by meson (suite python) with FLSYNC_LIBRARY, FLMOCK and FLSYNCD set.
"""
import os
import signal
import subprocess
import threading
import time

import pytest

import flsync

TOKEN = "pytoken"


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    d = tmp_path_factory.mktemp("flmock")
    out = open(d / "flmock.out", "wb+")
    p = subprocess.Popen([os.environ["FLMOCK"], "--port", "0", "--seed", "5", "--token", TOKEN,
                          "--scale", "3000"], stdout=out, stderr=subprocess.DEVNULL)
    url = None
    for _ in range(400):
        out.seek(0)
        line = out.readline().decode()
        if line.startswith("listening on "):
            url = line.split()[-1]
            break
        time.sleep(0.025)
    assert url, "flmock did not start"
    yield url
    p.terminate()
    p.wait(10)


@pytest.fixture
def path(tmp_path):
    return str(tmp_path / "sync.db")


def test_a_pass_reports_progress_and_stores_rows(api, path):
    seen = []
    with flsync.Database(path) as db:
        report = db.sync(api, TOKEN, progress=seen.append)
        assert report["rows"] > 0 and report["requests"] > 0 and report["streams_failed"] == 0
        assert report["server_now"] > 0 and report["error"] is None
        n = db.query("SELECT count(*) AS n FROM projects")[0]["n"]
        assert n > 0
        assert db.query("SELECT count(*) AS n FROM messages")[0]["n"] > 0
    streams = {p["stream"] for p in seen}
    assert {"self", "projects", "bids", "threads", "messages"} <= streams
    done = [p for p in seen if p["done"]]
    assert {p["stream"] for p in done} == streams and all(p["error"] is None for p in done)
    assert sum(p["rows"] for p in done) == report["rows"]
    # A second pass over an unchanged world stores nothing new.
    with flsync.Database(path) as db:
        again = db.sync(api, TOKEN)
    assert again["rows"] == 0 and again["requests"] > 0


def test_a_sync_object_keeps_its_budgets_and_can_pass_again(api, path):
    with flsync.Database(path) as db, flsync.Sync(api, token=TOKEN) as s:
        s.check(db)
        first = s.run(db)
        second = s.run(db)
    assert first["rows"] > 0 and second["rows"] == 0


def test_progress_returning_true_cancels_at_a_batch_boundary(api, path):
    with flsync.Database(path) as db:
        with pytest.raises(flsync.Error) as e:
            # One request at a time, the streams in order (side by side,
            # messages would be read while projects are).
            db.sync(api, TOKEN, progress=lambda p: p["stream"] == "projects",
                    options={"sync.batch_rows": 50, "sync.page_limit": 20, "sync.max_in_flight": 1})
        assert e.value.code == flsync.FL_ERR_ABORTED
        kept = db.query("SELECT count(*) AS n FROM projects")[0]["n"]
        # The pass stopped early: the streams after projects never ran.
        assert db.query("SELECT count(*) AS n FROM messages")[0]["n"] == 0
        report = db.sync(api, TOKEN)
        assert report["streams_failed"] == 0
        assert db.query("SELECT count(*) AS n FROM projects")[0]["n"] >= kept > 0
        assert db.query("SELECT count(*) AS n FROM messages")[0]["n"] > 0


def test_an_exception_in_progress_stops_the_pass_and_is_raised(api, path):
    def boom(p):
        raise KeyboardInterrupt

    with flsync.Database(path) as db:
        with pytest.raises(KeyboardInterrupt):
            db.sync(api, TOKEN, progress=boom)
        assert db.sync(api, TOKEN)["streams_failed"] == 0


def test_cancel_from_another_thread(api, path):
    with flsync.Database(path) as db, flsync.Sync(api, token=TOKEN,
                                                  options={"sync.page_limit": 5}) as s:
        started = threading.Event()
        t = threading.Timer(0, lambda: (started.wait(30), s.cancel()))
        t.start()
        with pytest.raises(flsync.Error) as e:
            s.run(db, progress=lambda p: started.set())
        t.join()
        assert e.value.code == flsync.FL_ERR_ABORTED
        assert s.run(db)["streams_failed"] == 0


def test_a_refused_token_is_fl_err_auth(api, path):
    with flsync.Database(path) as db:
        with pytest.raises(flsync.Error) as e:
            db.sync(api, "not-the-token")
        assert e.value.code == flsync.FL_ERR_AUTH and e.value.report["http_status"] == 401
        with flsync.Sync(api, token="not-the-token") as s:
            with pytest.raises(flsync.Error) as e:
                s.check(db)
            assert e.value.code == flsync.FL_ERR_AUTH and "refused" in e.value.message


def test_options_are_checked_and_applied(api, path, tmp_path):
    names = flsync.sync_options()
    assert "cadence.lookback" in names and "search.query" in names and "sync.page_limit" in names
    with flsync.Sync(api, token=TOKEN) as s:
        with pytest.raises(flsync.Error) as e:
            s.set_option("sync.no_such", "1")
        assert e.value.code == flsync.FL_ERR_NOT_FOUND
        with pytest.raises(flsync.Error) as e:
            s.set_option("sync.page_limit", "500")
        assert e.value.code == flsync.FL_ERR_INVALID and "page_limit" in e.value.message
        with pytest.raises(flsync.Error) as e:
            s.set_option("cadence.lookback", "soon")
        assert e.value.code == flsync.FL_ERR_INVALID
        s.set_option("cadence.lookback", "5m")
    with pytest.raises(flsync.Error) as e:
        flsync.Sync("ftp://nowhere", token=TOKEN)
    assert e.value.code == flsync.FL_ERR_MISUSE
    # Smaller pages, more requests for the same rows.
    small = str(tmp_path / "small.db")
    with flsync.Database(path) as db:
        big = db.sync(api, TOKEN)
    with flsync.Database(small) as db:
        little = db.sync(api, TOKEN, options={"sync.page_limit": 10})
    assert little["rows"] == big["rows"] and little["requests"] > big["requests"]


def test_the_sync_lock_between_handles_and_against_flsyncd(api, path):
    assert flsync.sync_lock_holder(path) == 0
    with flsync.Database(path) as db, flsync.Sync(api, token=TOKEN) as a, \
            flsync.Sync(api, token=TOKEN) as b:
        a.lock(path)
        assert flsync.sync_lock_holder(path) == os.getpid()
        with pytest.raises(flsync.Error) as e:
            b.run(db)
        assert e.value.code == flsync.FL_ERR_LOCKED and str(os.getpid()) in e.value.message
        assert a.run(db)["streams_failed"] == 0  # the holder syncs under its own lock
        a.unlock()
        assert flsync.sync_lock_holder(path) == 0
        assert b.run(db)["streams_failed"] == 0  # takes the lock for the pass only
        assert flsync.sync_lock_holder(path) == 0

    # flsyncd holds the lock for its life; the library sees it and waits for nothing.
    d = subprocess.Popen([os.environ["FLSYNCD"], "--db", path, "--api", api, "--interval", "3600", "-v"],
                         stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                         env=dict(os.environ, FLSYNC_TOKEN=TOKEN))
    try:
        line = b""
        while b"next pass in" not in line:
            line = d.stderr.readline()
            assert line, "flsyncd ended early"
        assert flsync.sync_lock_holder(path) == d.pid
        with flsync.Database(path) as db:
            with pytest.raises(flsync.Error) as e:
                db.sync(api, TOKEN)
            assert e.value.code == flsync.FL_ERR_LOCKED
    finally:
        d.send_signal(signal.SIGTERM)
        d.wait(30)
    assert d.returncode == 0
    assert flsync.sync_lock_holder(path) == 0
