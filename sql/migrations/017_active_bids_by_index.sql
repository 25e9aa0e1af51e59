-- 017_active_bids_by_index.sql — my_active_bids read through bids_bidder_award
-- again.  Migration 013 gave the view the rows its name says, but its WHERE
-- no longer named coalesce(award_status, 'pending'), so SQLite read every
-- bid the account ever placed through bids_bidder (27 ms where the index on
-- the award status (migration 005) reads only the bids in play, on
-- bench_query's world).  Every row the view keeps has a null, 'pending' or
-- 'awarded' award status, so the added condition changes no row.

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
WHERE coalesce(b.award_status, 'pending') IN ('pending', 'awarded')
  AND b.deleted = 0 AND coalesce(b.retracted, 0) = 0
  AND coalesce(p.deleted, 0) = 0
  AND CASE coalesce(b.award_status, 'open')
        WHEN 'open' THEN coalesce(p.status, 'active') = 'active'
        WHEN 'pending' THEN coalesce(p.status, 'active') IN ('active', 'frozen')
        WHEN 'awarded' THEN coalesce(p.status, 'active') NOT IN ('closed', 'complete')
                            AND coalesce(b.complete_status, '') <> 'complete'
        ELSE 0
      END;
