"""Named consumers of the change feed through the Python binding: a
registered consumer is never pruned past, an unregistered reader whose
position was pruned gets FL_ERR_PRUNED, coalescing keeps one change per row
for readers that have not seen them, and follow() walks a consumer along.

Run by meson (suite python) like test_binding.py.
"""
import os
import subprocess

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


def flip(db, n=1):
    for _ in range(n):
        db.query("UPDATE threads SET is_read = 1 - is_read WHERE id = 502")


def test_a_registered_consumer_is_never_pruned_past(db):
    start = db.changes_latest()
    db.changes_register("indexer", start)
    assert db.changes_position("indexer") == start
    flip(db, 3)
    db.changes_prune(db.changes_latest() + 1)
    # the consumer still gets every change after its position
    assert [c["table"] for c in db.changes_since(start)] == ["threads"] * 3
    assert db.changes_horizon() < start
    # a reader further behind than the consumer is told to re-read
    with pytest.raises(flsync.Error) as e:
        db.changes_since(0)
    assert e.value.code == flsync.FL_ERR_PRUNED
    # once it acks, what it has handled may go (but the change at its position)
    newest = db.changes_latest()
    db.changes_ack("indexer", newest)
    assert db.changes_prune(newest + 1) == 3
    assert db.changes_since(newest) == []
    db.changes_unregister("indexer")
    assert db.changes_position("indexer") is None
    with pytest.raises(flsync.Error) as e:
        db.changes_ack("indexer", newest)
    assert e.value.code == flsync.FL_ERR_NOT_FOUND


def test_an_unregistered_reader_past_the_horizon_gets_pruned(db, path):
    old = 1
    flip(db, 2)
    import sqlite3
    raw = sqlite3.connect(path)
    raw.execute("DELETE FROM changes WHERE seq < (SELECT max(seq) FROM changes)")
    raw.commit()
    raw.close()
    assert db.changes_horizon() > old
    with pytest.raises(flsync.Error) as e:
        db.changes_since(old)
    assert e.value.code == flsync.FL_ERR_PRUNED and e.value.name == "FL_ERR_PRUNED"
    with pytest.raises(flsync.Error) as e:
        db.changes_register("late", old)
    assert e.value.code == flsync.FL_ERR_PRUNED
    # from the newest on, it works again
    latest = db.changes_latest()
    db.changes_register("late", latest)
    flip(db)
    assert len(db.changes_since(latest)) == 1


def test_follow_registers_then_walks_along(db):
    changes, pos = db.follow("app")
    assert changes == [] and pos == db.changes_latest()
    assert db.changes_position("app") == pos
    flip(db, 2)
    changes, newest = db.follow("app")
    assert len(changes) == 2 and newest == db.changes_latest()
    db.changes_ack("app", newest)
    assert db.follow("app") == ([], newest)


def test_bad_names_are_misuse(db):
    for bad in ("", "x" * 65, "sink.postgres.flsync"):
        with pytest.raises(flsync.Error) as e:
            db.changes_register(bad, 0)
        assert e.value.code == flsync.FL_ERR_MISUSE
    with pytest.raises(flsync.Error) as e:
        db.changes_register("future", db.changes_latest() + 5)
    assert e.value.code == flsync.FL_ERR_MISUSE


def test_trim_coalesces_and_compact_truncates(db, path):
    start = db.changes_latest()
    flip(db, 5)
    r = db.changes_trim()
    # the five flips, and the fixture's own insert of the thread, are one change now
    assert r["coalesced"] >= 4 and r["pruned"] == 0 and r["held"] == -1
    assert [(c["table"], c["row_id"]) for c in db.changes_since(start)] == [("threads", 502)]
    # keep = 0: all but the newest go; the horizon says so
    r = db.changes_trim(0)
    assert r["pruned"] > 0 and db.query("SELECT count(*) AS n FROM changes")[0]["n"] == 1
    horizon = db.changes_horizon()
    assert start <= horizon < db.changes_latest()
    assert [c["seq"] for c in db.changes_since(horizon)] == [db.changes_latest()]
    c = db.compact()
    assert c["checkpointed"] and os.path.getsize(path + "-wal") == 0
    # a reader at start lost nothing (its changes live on in the newest); one before it did
    assert len(db.changes_since(start)) == 1
    with pytest.raises(flsync.Error) as e:
        db.changes_since(start - 10)
    assert e.value.code == flsync.FL_ERR_PRUNED


def test_an_insert_then_updates_stay_an_insert(db):
    start = db.changes_latest()
    db.query("INSERT INTO currencies(id, code, name, sign, country, exchange_rate, raw) "
             "VALUES (999, 'XTS', 'Test', 'T', 'XX', 1.0, '{}')")
    for rate in (1.5, 2.0, 2.5):
        db.query("UPDATE currencies SET exchange_rate = ? WHERE id = 999", rate)
    db.changes_trim()
    assert [(c["table"], c["row_id"], c["op"]) for c in db.changes_since(start)] == [("currencies", 999, "insert")]


def test_an_update_after_a_held_insert_stays_an_update(db):
    start = db.changes_latest()
    db.query("INSERT INTO currencies(id, code, name, sign, country, exchange_rate, raw) "
             "VALUES (777, 'ZZZ', 'Test', 'T', 'XX', 1.0, '{}')")
    read = db.changes_latest()
    db.changes_register("app", read)  # the app has handled the insert
    db.query("UPDATE currencies SET exchange_rate = 2.0 WHERE id = 777")
    db.query("INSERT INTO currencies(id, code, name, sign, country, exchange_rate, raw) "
             "VALUES (778, 'ZZY', 'Test', 'T', 'XX', 1.0, '{}')")
    db.changes_trim()
    # what the app has not read yet is told as it happened: 777 updated, 778 inserted
    assert [(c["table"], c["row_id"], c["op"]) for c in db.changes_since(read)] == [
        ("currencies", 777, "update"), ("currencies", 778, "insert")]
    # a reader from before the insert still sees the row (an update: readers upsert)
    assert ("currencies", 777) in [(c["table"], c["row_id"]) for c in db.changes_since(start)]


def test_a_long_history_is_trimmed_in_slices(db, path):
    """A feed from before pruning (coalesced_through 0, every change kept) is
    coalesced and pruned in slices, each its own write transaction, so a
    writer never waits for the whole history; what one trim leaves (it
    stops after a time budget), the next goes on with."""
    import sqlite3
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) "
                "INSERT INTO currencies(id, code, name, exchange_rate) SELECT 100000 + i, 'C' || i, 'c', 1.0 FROM n")
    for _ in range(3):
        raw.execute("UPDATE currencies SET exchange_rate = exchange_rate + 1 WHERE id > 100000")
    raw.execute("UPDATE changes SET at = at - 40 * 86400 WHERE seq <= (SELECT max(seq) - 5000 FROM changes)")
    raw.execute("UPDATE feed_state SET coalesced_through = 0 WHERE id = 1")
    young = raw.execute("SELECT count(DISTINCT row_id) FROM changes WHERE tbl = 'currencies' AND row_id > 100000 "
                        "AND seq > (SELECT max(seq) - 5000 FROM changes)").fetchone()[0]
    raw.execute("CREATE TABLE steps (what TEXT, through INTEGER)")
    raw.execute("CREATE TRIGGER coalesce_step AFTER UPDATE OF coalesced_through ON feed_state "
                "BEGIN INSERT INTO steps VALUES ('coalesce', new.coalesced_through); END")
    raw.execute("CREATE TRIGGER prune_step AFTER UPDATE OF pruned_through ON feed_state "
                "WHEN new.pruned_through > old.pruned_through "
                "BEGIN INSERT INTO steps VALUES ('prune', new.pruned_through); END")
    latest = db.changes_latest()
    for _ in range(100):
        db.changes_trim(30 * 86400)
        if raw.execute("SELECT coalesced_through FROM feed_state").fetchone()[0] >= latest and \
                raw.execute("SELECT count(*) FROM changes WHERE at < strftime('%s', 'now') - 30 * 86400 "
                            "AND seq < ?", (latest,)).fetchone()[0] == 0:
            break
    coalesced = [r[0] for r in raw.execute("SELECT through FROM steps WHERE what = 'coalesce' ORDER BY rowid")]
    pruned = [r[0] for r in raw.execute("SELECT through FROM steps WHERE what = 'prune' ORDER BY rowid")]
    assert len(coalesced) >= 3 and coalesced == sorted(coalesced) and coalesced[-1] == latest, coalesced[:10]
    assert len(pruned) >= 2 and pruned == sorted(pruned), pruned[:10]
    # the end is what one trim of everything gives: one change per row, the aged ones pruned
    assert raw.execute("SELECT count(*) FROM changes GROUP BY tbl, row_id ORDER BY 1 DESC LIMIT 1").fetchone()[0] == 1
    assert raw.execute("SELECT count(*) FROM changes WHERE at < strftime('%s', 'now') - 30 * 86400").fetchone()[0] == 0
    assert raw.execute("SELECT count(*) FROM changes WHERE tbl = 'currencies' AND row_id > 100000").fetchone()[0] == young
    raw.close()


def test_an_old_file_without_incremental_vacuum_is_converted_once(tmp_path):
    import sqlite3
    path = str(tmp_path / "old.db")
    subprocess.run([os.environ["FL_CLI_FIXTURE"], path, os.environ["FL_CLI_FIXTURE_SQL"]], check=True)
    # as flsync made files before schema 11: no auto_vacuum
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute("PRAGMA auto_vacuum = NONE")
    raw.execute("VACUUM")
    assert raw.execute("PRAGMA auto_vacuum").fetchone()[0] == 0
    raw.execute("CREATE TABLE scratch (b BLOB)")
    raw.executemany("INSERT INTO scratch VALUES (zeroblob(4000))", [()] * 500)
    raw.execute("DROP TABLE scratch")
    assert raw.execute("PRAGMA freelist_count").fetchone()[0] > 400
    raw.close()
    before = os.path.getsize(path)
    with flsync.Database(path) as db:
        c = db.compact()
        assert c["vacuumed"] and c["pages_freed"] > 400
        assert db.query("SELECT * FROM pragma_auto_vacuum")[0]["auto_vacuum"] == 2
        # from now on freed pages go back without a VACUUM
        assert not db.compact()["vacuumed"]
    assert os.path.getsize(path) < before / 2


FAILED_VACUUM = """
import resource, signal, sys, flsync
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536))  # a full disk, as seen by this process
with flsync.Database(sys.argv[1]) as db:
    try:
        db.compact()
        print("compacted")
    except flsync.Error as e:
        print(e.name, e.message)
"""


def test_a_failed_vacuum_is_not_tried_again_every_pass(tmp_path):
    import sqlite3
    import sys
    path = str(tmp_path / "old.db")
    subprocess.run([os.environ["FL_CLI_FIXTURE"], path, os.environ["FL_CLI_FIXTURE_SQL"]], check=True)
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute("PRAGMA auto_vacuum = NONE")
    raw.execute("VACUUM")
    raw.execute("CREATE TABLE scratch (b BLOB)")
    raw.executemany("INSERT INTO scratch VALUES (zeroblob(4000))", [()] * 500)
    raw.execute("DROP TABLE scratch")
    raw.close()
    p = subprocess.run([sys.executable, "-c", FAILED_VACUUM, path], capture_output=True, text=True, timeout=120)
    assert p.stdout.startswith("FL_ERR_IO") and "vacuum" in p.stdout, p.stdout + p.stderr
    assert "not tried again" in p.stdout
    with flsync.Database(path) as db:
        # remembered where flsync status shows it; the next passes do not rewrite the file again
        row = db.query("SELECT failures, last_error FROM sync_state WHERE stream = 'vacuum'")
        assert row and row[0]["failures"] == 1 and "not tried again" in row[0]["last_error"]
        c = db.compact()
        assert not c["vacuumed"] and c["checkpointed"]
        assert db.query("SELECT * FROM pragma_auto_vacuum")[0]["auto_vacuum"] == 0
        assert db.query("SELECT * FROM pragma_temp_store")[0]["temp_store"] == 2
        # a day later it is tried again, and once it has run the note goes
        db.query("UPDATE sync_state SET last_error_at = last_error_at - 90000 WHERE stream = 'vacuum'")
        assert db.compact()["vacuumed"]
        assert db.query("SELECT count(*) AS n FROM sync_state WHERE stream = 'vacuum'")[0]["n"] == 0


def test_a_new_file_is_private_and_incremental(tmp_path):
    path = str(tmp_path / "new.db")
    old = os.umask(0o022)
    try:
        with flsync.Database(path) as db:
            assert db.query("SELECT * FROM pragma_auto_vacuum")[0]["auto_vacuum"] == 2
            db.query("UPDATE sync_state SET cursor = 1 WHERE 0")
            for suffix in ("", "-wal", "-shm"):
                assert os.stat(path + suffix).st_mode & 0o777 == 0o600, suffix
    finally:
        os.umask(old)
