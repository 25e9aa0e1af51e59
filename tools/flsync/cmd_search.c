/*
 * cmd_search.c — `flsync search TEXT`: FTS5 MATCH over projects_fts and
 * messages_fts, ranked on one relevance scale (a title hit first, then bm25
 * within its class), with snippet() highlights.  Text that is not valid FTS5 query syntax
 * is searched again as one quoted phrase instead of failing.  Text in a
 * script written without spaces (Chinese, Japanese, Thai, ...) is searched as
 * substrings instead: unicode61 keeps a whole unspaced run as one token, so
 * a word inside a sentence would never match.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "tool.h"

static void help(FILE *f)
{
	fprintf(f,
		"usage: flsync search TEXT [--in projects|messages] [--limit N] [--format F] [--db PATH]\n"
		"\n"
		"Full-text search (SQLite FTS5) of project titles and descriptions and of\n"
		"message texts, best matches first, with the matching words highlighted in a\n"
		"snippet: bold on a terminal, [between brackets] otherwise.  The relevance\n"
		"column is one scale for projects and messages, 0 to 100: a project whose\n"
		"title matches scores 60 to 100, other projects and messages 10 to 60.\n"
		"TEXT is an FTS5 query (words, \"a phrase\", OR, NOT, prefix*, and column\n"
		"filters title:word, description:word, message:word, which narrow a search of\n"
		"both to the table that has the column); a word FTS5 cannot take bare (C++,\n"
		"C#, .NET, Node.js) is searched as a phrase of its own, and text that is not\n"
		"valid FTS5 syntax as one plain phrase.\n"
		"Text with Chinese, Japanese, Thai, Lao, Khmer or Myanmar characters (written\n"
		"without spaces between words) is searched as substrings instead: every\n"
		"space-separated part (or \"quoted part\") must occur, ASCII case ignored;\n"
		"FTS5 operators do not apply; newest first, relevance empty.\n"
		"\n"
		"  --in WHAT       projects or messages (default: both)\n"
		"  -n, --limit N   at most N results (default 20)\n"
		"  -f, --format F  table (default), csv, json, jsonl\n"
		"\n"
		"Examples:\n"
		"  flsync search invoice\n"
		"  flsync search 'logo OR banner' --in projects --limit 5\n"
		"  flsync search 'title:react'\n"
		"  flsync search 'C++ trading'\n"
		"  flsync search 'deadline friday' --in messages -f json\n"
		"  flsync search '网站'\n");
}

/* A message's title (its project, else its thread, and the sender) and the joins it needs. */
#define MSG_TITLE "coalesce(pr.title, 'thread ' || m.thread_id) || ' — ' || " \
	"coalesce(u.username, 'user ' || m.from_user_id) AS title, "
#define MSG_JOINS "LEFT JOIN users u ON u.id = m.from_user_id " \
	"LEFT JOIN threads t ON t.id = m.thread_id " \
	"LEFT JOIN projects pr ON t.context_type = 'project' AND pr.id = t.context_id "

/* The projects part, the messages part or both, in `order`, :limit rows; frees both parts. */
static char *combine(bool projects, bool messages, char *proj, char *msg, const char *order)
{
	char *sql;

	if (projects && messages)
		sql = xasprintf("SELECT * FROM (%s UNION ALL %s) ORDER BY %s LIMIT :limit", proj, msg, order);
	else
		sql = xasprintf("%s ORDER BY %s LIMIT :limit", projects ? proj : msg, order);
	free(proj);
	free(msg);
	return sql;
}

/*
 * One relevance scale, 0 to 100, across projects and messages.  bm25 of one
 * FTS table is not comparable with another's (each has its own document
 * counts and lengths), so rows rank first by their match class, then by
 * bm25 within it, normalised by the best of that class in the results:
 *   a project whose title alone matches the query  60..100
 *   any other project, and messages                10..60
 * The title class comes from one more FTS query, the same text under a
 * {title} column filter, run once per search (an IN list), not per row.
 */
#define SHARE "coalesce(score / nullif(max(score) OVER (PARTITION BY kind, title_hit), 0), 1)"
#define RELEVANCE_SQL "CAST(round(CASE WHEN title_hit THEN 60 + 40.0 * " SHARE " " \
	"ELSE 10 + 50.0 * " SHARE " END) AS INTEGER)"

/*
 * The matches of each table with their score (hits), the best :limit of them
 * (ranked), and only then their titles and snippets: snippet() re-reads a
 * row's text, so it is made for the rows shown, not for every match.
 */
static char *build_sql(bool projects, bool messages, const char *open, const char *close)
{
	const char *proj_hits =
		"SELECT 'project' AS kind, rowid AS id, -bm25(projects_fts, 10.0, 1.0) AS score, "
		"rowid IN (SELECT rowid FROM projects_fts WHERE projects_fts MATCH :tt) AS title_hit "
		"FROM projects_fts WHERE projects_fts MATCH :t1";
	const char *msg_hits =
		"SELECT 'message' AS kind, rowid AS id, -bm25(messages_fts) AS score, 0 AS title_hit "
		"FROM messages_fts WHERE messages_fts MATCH :t1";
	char *proj_rows = xasprintf(
		"SELECT r.kind, r.id, p.title AS title, datetime(p.time_submitted, 'unixepoch') AS time, "
		"(SELECT snippet(projects_fts, -1, '%s', '%s', '…', 16) FROM projects_fts "
		" WHERE projects_fts MATCH :t1 AND rowid = r.id) AS snippet, r.relevance, r.score "
		"FROM ranked r JOIN projects p ON p.id = r.id WHERE r.kind = 'project'", open, close);
	char *msg_rows = xasprintf(
		"SELECT r.kind, r.id, " MSG_TITLE "datetime(m.time_created, 'unixepoch') AS time, "
		"(SELECT snippet(messages_fts, 0, '%s', '%s', '…', 16) FROM messages_fts "
		" WHERE messages_fts MATCH :t1 AND rowid = r.id) AS snippet, r.relevance, r.score "
		"FROM ranked r JOIN messages m ON m.id = r.id " MSG_JOINS "WHERE r.kind = 'message'", open, close);
	const char *both = projects && messages ? " UNION ALL " : "";
	char *sql = xasprintf(
		"WITH hits AS (%s%s%s), "
		"ranked AS (SELECT kind, id, score, " RELEVANCE_SQL " AS relevance FROM hits "
		" ORDER BY relevance DESC, score DESC, kind DESC, id LIMIT :limit) "
		"SELECT kind, id, title, time, snippet, relevance FROM (%s%s%s) "
		"ORDER BY relevance DESC, score DESC, kind DESC, id",
		projects ? proj_hits : "", both, messages ? msg_hits : "",
		projects ? proj_rows : "", both, messages ? msg_rows : "");

	free(proj_rows);
	free(msg_rows);
	return sql;
}

/* ---- the query text: column filters and words FTS5 cannot take bare ------ */

/* The FTS tables' columns, and the table each belongs to. */
static const struct {
	const char *name;
	bool project;
} columns[] = {
	{ "title", true },
	{ "description", true },
	{ "message", false },
};

static bool bare_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
	       (unsigned char)c >= 0x80;
}

/*
 * Which tables the column filters of text name (title:x, -title:x,
 * {title description}:x), outside double quotes: *proj and *msg set when
 * one of theirs is named.  False, with the name in bad, when a filter names
 * a column neither table has.
 */
static bool column_filters(const char *text, bool *proj, bool *msg, char *bad, size_t badlen)
{
	bool quoted = false;

	*proj = *msg = false;
	for (const char *s = text; *s; s++) {
		const char *start, *end;

		if (*s == '"')
			quoted = !quoted;
		if (quoted || !(bare_char(*s) || *s == '{') || (s > text && (bare_char(s[-1]) || s[-1] == '{')))
			continue;
		if (*s == '{') {
			start = s + 1;
			end = strchr(start, '}');
			if (!end)
				continue;
			const char *after = end + 1;

			while (*after == ' ')
				after++;
			if (*after != ':')
				continue;
		} else {
			for (end = s; bare_char(*end); end++)
				;
			if (*end != ':')
				continue;
			start = s;
		}
		/* every name between start and end */
		for (const char *n = start; n < end;) {
			size_t len, i;

			while (n < end && !bare_char(*n))
				n++;
			for (len = 0; n + len < end && bare_char(n[len]); len++)
				;
			if (!len)
				break;
			for (i = 0; i < sizeof columns / sizeof *columns; i++)
				if (strlen(columns[i].name) == len && !strncasecmp(columns[i].name, n, len))
					break;
			if (i == sizeof columns / sizeof *columns) {
				/* "Re: invoice" is text; "foo:bar" asks for a column there is not */
				if (*s != '{' && (end[1] == ' ' || end[1] == '\0'))
					break;
				snprintf(bad, badlen, "%.*s", (int)len, n);
				return false;
			}
			*(columns[i].project ? proj : msg) = true;
			n += len;
		}
		s = end;
	}
	return true;
}

static bool fts_operator(const char *w, size_t n)
{
	return (n == 2 && !strncmp(w, "OR", 2)) || (n == 3 && (!strncmp(w, "AND", 3) || !strncmp(w, "NOT", 3))) ||
	       (n == 4 && !strncmp(w, "NEAR", 4));
}

/*
 * text with each word FTS5 cannot take bare quoted: a word holding a
 * character other than letters, digits, '_' (C++, C#, .NET, Node.js,
 * e-mail) becomes a phrase ("C++"), which the index's tokenizer reads as
 * it read the text (C++ and C# are tokens, Node.js is "node" "js").  Quoted
 * parts, operators, column filters (title:C++ quotes C++), parentheses and a
 * prefix's trailing * stay.  The caller frees the result.
 */
static char *fts_normalise(const char *text)
{
	char *out = xmalloc(strlen(text) * 3 + 1), *o = out;
	const char *s = text;

	while (*s) {
		const char *w, *e, *core;
		bool special = false, word = false;

		if (*s == ' ' || *s == '\t' || *s == '\n') {
			*o++ = *s++;
			continue;
		}
		for (e = s; *e && *e != ' ' && *e != '\t' && *e != '\n'; e++)
			;
		if (memchr(s, '"', (size_t)(e - s)) || memchr(s, '{', (size_t)(e - s))) {
			/* a quoted part or a column set: as typed, to its closing quote or brace */
			bool quoted = false, braced = false;

			for (e = s; *e && (quoted || braced || (*e != ' ' && *e != '\t' && *e != '\n')); e++)
				if (*e == '"' && !braced)
					quoted = !quoted;
				else if ((*e == '{' || *e == '}') && !quoted)
					braced = *e == '{';
			memcpy(o, s, (size_t)(e - s));
			o += e - s;
			s = e;
			continue;
		}
		w = s;
		while (w < e && (*w == '(' || *w == '-'))
			w++;
		if (memchr(w, '(', (size_t)(e - w))) {
			/* NEAR(a b: as typed */
			memcpy(o, s, (size_t)(e - s));
			o += e - s;
			s = e;
			continue;
		}
		core = w;
		for (const char *c = w; c < e && bare_char(*c); c++)
			if (c[1] == ':' && c + 2 <= e) {
				core = c + 2;
				break;
			}
		while (e > core && e[-1] == ')')
			e--;
		for (const char *c = core; c < e; c++) {
			if (bare_char(*c))
				word = true;
			else if (!(*c == '*' && c == e - 1))
				special = true;
		}
		memcpy(o, s, (size_t)(core - s));
		o += core - s;
		if (word && special && !fts_operator(core, (size_t)(e - core))) {
			*o++ = '"';
			memcpy(o, core, (size_t)(e - core));
			o += e - core;
			*o++ = '"';
		} else {
			memcpy(o, core, (size_t)(e - core));
			o += e - core;
		}
		for (s = e; *s == ')'; s++)
			*o++ = ')';
	}
	*o = '\0';
	return out;
}

/* ---- substring search, for scripts written without spaces ------------------- */

#define MAX_TERMS 16

/* Bytes of the separator at s: ASCII white space or U+3000 IDEOGRAPHIC SPACE; 0 if none. */
static size_t separator(const char *s)
{
	if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		return 1;
	return strncmp(s, "\xE3\x80\x80", 3) == 0 ? 3 : 0;
}

/*
 * Split text at separators into at most MAX_TERMS terms; "a quoted part" is
 * one term, spaces and all, and double quotes are never part of a term.
 * Returns the count, or -1 (nothing left allocated) when there are more.
 */
static int split_terms(const char *s, char **terms)
{
	int n = 0;

	for (;;) {
		bool quoted = false;
		size_t sep;
		char *t, *o;

		while ((sep = separator(s)))
			s += sep;
		if (!*s)
			return n;
		t = o = xmalloc(strlen(s) + 1);
		for (; *s && (quoted || !separator(s)); s++) {
			if (*s == '"')
				quoted = !quoted;
			else
				*o++ = *s;
		}
		*o = '\0';
		if (!*t) {
			free(t);
			continue;
		}
		if (n == MAX_TERMS) {
			free(t);
			while (n)
				free(terms[--n]);
			return -1;
		}
		terms[n++] = t;
	}
}

/*
 * Whether the snippet marks terms[i]: not when an earlier term is the same
 * or another term contains it (marking both would nest the marks), nor when
 * it holds a mark itself.
 */
static bool markable(char *const *terms, int n, int i, const char *open, const char *close)
{
	int j;

	if (strstr(terms[i], open) || strstr(terms[i], close))
		return false;
	for (j = 0; j < n; j++) {
		if (j == i)
			continue;
		if (!strcmp(terms[j], terms[i]) ? j < i : strstr(terms[j], terms[i]) != NULL)
			return false;
	}
	return true;
}

/* A LIKE pattern matching term anywhere, with \ escaping % _ and \. */
static char *like_pattern(const char *term)
{
	char *out = xmalloc(strlen(term) * 2 + 3), *o = out;

	*o++ = '%';
	for (; *term; term++) {
		if (*term == '%' || *term == '_' || *term == '\\')
			*o++ = '\\';
		*o++ = *term;
	}
	*o++ = '%';
	*o = '\0';
	return out;
}

/*
 * SQL: the 80 characters of x around the first term (found ignoring ASCII
 * case, as LIKE matches), the markable terms marked where their case is the
 * same.
 */
static char *substr_snippet(const char *x, char *const *terms, int nterms, const char *open, const char *close)
{
	char *at = xasprintf("max(1, instr(lower(%s), lower(:t1)) - 20)", x);
	char *body = xasprintf("substr(%s, %s, 80)", x, at), *next, *snip;
	int i;

	for (i = 0; i < nterms; i++) {
		if (!markable(terms, nterms, i, open, close))
			continue;
		next = xasprintf("replace(%s, :t%d, '%s' || :t%d || '%s')", body, i + 1, open, i + 1, close);
		free(body);
		body = next;
	}
	snip = xasprintf("(CASE WHEN %s > 1 THEN '…' ELSE '' END) || %s || "
			 "(CASE WHEN length(%s) >= %s + 80 THEN '…' ELSE '' END)", at, body, x, at);
	free(at);
	free(body);
	return snip;
}

static char *build_substring_sql(bool projects, bool messages, char *const *terms, int nterms, const char *open,
				 const char *close)
{
	char *pwhere = xstrdup("1"), *mwhere = xstrdup("1"), *next, *psnip, *msnip, *proj, *msg;
	int i;

	for (i = 1; i <= nterms; i++) {
		next = xasprintf("%s AND (p.title LIKE :l%d ESCAPE '\\' OR p.description LIKE :l%d ESCAPE '\\')",
				 pwhere, i, i);
		free(pwhere);
		pwhere = next;
		next = xasprintf("%s AND m.message LIKE :l%d ESCAPE '\\'", mwhere, i);
		free(mwhere);
		mwhere = next;
	}
	psnip = substr_snippet("(coalesce(p.title, '') || ' — ' || coalesce(p.description, ''))", terms, nterms, open,
			       close);
	msnip = substr_snippet("m.message", terms, nterms, open, close);
	proj = xasprintf(
		"SELECT 'project' AS kind, p.id AS id, p.title AS title, "
		"datetime(p.time_submitted, 'unixepoch') AS time, %s AS snippet, NULL AS relevance "
		"FROM projects p WHERE %s", psnip, pwhere);
	msg = xasprintf(
		"SELECT 'message' AS kind, m.id AS id, " MSG_TITLE
		"datetime(m.time_created, 'unixepoch') AS time, %s AS snippet, NULL AS relevance "
		"FROM messages m " MSG_JOINS "WHERE %s", msnip, mwhere);
	free(pwhere);
	free(mwhere);
	free(psnip);
	free(msnip);
	return combine(projects, messages, proj, msg, "time DESC, id DESC");
}

/*
 * Run sql with terms[i] bound to :t<i+1> (and, where the SQL has it, its LIKE
 * pattern to :l<i+1>); FL_OK, or the first step's error unreported.
 */
static int run(struct fl_db *db, const char *sql, char *const *terms, int nterms, int64_t limit,
	       FILE *f, enum tool_format fmt, int64_t *rows)
{
	struct fl_stmt *st;
	char name[16];
	int rc, i, idx;

	*rows = 0;
	if ((rc = fl_stmt_prepare(db, sql, &st)))
		return rc;
	for (i = 0; i < nterms; i++) {
		snprintf(name, sizeof name, ":t%d", i + 1);
		fl_stmt_bind_text(st, fl_stmt_param_index(st, name), terms[i], -1);
		snprintf(name, sizeof name, ":l%d", i + 1);
		if ((idx = fl_stmt_param_index(st, name)) > 0) {
			char *like = like_pattern(terms[i]);

			fl_stmt_bind_text(st, idx, like, -1);
			free(like);
		}
	}
	if ((idx = fl_stmt_param_index(st, ":tt")) > 0) {
		char *title = xasprintf("{title} : (%s)", terms[0]);

		fl_stmt_bind_text(st, idx, title, -1);
		free(title);
	}
	fl_stmt_bind_int64(st, fl_stmt_param_index(st, ":limit"), limit);
	rc = tool_write_all(db, st, f, fmt, rows);
	fl_stmt_finalize(st);
	return rc;
}

int tool_search(struct fl_db *db, const char *text, bool projects, bool messages, int64_t limit,
		const char *open, const char *close, FILE *f, enum tool_format fmt, int64_t *out_rows)
{
	char *sql, *phrase = NULL, *q;
	int rc;

	*out_rows = 0;
	if (tool_unspaced_script(text)) {
		char *terms[MAX_TERMS];
		int nterms = split_terms(text, terms), i;

		if (nterms < 0)
			return FL_ERR_INVALID;
		sql = build_substring_sql(projects, messages, terms, nterms, open, close);
		rc = run(db, sql, terms, nterms, limit, f, fmt, out_rows);
		for (i = 0; i < nterms; i++)
			free(terms[i]);
		free(sql);
		return rc;
	}
	q = fts_normalise(text);
	sql = build_sql(projects, messages, open, close);
	rc = run(db, sql, &q, 1, limit, f, fmt, out_rows);
	if (rc == FL_ERR_DB && *out_rows == 0) {
		/*
		 * The SQL is ours, so a run-time error is the MATCH text: not
		 * FTS5 syntax ("a AND", an unbalanced quote).  A phrase then.
		 */
		phrase = tool_quoted(text);
		rc = run(db, sql, &phrase, 1, limit, f, fmt, out_rows);
	}
	free(q);
	free(phrase);
	free(sql);
	return rc;
}

int tool_search_tables(const char *text, bool *projects, bool *messages, char *err, size_t errlen)
{
	bool proj, msg;
	char bad[64];

	if (tool_unspaced_script(text))
		return FL_OK;
	if (!column_filters(text, &proj, &msg, bad, sizeof bad)) {
		snprintf(err, errlen, "no column %s to search: projects have title and description, messages "
			 "have message", bad);
		return FL_ERR_INVALID;
	}
	if (proj && msg) {
		snprintf(err, errlen, "the query names columns of projects and of messages: one at a time "
			 "(--in projects or --in messages)");
		return FL_ERR_INVALID;
	}
	if ((proj && !*projects) || (msg && !*messages)) {
		snprintf(err, errlen, "the query names a column of %s, which --in leaves out", proj ? "projects" : "messages");
		return FL_ERR_INVALID;
	}
	if (proj)
		*messages = false;
	if (msg)
		*projects = false;
	return FL_OK;
}

int tool_cmd_search(struct tool_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "in", required_argument, NULL, 'i' },
		{ "limit", required_argument, NULL, 'n' },
		{ "format", required_argument, NULL, 'f' },
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool projects = true, messages = true, tty = isatty(STDOUT_FILENO);
	enum tool_format fmt = FMT_TABLE;
	const char *text = NULL, *open, *close;
	struct fl_db *db = NULL;
	int64_t limit = 20, rows;
	char err[200];
	int opt, rc;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "+:n:f:h", opts, NULL)) != -1 || optind < argc) {
		if (opt == -1) {
			if (text)
				return tool_usage_error("search", "search: give the text once (quote it); unexpected %s",
							argv[optind]);
			text = argv[optind++];
			continue;
		}
		switch (opt) {
		case 'i':
			if (!strcmp(optarg, "projects"))
				messages = false;
			else if (!strcmp(optarg, "messages"))
				projects = false;
			else
				return tool_usage_error("search", "search: --in takes projects or messages, not %s", optarg);
			break;
		case 'n':
			if (!tool_parse_int64(optarg, &limit) || limit <= 0)
				return tool_usage_error("search", "search: --limit takes a positive number, not %s", optarg);
			break;
		case 'f':
			if (!tool_parse_format(optarg, &fmt))
				return tool_usage_error("search", "search: unknown format %s", optarg);
			break;
		default:
			if ((rc = tool_opt_shared(ctx, opt, "search", argv, help)) != TOOL_NEXT)
				return rc;
			break;
		}
	}
	if (!text || !*text)
		return tool_usage_error("search", "search: no text given");
	if (tool_search_tables(text, &projects, &messages, err, sizeof err) != FL_OK)
		return tool_usage_error("search", "search: %s", err);
	db = tool_open(ctx, false);
	if (!db)
		return TOOL_FAIL;
	/* Bold on a terminal; brackets where the output goes to a file or a program. */
	open = fmt == FMT_TABLE && tty ? TOOL_MARK_ON : "[";
	close = fmt == FMT_TABLE && tty ? TOOL_MARK_OFF : "]";
	rc = tool_search(db, text, projects, messages, limit, open, close, stdout, fmt, &rows);
	if (rc == FL_ERR_INVALID) {
		fl_db_close(db);
		return tool_usage_error("search", "search: at most %d space-separated parts", MAX_TERMS);
	}
	if (rc == FL_OK && rows == 0 && fmt == FMT_TABLE)
		fprintf(stderr, "flsync: nothing matches %s\n", text);
	if (rc && rows == 0)
		tool_db_fail(db, rc, "search");
	fl_db_close(db);
	return rc ? TOOL_FAIL : TOOL_OK;
}
