-- 005_open_bids_index.sql — the account's open bids without reading all of its bids.
--
-- my_active_bids selects a bidder's bids whose coalesce(award_status,
-- 'pending') is pending or awarded, and not deleted, retracted or complete.
-- bids_bidder alone makes SQLite read every bid the account ever placed (a
-- table row each) to keep the few still in play.  Indexing the very
-- expression the view tests turns that into equality lookups on the index,
-- and the trailing columns let the rest of the view's WHERE be tested on the
-- index before a table row is read.

CREATE INDEX bids_bidder_award
	ON bids(bidder_id, coalesce(award_status, 'pending'), deleted, retracted, complete_status);
