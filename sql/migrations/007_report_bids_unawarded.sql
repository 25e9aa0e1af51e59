-- 007_report_bids_unawarded.sql — report_bids_monthly counts a month whose
-- bids have no award status yet as 0 won, not NULL.
--
-- 003 summed `award_status = 'awarded' OR frontend_bid_status IN (…)`, which
-- is NULL (not false) for a bid the API sent without award_status, so a month
-- of such bids had won and win_rate_pct NULL instead of 0.

DROP VIEW report_bids_monthly;
CREATE VIEW report_bids_monthly AS
WITH b AS (
	SELECT strftime('%Y-%m', b.time_submitted, 'unixepoch') AS month,
	       coalesce(b.award_status, '') = 'awarded'
	       OR coalesce(b.frontend_bid_status, '') IN ('in progress', 'complete') AS won
	FROM bids b
	JOIN self s ON b.bidder_id = s.id
	WHERE b.time_submitted IS NOT NULL AND b.deleted = 0 AND b.local_state IS NULL)
SELECT month, count(*) AS placed, sum(won) AS won,
       round(100.0 * sum(won) / count(*), 1) AS win_rate_pct
FROM b
GROUP BY month
ORDER BY month;
