-- 006_fts_declared_for_tools.sql — the FTS tables re-declared in the form
-- other SQLite tools look for.
--
-- sqlite-utils (and Datasette) find a table's full-text index by matching the
-- virtual table's declaration against content="TABLE" or content=[TABLE];
-- 002 wrote content = 'projects', which they do not recognise, so
-- `sqlite-utils search DB projects TEXT` said the table had no FTS.  Same
-- columns, tokenizer and triggers (002's triggers name the tables and keep
-- working); the indexes are rebuilt from their content tables.

DROP TABLE projects_fts;
CREATE VIRTUAL TABLE projects_fts USING fts5(
	title, description,
	content="projects", content_rowid="id",
	tokenize="unicode61 remove_diacritics 2");
INSERT INTO projects_fts(projects_fts) VALUES ('rebuild');

DROP TABLE messages_fts;
CREATE VIRTUAL TABLE messages_fts USING fts5(
	message,
	content="messages", content_rowid="id",
	tokenize="unicode61 remove_diacritics 2");
INSERT INTO messages_fts(messages_fts) VALUES ('rebuild');
