"""test_pg_json.py FLSYNC FLSYNCD FLMOCK — JSON that SQLite takes and
PostgreSQL's jsonb refuses, in the typed mirror:

- a raw holding a lone UTF-16 surrogate escape ("\\ud83d": a text cut in
  the middle of an emoji; SQLite's json_valid takes it), a lone low one,
  and \\u0000, is mirrored with U+FFFD in its place; a surrogate pair, and
  an escaped backslash before "u", stay as they are; the run succeeds and
  the next one is up to date;
- a mirror made before the typing (raw as text) holding such a value is
  converted by the next pgsync, the same way.

Exit 77 (skipped) without the PostgreSQL server binaries.
"""
import os
import sqlite3

import pgsuite

S = pgsuite.Suite('pg-json')
check = S.check
# the message text as JSON escapes, and what jsonb should hold
CASES = [
    (r'trunc \ud83d', 'trunc \ufffd'),
    (r'\udc00 low', '\ufffd low'),
    (r'pair \ud83d\ude00 ok', 'pair \U0001F600 ok'),
    (r'lit \\ud83d', 'lit \\ud83d'),
    (r'\ud83d\ud83d\ude00', '\ufffd\U0001F600'),
    (r'nul \u0000', 'nul \ufffd'),
]


def edit(db, cases):
    """Put each case's escapes into a message's raw, as a hand-edited (or cut) API text; the ids."""
    con = sqlite3.connect(db)
    ids = [r[0] for r in con.execute('SELECT id FROM messages ORDER BY id LIMIT ?', (len(cases),))]
    for mid, (escaped, _) in zip(ids, cases):
        con.execute("UPDATE messages SET raw = json_set(raw, '$.message', json('\"' || ? || '\"')) WHERE id = ?",
                    (escaped, mid))
        check(con.execute('SELECT json_valid(raw) FROM messages WHERE id = ?', (mid,)).fetchone()[0] == 1,
              'SQLite takes %s as JSON' % escaped)
    con.commit()
    con.close()
    return ids


def mirrored(ids, cases, what):
    for mid, (escaped, want) in zip(ids, cases):
        got = S.pg.psql("SELECT raw->>'message' FROM flsync.messages WHERE account = 'json' AND id = %d" % mid,
                        csv_out=True)
        check(got == [[want]], '%s: %s mirrored as %r' % (what, escaped, want), got)


def run_tests():
    db = os.path.join(S.tmp, 'json.db')
    S.sync(db, S.start_mock('--seed', '41', '--token', 'tok'), 'tok')
    S.pgsync(db, 'json', what='the first run')
    ids = edit(db, CASES)
    out = S.pgsync(db, 'json', what='a run with surrogate escapes')
    check('nothing of this run was kept' not in out, 'the run kept what it sent', out[-1500:])
    mirrored(ids, CASES, 'a new row')
    out = S.pgsync(db, 'json', what='the run after')
    check('up to date' in out, 'the next run is up to date (the feed is not held)', out[-1500:])

    # A mirror made before the typing: raw is text, and holds the escapes as they came.
    S.pg.psql("DO $$DECLARE v record; BEGIN FOR v IN SELECT table_name FROM information_schema.views "
              "WHERE table_schema = 'flsync' LOOP EXECUTE format('DROP VIEW IF EXISTS flsync.%I CASCADE', "
              "v.table_name); END LOOP; END$$")
    S.pg.psql('ALTER TABLE flsync.messages ALTER COLUMN raw TYPE text USING raw::text')
    for mid, (escaped, _) in zip(ids, CASES):
        S.pg.psql("UPDATE flsync.messages SET raw = '%s' WHERE account = 'json' AND id = %d"
                  % (('{"message": "%s"}' % escaped).replace("'", "''"), mid))
    S.pg.psql("DELETE FROM flsync.mirror_meta WHERE key = 'views'")
    S.pgsync(db, 'json', what='the run that converts an old mirror')
    types = S.pg.psql("SELECT data_type FROM information_schema.columns WHERE table_schema = 'flsync' "
                      "AND table_name = 'messages' AND column_name = 'raw'", csv_out=True)
    check(types == [['jsonb']], 'the old mirror is converted to jsonb', types)
    mirrored(ids, CASES, 'a converted row')


S.run(run_tests)
