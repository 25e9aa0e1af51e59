-- 005_open_bids_index.sql — the account's open bids without reading all of its bids.
--
-- my_active_bids selects a bidder's bids whose coalesce(award_status,
-- 'pending') is pending or awarded.  bids_bidder alone makes SQLite read every
-- bid the account ever placed (a table row each, raw JSON included) to keep
-- the few still in play; indexing the very expression the view tests turns
-- that into two equality lookups on the index.

CREATE INDEX bids_bidder_award ON bids(bidder_id, coalesce(award_status, 'pending'));
