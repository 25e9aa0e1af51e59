-- 012_fts_code_names.sql — C++, C# and F# are words of their own in the
-- full-text indexes.
--
-- unicode61 split "C++" into "c" and dropped the pluses, so a search for
-- C++ found every text with a lone C.  '+' and '#' are now token
-- characters: "C++", "C#", "F#" are tokens, and flsync search quotes a query
-- word holding them (or a dot: ".NET", "Node.js", which unicode61 indexes
-- as "net" and "node" "js", a phrase that finds them).  The cost: a '+' or
-- '#' inside a word keeps it whole ("a+b", "#42", "#hashtag" are one token
-- each; searched as typed they are found).  Same columns and content tables
-- as 006; the triggers of 002 and 008 name the tables and keep working; the
-- indexes are rebuilt from their content tables.

DROP TABLE projects_fts;
CREATE VIRTUAL TABLE projects_fts USING fts5(
	title, description,
	content="projects", content_rowid="id",
	tokenize="unicode61 remove_diacritics 2 tokenchars '+#'");
INSERT INTO projects_fts(projects_fts) VALUES ('rebuild');

DROP TABLE messages_fts;
CREATE VIRTUAL TABLE messages_fts USING fts5(
	message,
	content="messages", content_rowid="id",
	tokenize="unicode61 remove_diacritics 2 tokenchars '+#'");
INSERT INTO messages_fts(messages_fts) VALUES ('rebuild');
