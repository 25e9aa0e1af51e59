-- 013_views_say_what_they_mean.sql — each view's rows and status words match
-- its name and the words flsync ui uses; docs/views.md lists them.
--
-- my_active_bids held every bid of the account without a final award
-- status, on closed projects too, and showed a bid never awarded as
-- "pending", which in the API (Award Bid, "award_status") means the owner
-- has offered the award and waits for the bidder's answer.  It now holds the
-- bids still in play: never awarded on a project open for bids ("open", as
-- the UI says), an award offered and not yet answered ("pending"), or
-- awarded and the work not complete ("awarded").
-- open_projects_with_bids held frozen projects (awarded, closed for bids);
-- it now holds the projects whose status is active.
-- unread_threads names who sent the newest message ("You" for the account),
-- in a column after the others (the PostgreSQL mirror's views can only grow
-- at the end).

DROP VIEW my_active_bids;
CREATE VIEW my_active_bids AS
SELECT b.id, b.project_id, p.title AS project_title, p.status AS project_status,
       b.amount, c.code AS currency, b.period,
       coalesce(b.award_status, 'open') AS award_status, b.frontend_bid_status,
       b.local_state, datetime(b.time_submitted, 'unixepoch') AS submitted
FROM bids b
JOIN self s ON b.bidder_id = s.id
LEFT JOIN projects p ON p.id = b.project_id
LEFT JOIN currencies c ON c.id = p.currency_id
WHERE b.deleted = 0 AND coalesce(b.retracted, 0) = 0
  AND coalesce(p.deleted, 0) = 0
  AND CASE coalesce(b.award_status, 'open')
        WHEN 'open' THEN coalesce(p.status, 'active') = 'active'
        WHEN 'pending' THEN coalesce(p.status, 'active') IN ('active', 'frozen')
        WHEN 'awarded' THEN coalesce(p.status, 'active') NOT IN ('closed', 'complete')
                            AND coalesce(b.complete_status, '') <> 'complete'
        ELSE 0
      END;

DROP VIEW open_projects_with_bids;
CREATE VIEW open_projects_with_bids AS
SELECT p.id, p.title, p.status, p.owner_id, p.owner_id = (SELECT id FROM self) AS is_mine,
       c.code AS currency, p.budget_minimum, p.budget_maximum,
       count(b.id) AS bids, round(avg(b.amount), 2) AS avg_bid, min(b.amount) AS lowest_bid,
       datetime(p.time_submitted, 'unixepoch') AS submitted
FROM projects p
LEFT JOIN bids b ON b.project_id = p.id AND b.deleted = 0 AND coalesce(b.retracted, 0) = 0
LEFT JOIN currencies c ON c.id = p.currency_id
WHERE p.deleted = 0 AND p.raw IS NOT NULL AND coalesce(p.status, 'active') = 'active'
GROUP BY p.id;

DROP VIEW unread_threads;
CREATE VIEW unread_threads AS
SELECT t.id, t.context_type, t.context_id, pr.title AS project_title,
       datetime(t.time_updated, 'unixepoch') AS updated,
       lm.message AS last_message,
       CASE WHEN lm.from_user_id = (SELECT id FROM self) THEN 'You'
            ELSE coalesce(u.display_name, u.username, 'user ' || lm.from_user_id) END AS last_from
FROM threads t
LEFT JOIN projects pr ON t.context_type = 'project' AND pr.id = t.context_id
LEFT JOIN messages lm ON lm.id = (SELECT m.id FROM messages m WHERE m.thread_id = t.id
                                  ORDER BY m.time_created DESC, m.id DESC LIMIT 1)
LEFT JOIN users u ON u.id = lm.from_user_id
WHERE t.is_read = 0 AND t.raw IS NOT NULL;
