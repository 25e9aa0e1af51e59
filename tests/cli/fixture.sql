-- fixture.sql — a small but realistic flsync database for the cli suite,
-- applied after fl_db_open() has created the schema.  The account is user
-- 1001 ("selfie"), a freelancer who also hires; times are in 2024 (UTC).
-- Known values the tests look for: the message "zanzibar invoice" (FTS),
-- unicode in titles, messages and user names, a message with a comma, a
-- quote and a line break (CSV quoting).

INSERT INTO currencies(id, code, name, sign, exchange_rate, raw, synced_at) VALUES
	(1, 'USD', 'US Dollar', '$', 1.0, '{"id":1,"code":"USD"}', 1714000000),
	(3, 'EUR', 'Euro', '€', 1.08, '{"id":3,"code":"EUR"}', 1714000000);

INSERT INTO job_categories(id, name, raw, synced_at) VALUES (1, 'Websites, IT & Software', '{"id":1}', 1714000000), (2, 'Design', '{"id":2}', 1714000000);
INSERT INTO jobs(id, name, seo_url, category_id, raw, synced_at) VALUES
	(3, 'Python', 'python', 1, '{"id":3}', 1714000000),
	(17, 'Logo Design', 'logo_design', 2, '{"id":17}', 1714000000),
	(22, 'Translation', 'translation', 2, '{"id":22}', 1714000000);

INSERT INTO users(id, username, display_name, role, country, primary_currency_id, is_self, raw, synced_at) VALUES
	(1001, 'selfie', 'Sam Self', 'freelancer', 'Australia', 1, 1, '{"id":1001}', 1714000000),
	(2001, 'alice', 'Alice A.', 'employer', 'United States', 1, 0, '{"id":2001}', 1714000000),
	(2002, 'bob', 'Bob B.', 'employer', 'France', 3, 0, '{"id":2002}', 1714000000),
	(2003, 'yamada', '山田 太郎', 'employer', 'Japan', 1, 0, '{"id":2003}', 1714000000),
	(2004, 'carol', NULL, 'freelancer', NULL, NULL, 0, NULL, NULL);

INSERT INTO projects(id, owner_id, title, preview_description, description, type, status, currency_id,
		     budget_minimum, budget_maximum, bid_count, bid_avg, time_submitted, time_updated, raw, synced_at) VALUES
	(101, 2001, 'Build a Flask website', 'Small site', 'A Flask website with login, a blog and a contact form.',
	 'fixed', 'closed', 1, 250, 750, 12, 480.5, 1704153600, 1706000000, '{"id":101}', 1714000000),
	(102, 2002, 'Logo design for café ☕', 'Logo', 'Un logo pour un café à Paris: simple, chaleureux.',
	 'fixed', 'active', 3, 30, 250, 40, 95, 1707000000, 1707000000, '{"id":102}', 1714000000),
	(103, 1001, 'Translate manual to 日本語', 'Translation', 'Translate a 20 page user manual into Japanese.',
	 'fixed', 'active', 1, 100, 300, 5, 210, 1709251200, 1709300000, '{"id":103}', 1714000000),
	(104, 2003, 'Hourly data entry', 'Data entry', 'Enter invoices into a spreadsheet, 10 hours a week.',
	 'hourly', 'active', 1, 8, 15, 22, 11.5, 1711929600, 1711929600, '{"id":104}', 1714000000),
	(105, 2001, 'Fix a crash in a C program', 'Bug fix', 'Segfault in a parser, "needs valgrind", urgent.',
	 'fixed', 'active', 1, 100, 200, 3, 150, 1712000000, 1712000000, '{"id":105}', 1714000000);


INSERT INTO project_jobs(project_id, job_id) VALUES (101, 3), (102, 17), (103, 22), (105, 3);

INSERT INTO bids(id, project_id, bidder_id, project_owner_id, amount, period, description, award_status,
		 frontend_bid_status, retracted, time_submitted, time_awarded, raw, synced_at) VALUES
	(9001, 101, 1001, 2001, 500, 10, 'I have built many Flask sites.', 'awarded', 'complete', 0, 1704200000, 1704400000, '{"id":9001}', 1714000000),
	(9002, 102, 1001, 2002, 120, 5, 'Logo with three concepts.', 'rejected', NULL, 0, 1707050000, NULL, '{"id":9002}', 1714000000),
	(9003, 104, 1001, 2003, 12, 30, 'Fast and accurate.', 'awarded', 'in progress', 0, 1711950000, 1712100000, '{"id":9003}', 1714000000),
	(9004, 105, 1001, 2001, 180, 3, 'Valgrind is my friend.', NULL, 'active', 0, 1712050000, NULL, '{"id":9004}', 1714000000),
	(9005, 102, 2004, 2002, 90, 4, 'Cheap logo.', NULL, 'active', 0, 1707060000, NULL, '{"id":9005}', 1714000000),
	(9006, 103, 2004, 1001, 200, 7, 'Native speaker.', 'awarded', 'in progress', 0, 1709300000, 1709400000, '{"id":9006}', 1714000000),
	(9007, 101, 1001, 2001, 450, 12, 'Second, lower offer.', 'rejected', NULL, 1, 1704300000, NULL, '{"id":9007}', 1714000000);

INSERT INTO milestones(id, project_id, bid_id, bidder_id, project_owner_id, currency_id, amount, status,
		       description, time_created, raw, synced_at) VALUES
	(7001, 101, 9001, 1001, 2001, 1, 250, 'cleared', 'First half', 1704500000, '{"id":7001}', 1714000000),
	(7002, 101, 9001, 1001, 2001, 1, 250, 'cleared', 'Second half', 1706000000, '{"id":7002}', 1714000000),
	(7003, 104, 9003, 1001, 2003, 1, 120, 'pending', 'Week 1', 1712200000, '{"id":7003}', 1714000000),
	(7004, 103, 9006, 2004, 1001, 1, 200, 'cleared', 'Translation', 1709500000, '{"id":7004}', 1714000000),
	(7005, 102, NULL, 1001, 2002, 3, 80, 'cleared', 'Logo tweak (EUR)', 1707200000, '{"id":7005}', 1714000000);

INSERT INTO milestone_requests(id, project_id, bid_id, bidder_id, project_owner_id, currency_id, amount, status,
			       description, time_requested, raw, synced_at) VALUES
	(8001, 104, 9003, 1001, 2003, 1, 120, 'pending', 'Week 2', 1712800000, '{"id":8001}', 1714000000);

INSERT INTO reviews(project_id, from_user_id, to_user_id, role, status, rating, description, currency_id,
		    review_type, time_submitted, raw, synced_at) VALUES
	(101, 2001, 1001, 'freelancer', 'complete', 5.0, 'Excellent work, très bien!', 1, 'project', 1706100000, '{}', 1714000000),
	(102, 2002, 1001, 'freelancer', 'complete', 4.5, 'Good logo.', 3, 'project', 1707300000, '{}', 1714000000),
	(104, 2003, 1001, 'freelancer', 'complete', 4.0, 'ありがとう', 1, 'project', 1712900000, '{}', 1714000000),
	(103, 1001, 2004, 'employer', 'complete', 5.0, 'Great translator.', 1, 'project', 1709600000, '{}', 1714000000);

INSERT INTO threads(id, thread_type, context_type, context_id, owner_id, is_read, time_created, time_updated, raw, synced_at) VALUES
	(501, 'private_chat', 'project', 101, 2001, 1, 1704160000, 1706000000, '{"id":501}', 1714000000),
	(502, 'private_chat', 'project', 104, 2003, 0, 1711940000, 1712800000, '{"id":502}', 1714000000);

INSERT INTO thread_members(thread_id, user_id) VALUES (501, 1001), (501, 2001), (502, 1001), (502, 2003);

INSERT INTO messages(id, thread_id, from_user_id, message, time_created, time_updated, raw, synced_at) VALUES
	(60001, 501, 2001, 'Hi! Can you start on Monday?', 1704160000, 1704160000, '{"id":60001}', 1714000000),
	(60002, 501, 2001, 'Also: the budget is firm.', 1704160600, 1704160600, '{"id":60002}', 1714000000),
	(60003, 501, 1001, 'Yes, Monday works.', 1704164200, 1704164200, '{"id":60003}', 1714000000),
	(60004, 501, 2001, 'Great, the zanzibar invoice is attached.', 1706000000, 1706000000, '{"id":60004}', 1714000000),
	(60005, 501, 1001, 'Thanks, paid, "done", and
on to the next one.', 1706007200, 1706007200, '{"id":60005}', 1714000000),
	(60006, 502, 2003, 'こんにちは、データ入力をお願いします。', 1711940000, 1711940000, '{"id":60006}', 1714000000),
	(60007, 502, 1001, 'Ça marche — 了解しました 👍', 1711941800, 1711941800, '{"id":60007}', 1714000000),
	(60008, 502, 2003, 'Week 2 milestone, please', 1712800000, 1712800000, '{"id":60008}', 1714000000);

-- The local-clock columns as a pass whose server and local clocks agree writes them.
INSERT INTO sync_state(stream, cursor, last_started, last_success, last_error, last_error_at, failures, rows_synced, requests,
		       local_started, local_success, local_error_at) VALUES
	('bids', 1714000000, 1714000000, 1714000000, NULL, NULL, 0, 7, 3, 1714000000, 1714000000, NULL),
	('messages', 1713990000, 1714000000, 1713990000, 'HTTP 503 from /api/messages/0.1/messages/', 1714000000, 2, 8, 9,
	 1714000000, 1713990000, 1714000000),
	('projects.own', 1714000000, 1714000000, 1714000000, NULL, NULL, 0, 5, 2, 1714000000, 1714000000, NULL);

INSERT INTO actions(kind, params, state, attempts, error_code, error_message, created_at, updated_at) VALUES
	('message.send', '{"thread_id":501,"message":"See you Monday"}', 'queued', 0, NULL, NULL, 1714000100, 1714000100),
	('bid.retract', '{"bid_id":9004}', 'failed', 1, 'BID_NOT_FOUND', 'No such bid', 1714000200, 1714000300),
	('thread.read', '{"thread_id":502}', 'done', 1, NULL, NULL, 1714000000, 1714000050);

INSERT INTO ratelimit_state(endpoint, limit_n, window_s, remaining, paused_until, updated_at) VALUES
	('GET /api/projects/0.1/bids/', 200, 60, 187, NULL, 1714000000),
	('POST /api/projects/0.1/bids/', 500, 3600, 0, 1714000900, 1714000000);
