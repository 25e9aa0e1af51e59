-- 011_sync_state_local_clock.sql — sync_state keeps, beside the API's clock
-- its windows need, the local clock a person reads ages on.
--
-- A pass stamps last_started, last_success and last_error_at with the
-- server's clock (the Date of its first response): the windows and cadences
-- compare them with the next pass's server time.  A person reading "last
-- success 5m ago" compares with the local clock, and a server whose clock is
-- far from it (flmock starts its own at 2026-01-01) made a pass 25 s old
-- read "339d ago".  These columns hold the local time of the same events,
-- set by the triggers below whenever a writer (the sync, the sign-in state,
-- a PostgreSQL sink) moves the server-clock column, so every writer is
-- covered and none needs to know; a writer that sets a local column itself
-- (a test fixture, an import) keeps its value.  Rows written before this migration have
-- them NULL until their next pass; readers fall back to the server column.

ALTER TABLE sync_state ADD COLUMN local_started INTEGER;   -- unix seconds, local clock
ALTER TABLE sync_state ADD COLUMN local_success INTEGER;   -- unix seconds, local clock
ALTER TABLE sync_state ADD COLUMN local_error_at INTEGER;  -- unix seconds, local clock

CREATE TRIGGER sync_state_local_insert AFTER INSERT ON sync_state BEGIN
	UPDATE sync_state SET
		local_started = coalesce(new.local_started, CASE WHEN new.last_started IS NOT NULL
			THEN CAST(strftime('%s', 'now') AS INTEGER) END),
		local_success = coalesce(new.local_success, CASE WHEN new.last_success IS NOT NULL
			THEN CAST(strftime('%s', 'now') AS INTEGER) END),
		local_error_at = coalesce(new.local_error_at, CASE WHEN new.last_error_at IS NOT NULL
			THEN CAST(strftime('%s', 'now') AS INTEGER) END)
	WHERE stream = new.stream;
END;
CREATE TRIGGER sync_state_local_started AFTER UPDATE OF last_started ON sync_state
WHEN new.last_started IS NOT old.last_started AND new.local_started IS old.local_started BEGIN
	UPDATE sync_state SET local_started = CASE WHEN new.last_started IS NOT NULL
		THEN CAST(strftime('%s', 'now') AS INTEGER) END WHERE stream = new.stream;
END;
CREATE TRIGGER sync_state_local_success AFTER UPDATE OF last_success ON sync_state
WHEN new.last_success IS NOT old.last_success AND new.local_success IS old.local_success BEGIN
	UPDATE sync_state SET local_success = CASE WHEN new.last_success IS NOT NULL
		THEN CAST(strftime('%s', 'now') AS INTEGER) END WHERE stream = new.stream;
END;
CREATE TRIGGER sync_state_local_error AFTER UPDATE OF last_error_at ON sync_state
WHEN new.last_error_at IS NOT old.last_error_at AND new.local_error_at IS old.local_error_at BEGIN
	UPDATE sync_state SET local_error_at = CASE WHEN new.last_error_at IS NOT NULL
		THEN CAST(strftime('%s', 'now') AS INTEGER) END WHERE stream = new.stream;
END;
