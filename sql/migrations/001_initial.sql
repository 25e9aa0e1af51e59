-- 001_initial.sql — the first schema of an flsync database.
--
-- Every entity table is keyed by the API's own 64-bit id (reviews, which have
-- none, by their natural key) and keeps `raw`, the JSON object the API last
-- sent for the row, so no field is ever lost.  Rows created only because
-- another row references them (a bid's bidder before the users stream has
-- fetched it) have raw IS NULL: "known to exist, not yet fetched".
--
-- Foreign keys are DEFERRABLE INITIALLY DEFERRED: a page of bids may be
-- stored before the users and projects it names, in the same transaction.
--
-- Enum CHECKs list the values the API reference documents, plus NULL (fields
-- the API did not project).  Times are integer unix seconds; amounts are REAL
-- in the row's currency (currency_id).
--
-- sync_state and the `local_state` columns belong to flsync itself:
-- local_state is NULL for a row as the server last sent it, 'pending' for an
-- optimistic row written by a queued action, 'failed' when that action was
-- rejected.

CREATE TABLE currencies (
	id            INTEGER PRIMARY KEY,
	code          TEXT,
	name          TEXT,
	sign          TEXT,
	country       TEXT,
	exchange_rate REAL,
	raw           TEXT,
	synced_at     INTEGER
) STRICT;

CREATE TABLE job_categories (
	id        INTEGER PRIMARY KEY,
	name      TEXT,
	raw       TEXT,
	synced_at INTEGER
) STRICT;

CREATE TABLE jobs (
	id          INTEGER PRIMARY KEY,
	name        TEXT,
	seo_url     TEXT,
	category_id INTEGER REFERENCES job_categories(id) DEFERRABLE INITIALLY DEFERRED,
	raw         TEXT,
	synced_at   INTEGER
) STRICT;

CREATE TABLE users (
	id                  INTEGER PRIMARY KEY,
	username            TEXT,
	display_name        TEXT,
	role                TEXT,
	chosen_role         TEXT,
	registration_date   INTEGER,
	country             TEXT,
	city                TEXT,
	primary_currency_id INTEGER REFERENCES currencies(id) DEFERRABLE INITIALLY DEFERRED,
	is_self             INTEGER NOT NULL DEFAULT 0 CHECK (is_self IN (0, 1)),
	raw                 TEXT,
	synced_at           INTEGER
) STRICT;
CREATE UNIQUE INDEX users_self ON users(is_self) WHERE is_self = 1;
CREATE INDEX users_unfetched ON users(id) WHERE raw IS NULL;

CREATE TABLE projects (
	id                      INTEGER PRIMARY KEY,
	owner_id                INTEGER REFERENCES users(id) DEFERRABLE INITIALLY DEFERRED,
	title                   TEXT,
	seo_url                 TEXT,
	preview_description     TEXT,
	description             TEXT,
	type                    TEXT CHECK (type IN ('fixed', 'hourly')),
	status                  TEXT,
	sub_status              TEXT,
	frontend_project_status TEXT,
	currency_id             INTEGER REFERENCES currencies(id) DEFERRABLE INITIALLY DEFERRED,
	budget_minimum          REAL,
	budget_maximum          REAL,
	bid_count               INTEGER,
	bid_avg                 REAL,
	language                TEXT,
	hireme                  INTEGER CHECK (hireme IN (0, 1)),
	nonpublic               INTEGER CHECK (nonpublic IN (0, 1)),
	time_submitted          INTEGER,
	time_updated            INTEGER,
	deleted                 INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
	local_state             TEXT CHECK (local_state IN ('pending', 'failed')),
	local_id                TEXT UNIQUE,
	raw                     TEXT,
	synced_at               INTEGER
) STRICT;
CREATE INDEX projects_owner ON projects(owner_id, time_submitted);
CREATE INDEX projects_status ON projects(status, time_submitted);
CREATE INDEX projects_time ON projects(time_submitted);
CREATE INDEX projects_updated ON projects(time_updated);

CREATE TABLE project_jobs (
	project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
	job_id     INTEGER NOT NULL REFERENCES jobs(id) DEFERRABLE INITIALLY DEFERRED,
	PRIMARY KEY (project_id, job_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX project_jobs_job ON project_jobs(job_id);

CREATE TABLE bids (
	id                  INTEGER PRIMARY KEY,
	project_id          INTEGER REFERENCES projects(id) DEFERRABLE INITIALLY DEFERRED,
	bidder_id           INTEGER REFERENCES users(id) DEFERRABLE INITIALLY DEFERRED,
	project_owner_id    INTEGER REFERENCES users(id) DEFERRABLE INITIALLY DEFERRED,
	amount              REAL,
	period              INTEGER,
	description         TEXT,
	award_status        TEXT CHECK (award_status IN ('awarded', 'rejected', 'revoked', 'pending', 'canceled')),
	paid_status         TEXT CHECK (paid_status IN ('unpaid', 'partly paid', 'fully paid')),
	complete_status     TEXT CHECK (complete_status IN ('pending', 'incomplete', 'complete')),
	frontend_bid_status TEXT CHECK (frontend_bid_status IN ('active', 'in progress', 'complete')),
	retracted           INTEGER CHECK (retracted IN (0, 1)),
	highlighted         INTEGER CHECK (highlighted IN (0, 1)),
	shortlisted         INTEGER CHECK (shortlisted IN (0, 1)),
	time_submitted      INTEGER,
	time_awarded        INTEGER,
	time_accepted       INTEGER,
	deleted             INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
	local_state         TEXT CHECK (local_state IN ('pending', 'failed')),
	local_id            TEXT UNIQUE,
	raw                 TEXT,
	synced_at           INTEGER
) STRICT;
CREATE INDEX bids_project ON bids(project_id, time_submitted);
CREATE INDEX bids_bidder ON bids(bidder_id, time_submitted);
CREATE INDEX bids_open ON bids(award_status) WHERE award_status IS NULL OR award_status IN ('pending', 'awarded');

CREATE TABLE milestones (
	id               INTEGER PRIMARY KEY,                 -- the API's transaction_id
	project_id       INTEGER REFERENCES projects(id) DEFERRABLE INITIALLY DEFERRED,
	bid_id           INTEGER REFERENCES bids(id) DEFERRABLE INITIALLY DEFERRED,
	bidder_id        INTEGER REFERENCES users(id) DEFERRABLE INITIALLY DEFERRED,
	project_owner_id INTEGER REFERENCES users(id) DEFERRABLE INITIALLY DEFERRED,
	currency_id      INTEGER REFERENCES currencies(id) DEFERRABLE INITIALLY DEFERRED,
	amount           REAL,
	status           TEXT CHECK (status IN ('disputed', 'requested_release', 'pending', 'frozen', 'cleared', 'canceled')),
	reason           TEXT,
	description      TEXT,
	is_from_prepaid  INTEGER CHECK (is_from_prepaid IN (0, 1)),
	time_created     INTEGER,
	local_state      TEXT CHECK (local_state IN ('pending', 'failed')),
	local_id         TEXT UNIQUE,
	raw              TEXT,
	synced_at        INTEGER
) STRICT;
CREATE INDEX milestones_project ON milestones(project_id, time_created);
CREATE INDEX milestones_bid ON milestones(bid_id);

CREATE TABLE milestone_requests (
	id               INTEGER PRIMARY KEY,
	project_id       INTEGER REFERENCES projects(id) DEFERRABLE INITIALLY DEFERRED,
	bid_id           INTEGER REFERENCES bids(id) DEFERRABLE INITIALLY DEFERRED,
	bidder_id        INTEGER REFERENCES users(id) DEFERRABLE INITIALLY DEFERRED,
	project_owner_id INTEGER REFERENCES users(id) DEFERRABLE INITIALLY DEFERRED,
	currency_id      INTEGER REFERENCES currencies(id) DEFERRABLE INITIALLY DEFERRED,
	amount           REAL,
	status           TEXT CHECK (status IN ('deleted', 'rejected', 'pending', 'created')),
	description      TEXT,
	time_requested   INTEGER,
	local_state      TEXT CHECK (local_state IN ('pending', 'failed')),
	local_id         TEXT UNIQUE,
	raw              TEXT,
	synced_at        INTEGER
) STRICT;
CREATE INDEX milestone_requests_project ON milestone_requests(project_id, time_requested);
CREATE INDEX milestone_requests_bid ON milestone_requests(bid_id);

-- Reviews have no id in the API: one review per (project, author, subject).
CREATE TABLE reviews (
	project_id            INTEGER NOT NULL REFERENCES projects(id) DEFERRABLE INITIALLY DEFERRED,
	from_user_id          INTEGER NOT NULL REFERENCES users(id) DEFERRABLE INITIALLY DEFERRED,
	to_user_id            INTEGER NOT NULL REFERENCES users(id) DEFERRABLE INITIALLY DEFERRED,
	role                  TEXT CHECK (role IN ('freelancer', 'employer')),
	status                TEXT,
	rating                REAL,
	description           TEXT,
	paid_amount           REAL,
	bid_amount            REAL,
	currency_id           INTEGER REFERENCES currencies(id) DEFERRABLE INITIALLY DEFERRED,
	review_type           TEXT CHECK (review_type IN ('project', 'contest')),
	rating_communication  REAL,
	rating_expertise      REAL,
	rating_hire_again     REAL,
	rating_quality        REAL,
	rating_professionalism REAL,
	time_submitted        INTEGER,
	local_state           TEXT CHECK (local_state IN ('pending', 'failed')),
	raw                   TEXT,
	synced_at             INTEGER,
	PRIMARY KEY (project_id, from_user_id, to_user_id)
) STRICT;
CREATE INDEX reviews_to ON reviews(to_user_id, time_submitted);
CREATE INDEX reviews_from ON reviews(from_user_id, time_submitted);
CREATE INDEX reviews_time ON reviews(time_submitted);

CREATE TABLE threads (
	id           INTEGER PRIMARY KEY,
	thread_type  TEXT CHECK (thread_type IN ('private_chat', 'primary')),
	context_type TEXT CHECK (context_type IN ('project', 'contest', 'general')),
	context_id   INTEGER,
	owner_id     INTEGER REFERENCES users(id) DEFERRABLE INITIALLY DEFERRED,
	folder       TEXT,
	is_read      INTEGER CHECK (is_read IN (0, 1)),
	is_muted     INTEGER CHECK (is_muted IN (0, 1)),
	time_created INTEGER,
	time_updated INTEGER,
	time_read    INTEGER,
	local_state  TEXT CHECK (local_state IN ('pending', 'failed')),
	local_id     TEXT UNIQUE,
	raw          TEXT,
	synced_at    INTEGER
) STRICT;
CREATE INDEX threads_updated ON threads(time_updated);
CREATE INDEX threads_context ON threads(context_type, context_id);

CREATE TABLE thread_members (
	thread_id INTEGER NOT NULL REFERENCES threads(id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
	user_id   INTEGER NOT NULL REFERENCES users(id) DEFERRABLE INITIALLY DEFERRED,
	PRIMARY KEY (thread_id, user_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX thread_members_user ON thread_members(user_id);

CREATE TABLE messages (
	id                INTEGER PRIMARY KEY,
	thread_id         INTEGER REFERENCES threads(id) DEFERRABLE INITIALLY DEFERRED,
	from_user_id      INTEGER REFERENCES users(id) DEFERRABLE INITIALLY DEFERRED,
	message           TEXT,
	message_source    TEXT,
	client_message_id TEXT,
	parent_id         INTEGER,
	time_created      INTEGER,
	time_updated      INTEGER,
	remove_reason     TEXT,
	local_state       TEXT CHECK (local_state IN ('pending', 'failed')),
	local_id          TEXT UNIQUE,
	raw               TEXT,
	synced_at         INTEGER
) STRICT;
CREATE INDEX messages_thread ON messages(thread_id, time_created);
CREATE INDEX messages_time ON messages(time_created);
CREATE INDEX messages_client_id ON messages(client_message_id) WHERE client_message_id IS NOT NULL;

-- The write queue (see docs/internals/actions.md).
CREATE TABLE actions (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	kind         TEXT NOT NULL CHECK (kind IN (
		'bid.create', 'bid.update', 'bid.award', 'bid.revoke', 'bid.accept',
		'bid.reject', 'bid.retract', 'bid.highlight', 'bid.shortlist',
		'milestone.create', 'milestone.release', 'milestone.request_release',
		'milestone.cancel', 'milestone_request.create', 'milestone_request.accept',
		'milestone_request.reject', 'milestone_request.delete', 'review.post',
		'thread.create', 'message.send', 'thread.read', 'thread.archive',
		'thread.mute', 'project.create', 'project.invite')),
	params       TEXT NOT NULL CHECK (json_valid(params)),
	state        TEXT NOT NULL DEFAULT 'queued'
	             CHECK (state IN ('queued', 'sending', 'done', 'failed', 'cancelled')),
	depends_on   INTEGER REFERENCES actions(id),
	local_ref    TEXT UNIQUE,          -- local id of the object this action creates
	attempts     INTEGER NOT NULL DEFAULT 0,
	next_attempt INTEGER NOT NULL DEFAULT 0,
	http_status  INTEGER,
	error_code   TEXT,
	error_message TEXT,
	result       TEXT CHECK (result IS NULL OR json_valid(result)),
	created_at   INTEGER NOT NULL,
	updated_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX actions_due ON actions(state, next_attempt) WHERE state IN ('queued', 'sending');

-- One row per sync stream: its cursor and health.
CREATE TABLE sync_state (
	stream         TEXT PRIMARY KEY,
	cursor         INTEGER,          -- stream time covered up to (exclusive)
	cursor_extra   TEXT,             -- stream-specific resume data (JSON)
	last_started   INTEGER,
	last_success   INTEGER,
	last_error     TEXT,
	last_error_at  INTEGER,
	failures       INTEGER NOT NULL DEFAULT 0,
	rows_synced    INTEGER NOT NULL DEFAULT 0,
	requests       INTEGER NOT NULL DEFAULT 0
) STRICT;
