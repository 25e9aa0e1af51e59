#!/usr/bin/env python3
"""peer_sync.py — the sync a user would write in an afternoon instead of
running flsyncd: Python 3 standard library only (urllib, json, sqlite3).

It pages every collection by offset (limit=100), stores each object's main
columns plus its raw JSON in one table per entity family, keeps no FTS, no
secondary indexes and no change feed, and commits once at the end.  It reads
what flsyncd reads for one account: self, currencies, jobs, own projects,
own bids and bids on own projects, milestones and milestone requests (both
sides), reviews (both sides), threads, messages, and the users those name.
It does not re-read projects the account bid on, keeps no cursors, and
retries nothing.  bench_vs_python runs it beside flsyncd.

usage: peer_sync.py API_URL TOKEN DB     prints "rows N" at the end
"""
import json
import sqlite3
import sys
import urllib.request

API, TOKEN, DBPATH = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]

SCHEMA = """
CREATE TABLE IF NOT EXISTS currencies (id INTEGER PRIMARY KEY, code TEXT, raw TEXT);
CREATE TABLE IF NOT EXISTS jobs (id INTEGER PRIMARY KEY, name TEXT, raw TEXT);
CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, username TEXT, raw TEXT);
CREATE TABLE IF NOT EXISTS projects (id INTEGER PRIMARY KEY, owner_id INTEGER, title TEXT,
    status TEXT, time_submitted INTEGER, raw TEXT);
CREATE TABLE IF NOT EXISTS bids (id INTEGER PRIMARY KEY, project_id INTEGER, bidder_id INTEGER,
    amount REAL, award_status TEXT, time_submitted INTEGER, raw TEXT);
CREATE TABLE IF NOT EXISTS milestones (id INTEGER PRIMARY KEY, project_id INTEGER,
    amount REAL, status TEXT, raw TEXT);
CREATE TABLE IF NOT EXISTS milestone_requests (id INTEGER PRIMARY KEY, project_id INTEGER,
    amount REAL, status TEXT, raw TEXT);
CREATE TABLE IF NOT EXISTS reviews (project_id INTEGER, from_user_id INTEGER,
    to_user_id INTEGER, rating REAL, raw TEXT, PRIMARY KEY (project_id, from_user_id, to_user_id));
CREATE TABLE IF NOT EXISTS threads (id INTEGER PRIMARY KEY, context_id INTEGER,
    time_updated INTEGER, raw TEXT);
CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY, thread_id INTEGER,
    from_user INTEGER, message TEXT, time_created INTEGER, raw TEXT);
"""


def get(path):
    req = urllib.request.Request(API + path, headers={"Freelancer-OAuth-V1": TOKEN})
    with urllib.request.urlopen(req) as resp:
        return json.load(resp)["result"]


def pages(path, key):
    """Every item of a collection, 100 at a time by offset (lists or id maps)."""
    sep = "&" if "?" in path else "?"
    offset = 0
    while True:
        items = get("%s%slimit=100&offset=%d" % (path, sep, offset)).get(key) or []
        if isinstance(items, dict):
            items = list(items.values())
        yield from items
        if len(items) < 100:
            return
        offset += 100


db = sqlite3.connect(DBPATH)
db.executescript(SCHEMA)
rows = 0
users = set()


def put(table, values, item):
    """Upsert one object: its columns in table order, then its raw JSON."""
    global rows
    marks = ",".join("?" * (len(values) + 1))
    db.execute("INSERT INTO %s VALUES (%s) ON CONFLICT DO UPDATE SET raw = excluded.raw"
               % (table, marks), values + [json.dumps(item)])
    rows += 1


me = get("/api/users/0.1/self/")
uid = me["id"]
put("users", [uid, me.get("username")], me)
for c in get("/api/projects/0.1/currencies/")["currencies"]:
    put("currencies", [c["id"], c.get("code")], c)
for j in get("/api/projects/0.1/jobs/"):
    put("jobs", [j["id"], j.get("name")], j)

for p in pages("/api/projects/0.1/projects/?owners[]=%d&full_description=true"
               "&job_details=true" % uid, "projects"):
    put("projects", [p["id"], p.get("owner_id"), p.get("title"), p.get("status"),
                     p.get("time_submitted")], p)
for who in ("bidders[]", "project_owners[]"):
    for b in pages("/api/projects/0.1/bids/?%s=%d" % (who, uid), "bids"):
        users.update((b.get("bidder_id"), b.get("project_owner_id")))
        put("bids", [b["id"], b.get("project_id"), b.get("bidder_id"), b.get("amount"),
                     b.get("award_status"), b.get("time_submitted")], b)
    for m in pages("/api/projects/0.1/milestones/?%s=%d" % (who, uid), "milestones"):
        put("milestones", [m["transaction_id"], m.get("project_id"), m.get("amount"),
                           m.get("status")], m)
    for m in pages("/api/projects/0.1/milestone_requests/?%s=%d" % (who, uid),
                   "milestone_requests"):
        put("milestone_requests", [m["id"], m.get("project_id"), m.get("amount"),
                                   m.get("status")], m)
for who in ("to_users[]", "from_users[]"):
    for r in pages("/api/projects/0.1/reviews/?%s=%d&ratings=true" % (who, uid), "reviews"):
        users.update((r.get("from_user_id"), r.get("to_user_id")))
        put("reviews", [r.get("project_id"), r.get("from_user_id"), r.get("to_user_id"),
                        r.get("rating")], r)
for t in pages("/api/messages/0.1/threads/?", "threads"):
    users.update(t.get("thread", {}).get("members") or [])
    put("threads", [t["id"], (t.get("thread", {}).get("context") or {}).get("id"),
                    t.get("time_updated")], t)
for m in pages("/api/messages/0.1/messages/?", "messages"):
    users.add(m.get("from_user"))
    put("messages", [m["id"], m.get("thread_id"), m.get("from_user"), m.get("message"),
                     m.get("time_created")], m)

ids = sorted(u for u in users if u and u != uid)
for i in range(0, len(ids), 100):
    q = "&".join("users[]=%d" % u for u in ids[i:i + 100])
    for u in get("/api/users/0.1/users/?" + q)["users"].values():
        put("users", [u["id"], u.get("username")], u)

db.commit()
db.close()
print("rows", rows)
