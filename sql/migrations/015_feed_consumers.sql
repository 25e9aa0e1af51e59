-- 015_feed_consumers.sql — the change feed's retention: named consumer
-- positions, the horizon pruning has reached, and the index coalescing uses.
--
-- feed_consumers: an app registered by name (fl_changes_register()) holds
-- the feed from its position on: flsyncd's pruning (fl_changes_trim())
-- never deletes a change after it.  A PostgreSQL sink holds its position in
-- its sync_state row "sink.*" (cursor), as before; both count as held.
--
-- feed_state.pruned_through: the newest seq whose change may be gone for
-- good.  A reader whose `since` is older is told to re-read everything
-- (FL_ERR_PRUNED).  Since coalescing (below) leaves holes in the middle of
-- the feed, "the oldest seq kept is since + 1" no longer tells a pruned
-- feed from a coalesced one: this does.  The trigger changes_pruned moves it
-- on a deletion that loses information, by whoever makes it (the sqlite3
-- shell too): a change deleted while no newer change of the same row is
-- left.  Deleting a change that a newer one of the same row covers
-- (coalescing) loses nothing, for any reader: whoever had not seen the old
-- one sees the newer one.  fl_changes_trim() and fl_changes_prune() set it
-- before they delete, so the trigger's lookup stays one comparison there.
--
-- feed_state.coalesced_through: the newest seq coalescing has looked at;
-- each run looks only at the changes after it, so its cost is the pass's
-- changes, not the feed's.
--
-- changes_row: (tbl, row_id) -> seq, for coalescing and the trigger.

CREATE TABLE feed_consumers (
	name          TEXT PRIMARY KEY,   -- chosen by the app: "myapp", "crm-export"
	position      INTEGER NOT NULL,   -- the newest seq it has handled
	registered_at INTEGER NOT NULL,   -- unix seconds
	acked_at      INTEGER NOT NULL    -- unix seconds of its last fl_changes_ack()
) STRICT;

CREATE TABLE feed_state (
	id                INTEGER PRIMARY KEY CHECK (id = 1),
	pruned_through    INTEGER NOT NULL,  -- changes up to here may be gone
	coalesced_through INTEGER NOT NULL   -- coalescing has looked up to here
) STRICT;

-- A feed pruned before this migration (fl_changes_prune() cut its front) is
-- pruned through the seq before its oldest change.
INSERT INTO feed_state(id, pruned_through, coalesced_through)
VALUES (1, coalesce((SELECT min(seq) - 1 FROM changes), 0), 0);

CREATE INDEX changes_row ON changes(tbl, row_id);

CREATE TRIGGER changes_pruned AFTER DELETE ON changes
WHEN old.seq > (SELECT pruned_through FROM feed_state WHERE id = 1)
 AND NOT EXISTS (SELECT 1 FROM changes c WHERE c.tbl = old.tbl AND c.row_id = old.row_id AND c.seq > old.seq)
BEGIN
	UPDATE feed_state SET pruned_through = old.seq WHERE id = 1 AND pruned_through < old.seq;
END;
