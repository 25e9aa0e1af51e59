#!/usr/bin/env python3
"""fts_options.py — what each FTS5 option would cost the sync and give
`flsync search`, measured on the messages and projects of a synced database.

For every option set, the rows are indexed in 5,000-row batches, one
INSERT ... SELECT and one commit a batch, as flsyncd's batches do
(lib/sync_fts.c); then the query shapes `flsync search` runs are timed:
words ranked by bm25 with a snippet, a "phrase", a prefix*, and a title:word
column filter on projects.  A query shape the options cannot serve (a phrase
needs detail=full, a column filter detail=column or more) is reported as
such.  The schema's choice is the first row: detail=full, columnsize=1, no
prefix index.

usage: fts_options.py DB     (a database flsyncd synced, e.g. by bench_sync)
"""
import os
import sqlite3
import statistics
import sys
import tempfile
import time

OPTIONS = [
    ("schema: detail=full, columnsize=1", ""),
    ("columnsize=0", ", columnsize=0"),
    ("detail=column", ", detail=column"),
    ("detail=none", ", detail=none"),
    ("prefix='2 3'", ", prefix='2 3'"),
]
TOKENIZE = "tokenize='unicode61 remove_diacritics 2'"
BATCH = 5000


def build(con, name, opts, content, cols):
    con.execute("CREATE VIRTUAL TABLE %s USING fts5(%s, content='%s', content_rowid='id', %s%s)"
                % (name, ", ".join(cols), content, TOKENIZE, opts))
    ids = [r[0] for r in con.execute("SELECT id FROM %s ORDER BY id" % content)]
    t0 = time.process_time()
    for i in range(0, len(ids), BATCH):
        chunk = ids[i:i + BATCH]
        con.execute("BEGIN")
        con.execute("INSERT INTO %s(rowid, %s) SELECT id, %s FROM %s WHERE id BETWEEN ? AND ?"
                    % (name, ", ".join(cols), ", ".join(cols), content), (chunk[0], chunk[-1]))
        con.execute("COMMIT")
    return time.process_time() - t0, len(ids)


def timed(con, sql, arg, runs=7):
    """Median of runs; a query past a second is timed once."""
    times = []
    try:
        for _ in range(runs):
            t0 = time.perf_counter()
            con.execute(sql, (arg,)).fetchall()
            times.append(time.perf_counter() - t0)
            if times[-1] > 1.0:
                break
    except sqlite3.OperationalError as e:
        return "n/a (%s)" % str(e).split(":")[0][:28]
    return "%.2f ms" % (1e3 * statistics.median(times))


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__.splitlines()[-1])
    tmp = tempfile.mkdtemp(prefix="flfts.")
    path = os.path.join(tmp, "fts.db")
    con = sqlite3.connect(path, isolation_level=None)
    con.executescript("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; "
                      "PRAGMA cache_size = -8000; PRAGMA temp_store = MEMORY;")
    con.execute("ATTACH ? AS src", (sys.argv[1],))
    con.execute("CREATE TABLE messages AS SELECT id, message FROM src.messages")
    con.execute("CREATE TABLE projects AS SELECT id, title, description FROM src.projects WHERE raw IS NOT NULL")
    # The most common longer word, a phrase of two words of a message with it, a prefix of it.
    counts = {}
    for (text,) in con.execute("SELECT message FROM messages WHERE message IS NOT NULL LIMIT 2000"):
        for w in text.split():
            if len(w) >= 6 and w.isalpha() and w.isascii() and w.islower():
                counts[w] = counts.get(w, 0) + 1
    word = max(counts, key=counts.get)
    phrase = '"%s"' % " ".join(con.execute("SELECT message FROM messages WHERE message LIKE ? LIMIT 1",
                                           ("%% %s %%" % word,)).fetchone()[0].split()[:2])
    print("%d messages, %d projects; queries: %s | %s | %s* | title:%s"
          % (con.execute("SELECT count(*) FROM messages").fetchone()[0],
             con.execute("SELECT count(*) FROM projects").fetchone()[0], word, phrase, word[:3], word))
    print("%-36s %9s %9s %9s %11s %11s %11s %11s" % ("options", "msg CPU s", "prj CPU s", "index MB",
                                                       "bm25+snip", "phrase", "prefix*", "title:w"))
    for i, (label, opts) in enumerate(OPTIONS):
        m_s, _ = build(con, "m%d" % i, opts, "messages", ["message"])
        p_s, _ = build(con, "p%d" % i, opts, "projects", ["title", "description"])
        size = con.execute("SELECT sum(pgsize) FROM dbstat WHERE name GLOB 'm%d_*' OR name GLOB 'p%d_*'"
                           % (i, i)).fetchone()[0] / 1e6
        q = ("SELECT rowid, snippet(m%d, 0, '[', ']', '…', 16), bm25(m%d) FROM m%d WHERE m%d MATCH ? "
             "ORDER BY bm25(m%d) LIMIT 20" % (i, i, i, i, i))
        qp = "SELECT rowid FROM p%d WHERE p%d MATCH ? ORDER BY bm25(p%d, 10.0, 1.0) LIMIT 20" % (i, i, i)
        print("%-36s %9.2f %9.2f %9.1f %11s %11s %11s %11s" % (
            label, m_s, p_s, size, timed(con, q, word), timed(con, q, phrase), timed(con, q, word[:3] + "*"),
            timed(con, qp, "title:" + word)))
    con.close()
    for f in os.listdir(tmp):
        os.unlink(os.path.join(tmp, f))
    os.rmdir(tmp)


if __name__ == "__main__":
    main()
