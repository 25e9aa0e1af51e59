-- 009_changes_local_action.sql — the change feed records an update that
-- changes only local_action.  Migration 004 added local_action to the entity
-- tables the queue acts on but left their _changes_update triggers listing
-- the columns of 003, so such an update went unrecorded (every writer so far
-- also set local_state, which is listed).  Each trigger is made again with
-- the same body and local_action among its columns (003: a migration that
-- adds a column to an entity table must re-create that table's trigger).

DROP TRIGGER projects_changes_update;
CREATE TRIGGER projects_changes_update AFTER UPDATE OF
	id, owner_id, title, seo_url, preview_description, description, type,
	status, sub_status, frontend_project_status, currency_id, budget_minimum,
	budget_maximum, bid_count, bid_avg, language, hireme, nonpublic,
	time_submitted, time_updated, deleted, local_state, local_id, raw, local_action
ON projects BEGIN
	INSERT INTO changes(tbl, row_id, op, at) VALUES ('projects', new.id, 'update', strftime('%s', 'now'));
END;

DROP TRIGGER bids_changes_update;
CREATE TRIGGER bids_changes_update AFTER UPDATE OF
	id, project_id, bidder_id, project_owner_id, amount, period, description,
	award_status, paid_status, complete_status, frontend_bid_status, retracted,
	highlighted, shortlisted, time_submitted, time_awarded, time_accepted,
	deleted, local_state, local_id, raw, local_action
ON bids BEGIN
	INSERT INTO changes(tbl, row_id, op, at) VALUES ('bids', new.id, 'update', strftime('%s', 'now'));
END;

DROP TRIGGER milestones_changes_update;
CREATE TRIGGER milestones_changes_update AFTER UPDATE OF
	id, project_id, bid_id, bidder_id, project_owner_id, currency_id, amount,
	status, reason, description, is_from_prepaid, time_created, local_state,
	local_id, raw, local_action
ON milestones BEGIN
	INSERT INTO changes(tbl, row_id, op, at) VALUES ('milestones', new.id, 'update', strftime('%s', 'now'));
END;

DROP TRIGGER milestone_requests_changes_update;
CREATE TRIGGER milestone_requests_changes_update AFTER UPDATE OF
	id, project_id, bid_id, bidder_id, project_owner_id, currency_id, amount,
	status, description, time_requested, local_state, local_id, raw, local_action
ON milestone_requests BEGIN
	INSERT INTO changes(tbl, row_id, op, at) VALUES ('milestone_requests', new.id, 'update', strftime('%s', 'now'));
END;

DROP TRIGGER reviews_changes_update;
CREATE TRIGGER reviews_changes_update AFTER UPDATE OF
	project_id, from_user_id, to_user_id, role, status, rating, description,
	paid_amount, bid_amount, currency_id, review_type, rating_communication,
	rating_expertise, rating_hire_again, rating_quality, rating_professionalism,
	time_submitted, local_state, raw, local_action
ON reviews BEGIN
	INSERT INTO changes(tbl, row_id, op, at) VALUES ('reviews', new.rowid, 'update', strftime('%s', 'now'));
END;

DROP TRIGGER threads_changes_update;
CREATE TRIGGER threads_changes_update AFTER UPDATE OF
	id, thread_type, context_type, context_id, owner_id, folder, is_read,
	is_muted, time_created, time_updated, time_read, local_state, local_id, raw, local_action
ON threads BEGIN
	INSERT INTO changes(tbl, row_id, op, at) VALUES ('threads', new.id, 'update', strftime('%s', 'now'));
END;

DROP TRIGGER messages_changes_update;
CREATE TRIGGER messages_changes_update AFTER UPDATE OF
	id, thread_id, from_user_id, message, message_source, client_message_id,
	parent_id, time_created, time_updated, remove_reason, local_state, local_id,
	raw, local_action
ON messages BEGIN
	INSERT INTO changes(tbl, row_id, op, at) VALUES ('messages', new.id, 'update', strftime('%s', 'now'));
END;
