-- 010_webhooks.sql — webhook deliveries, the hints they leave, and the
-- webhook settings and health a status display reads.
--
-- A delivery is a hint, never data: it is stored raw (received_at on the
-- local clock, the body, its SHA-256) and mapped to a targeted read in
-- webhook_hints, keyed by (kind, id) so that ten events for one thread make
-- one read.  A delivery whose body was seen before is a duplicate: its row
-- is kept for the counts (body NULL, the first copy has it) and it leaves no
-- hint.  The sync pass's "webhook_hints" stream performs the reads and
-- deletes each hint in the transaction that stores what it brought.

CREATE TABLE webhook_deliveries (
	id          INTEGER PRIMARY KEY,
	received_at INTEGER NOT NULL,              -- unix seconds, local clock
	sha256      TEXT NOT NULL,                 -- hex SHA-256 of the body
	body        TEXT,                          -- as received; NULL for a duplicate
	duplicate   INTEGER NOT NULL DEFAULT 0 CHECK (duplicate IN (0, 1)),
	event_type  TEXT,                          -- the body's "type", when it has one
	outcome     TEXT NOT NULL CHECK (outcome IN ('hint', 'pass', 'duplicate'))
) STRICT;
CREATE INDEX webhook_deliveries_sha256 ON webhook_deliveries(sha256);
CREATE INDEX webhook_deliveries_received ON webhook_deliveries(received_at);

-- Targeted reads waiting for the next pass:
--   thread      that thread's new messages
--   bid         that bid
--   project     that project
--   milestones  that project's milestones and milestone requests
--   pass        (id 0) a delivery that could not be mapped: an early incremental pass
CREATE TABLE webhook_hints (
	kind           TEXT NOT NULL CHECK (kind IN ('thread', 'bid', 'project', 'milestones', 'pass')),
	id             INTEGER NOT NULL,
	since          INTEGER NOT NULL,           -- earliest event time (server clock when the event says)
	events         INTEGER NOT NULL DEFAULT 1, -- deliveries coalesced into this hint
	first_received INTEGER NOT NULL,
	gen            INTEGER NOT NULL DEFAULT 1, -- bumped by each delivery: a read deletes only what it saw
	PRIMARY KEY (kind, id)
) STRICT, WITHOUT ROWID;

-- What the deliveries announced lately (pruned after two days): polling
-- rows for anything not in here are the lost-delivery signal.
CREATE TABLE webhook_seen (
	kind        TEXT NOT NULL,
	id          INTEGER NOT NULL,
	received_at INTEGER NOT NULL,
	PRIMARY KEY (kind, id)
) STRICT, WITHOUT ROWID;

-- Webhooks as the last register or list call saw them.
CREATE TABLE webhooks (
	id              INTEGER PRIMARY KEY,
	developer_id    INTEGER,
	user_id         INTEGER,
	url             TEXT NOT NULL,
	inactive        INTEGER NOT NULL CHECK (inactive IN (0, 1)),
	inactive_reason TEXT,
	time_created    INTEGER,
	listed_at       INTEGER NOT NULL            -- unix seconds, local clock
) STRICT;

-- Settings and counters: secret_path, listen_host, listen_port,
-- registered_at, lost_seq, lost_at, lost_last, lost_total, unmapped_total.
CREATE TABLE webhook_state (
	key  TEXT PRIMARY KEY,
	text TEXT,
	num  INTEGER
) STRICT;
