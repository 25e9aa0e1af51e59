-- 004_action_effects.sql — what queued write actions need beside the queue.
--
-- actions.undo records how to take an action's optimistic effect back (the
-- local row it inserted, or the previous values of the columns it changed),
-- written in the same transaction as the effect.  local_action on entity rows
-- says which queued action a pending row is waiting on ('milestone.release'
-- shows a milestone as releasing).

ALTER TABLE actions ADD COLUMN undo TEXT CHECK (undo IS NULL OR json_valid(undo));

ALTER TABLE projects ADD COLUMN local_action TEXT;
ALTER TABLE bids ADD COLUMN local_action TEXT;
ALTER TABLE milestones ADD COLUMN local_action TEXT;
ALTER TABLE milestone_requests ADD COLUMN local_action TEXT;
ALTER TABLE reviews ADD COLUMN local_action TEXT;
ALTER TABLE threads ADD COLUMN local_action TEXT;
ALTER TABLE messages ADD COLUMN local_action TEXT;

CREATE INDEX actions_depends ON actions(depends_on) WHERE depends_on IS NOT NULL;

-- Everything waiting on the API, as a person would ask for it.
CREATE VIEW pending_actions AS
SELECT a.id, a.kind, a.state, a.attempts, a.local_ref, a.depends_on,
       a.error_code, a.error_message,
       datetime(a.created_at, 'unixepoch') AS queued_at,
       CASE WHEN a.next_attempt > a.updated_at THEN datetime(a.next_attempt, 'unixepoch') END AS retry_at
FROM actions a
WHERE a.state IN ('queued', 'sending', 'failed');
