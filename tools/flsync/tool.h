/*
 * tool.h — what the flsync subcommands share: opening the database named by
 * --db / $FLSYNC_DB / the XDG data path, error and usage reporting with the
 * documented exit codes, and the row writers (table, CSV, JSON, JSONL).
 */
#ifndef FLSYNC_TOOL_H
#define FLSYNC_TOOL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "flsync.h"
#include "xalloc.h"  /* xmalloc, xrealloc, xstrdup, xasprintf: the tool aborts on OOM */

/* Exit codes, documented in `flsync --help` and flsync(1). */
enum {
	TOOL_OK = 0,       /* success */
	TOOL_FAIL = 1,     /* the database or the operation failed */
	TOOL_USAGE = 2,    /* bad command line */
};

/* Options every subcommand shares. */
struct tool_ctx {
	const char *db_path;   /* --db, else $FLSYNC_DB, else the XDG data path */
	char *db_default;      /* storage for the computed default path */
	bool ro_shown;         /* the command shows read-only itself: tool_open says nothing */
};

/* A subcommand: argv[0] is its name; returns an exit code. */
typedef int tool_cmd_fn(struct tool_ctx *ctx, int argc, char **argv);

tool_cmd_fn tool_cmd_auth; /* cmd_auth.c */
tool_cmd_fn tool_cmd_webhook; /* cmd_webhook.c */
tool_cmd_fn tool_cmd_feed;    /* cmd_feed.c */

tool_cmd_fn tool_cmd_query, tool_cmd_search, tool_cmd_export, tool_cmd_status,
	tool_cmd_queue, tool_cmd_report, tool_cmd_pgsync, tool_cmd_ui, tool_cmd_schema,
	tool_cmd_resync;

/* The database path to use (never NULL once tool_ctx_init() has run). */
void tool_ctx_init(struct tool_ctx *ctx);
void tool_ctx_free(struct tool_ctx *ctx);

/*
 * Open the database, read-only unless writable.  A missing file, an old or
 * foreign schema: prints a message naming the path, returns NULL.  A
 * read-only open of a file this user cannot write (or a read-only
 * directory) says so on stderr, unless ctx->ro_shown.
 */
struct fl_db *tool_open(struct tool_ctx *ctx, bool writable);

/* "flsync: note: PATH is read-only..." on stderr when db cannot be written. */
void tool_note_readonly(struct fl_db *db, const char *path);
/* "read-only" (the file cannot be written), "read-only, read as it stands" (nor its directory), or NULL. */
const char *tool_readonly_word(struct fl_db *db, const char *path);

/* "flsync: <message>\n" on stderr; returns TOOL_FAIL / TOOL_USAGE. */
int tool_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int tool_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The library's message for rc on db, as a failure. */
int tool_db_fail(struct fl_db *db, int rc, const char *what);

/*
 * Files and directories that hold the account's data (exports, reports)
 * are the owner's alone, whatever the umask: tool_private() makes a file
 * 0600 (call it on the temporary file before it is renamed into place);
 * tool_mkdir_private() makes a directory 0700 (mkdir's return and errno).
 */
void tool_private(const char *path);

/*
 * flsync status on the file (status_file.c): a warning on stderr when group
 * or others can read the database, its -wal or -shm, with the chmod that
 * fixes it; the file's size and the feed's rows in text, or as "file" and
 * "feed" members (each followed by a comma) in JSON.
 */
void tool_status_warn_private(const char *db_path);
void tool_status_file_text(struct fl_db *db);
void tool_status_file_json(struct fl_db *db);
int tool_mkdir_private(const char *dir);

/*
 * The options every subcommand shares, and getopt's complaints: 'd' (--db)
 * sets the path, 'h' (--help) prints help(stdout), ':' and '?' are usage
 * errors of cmd.  Returns TOOL_NEXT after --db (go on parsing), else the
 * exit code the subcommand returns at once.
 */
#define TOOL_NEXT (-1)
int tool_opt_shared(struct tool_ctx *ctx, int opt, const char *cmd, char **argv,
		    void (*help)(FILE *f));

/*
 * `flsync CMD SUB [options]`: SUB (*sub) taken off the front, so that
 * getopt reads the options after it.  TOOL_NEXT, or the exit code at once:
 * help(stderr) and TOOL_USAGE with no SUB, help(stdout) and TOOL_OK for
 * -h or --help.
 */
int tool_subcommand(int *argc, char ***argv, void (*help)(FILE *f), const char **sub);

/* s in double quotes with inner double quotes doubled: an SQL identifier or an FTS5 phrase. */
char *tool_quoted(const char *s);

/* Parse a whole decimal int64; false if s is not one. */
bool tool_parse_int64(const char *s, int64_t *out);

/* "3m ago", "2h ago", "5d ago", "never" for a unix time, relative to now. */
void tool_age(int64_t t, int64_t now, char *buf, size_t n);

/* Run one statement that returns no rows; prints the error. */
int tool_exec(struct fl_db *db, const char *sql);

/* ---- the browser (browser.c) --------------------------------------------- */

/* xdg-open URL and wait for it: true when it exited 0. */
bool tool_open_url(const char *url);
/* xdg-open URL without waiting; says on stderr if it fails (flsync ui --open). */
void tool_open_url_async(const char *url);

/* ---- text helpers (output.c) -------------------------------------------- */

/*
 * s holds a character of a script written without spaces between words
 * (Chinese, Japanese, Thai, Lao, Khmer, Myanmar), which FTS5's unicode61
 * tokenizer keeps a whole run of as one token.
 */
bool tool_unspaced_script(const char *s);
/*
 * s (changed in place, and returned) or written to f, for a terminal:
 * control characters (C0, DEL, and C1 as UTF-8) as spaces, so a name or a
 * server's message never moves the cursor or sets colours.
 */
char *tool_blank_controls(char *s);
void tool_text(FILE *f, const char *s);
/* Terminal columns a UTF-8 string takes (wide CJK/emoji 2, combining 0). */
size_t tool_display_width(const char *s, size_t len);
/* Write s as a JSON string (quoted, escaped; invalid UTF-8 becomes U+FFFD). */
void tool_json_string(FILE *f, const char *s, size_t len);
/* A double as the shortest JSON number that reads back the same; null if not finite. */
void tool_json_number(FILE *f, double v);
/* s with HTML's special characters escaped. */
void tool_html(FILE *f, const char *s);

/* ---- row writers (output.c) --------------------------------------------- */

/*
 * FMT_MARKDOWN: a GitHub-flavoured pipe table ('|' escaped, line breaks as
 * <br>); FMT_TSV: a header line, then tab-separated fields with tab, line
 * feed, carriage return and backslash written \t \n \r \\ (NULL empty).
 */
enum tool_format { FMT_TABLE, FMT_CSV, FMT_JSON, FMT_JSONL, FMT_MARKDOWN, FMT_TSV };

/* In text shown by the table format, these turn bold on and off (U+E000, U+E001). */
#define TOOL_MARK_ON "\xEE\x80\x80"
#define TOOL_MARK_OFF "\xEE\x80\x81"


/* Parse "table", "csv", "json", "jsonl", "markdown", "tsv"; false if none. */
bool tool_parse_format(const char *s, enum tool_format *out);

struct tool_writer;

/*
 * A writer of the rows of st to f in fmt.  The table format holds at most
 * TOOL_TABLE_BUFFER rows to size its columns, then streams (wider values
 * later are cut to the width with "…"); the others hold one row at most.
 */
#define TOOL_TABLE_BUFFER 1000
struct tool_writer *tool_writer_new(FILE *f, enum tool_format fmt, struct fl_stmt *st);
void tool_writer_row(struct tool_writer *w);   /* the statement's current row */
void tool_writer_end(struct tool_writer *w);   /* flushes and frees */

/*
 * Step st to the end, writing every row; returns FL_OK or the step's error,
 * with *out_rows the count written.  An error of the first step is returned
 * before anything is written and not reported (the caller may try another
 * query); a later one is reported on stderr.
 */
int tool_write_all(struct fl_db *db, struct fl_stmt *st, FILE *f, enum tool_format fmt,
		   int64_t *out_rows);

/* ---- actions the API will surely refuse (action_check.c) ----------------- */

/*
 * Whether the API will surely refuse kind with params as this database
 * sees it (a second bid on a project, a thread no synced thread has): true,
 * with the reason and what to do in why.
 */
bool tool_action_refused(struct fl_db *db, const char *kind, const char *params, char *why, size_t n);

/* ---- files built into the binary (by embed.py) ---------------------------- */

struct tool_asset {
	const char *path;          /* "/app.js" */
	const char *content_type;
	const unsigned char *data; /* NUL-terminated, len bytes before it */
	size_t len;
};

/* ---- search (cmd_search.c) ------------------------------------------------ */

/*
 * The full-text search `flsync search` runs, its rows (kind, id, title,
 * time, snippet, rank) written to f in fmt, matches marked with open/close
 * in the snippet; *out_rows is how many.  Returns FL_OK, FL_ERR_INVALID
 * (too many parts in unspaced text) or the query's error code, reported
 * on stderr only when some rows were already written.
 */
int tool_search(struct fl_db *db, const char *text, bool projects, bool messages, int64_t limit,
		const char *open, const char *close, FILE *f, enum tool_format fmt, int64_t *out_rows);

/*
 * Which tables a search of text goes to: a column filter (title:react,
 * message:invoice) narrows *projects / *messages to the table that has the
 * column.  FL_OK, or FL_ERR_INVALID with why in err (a column neither has,
 * columns of both, a column of a table --in left out).
 */
int tool_search_tables(const char *text, bool *projects, bool *messages, char *err, size_t errlen);

/* ---- the home currency (currency.c) ---------------------------------------- */

struct tool_currency {
	char code[16];   /* "EUR" */
	double rate;     /* US dollars for one unit (currencies.exchange_rate), > 0 */
};

/*
 * The home currency: arg (--currency), else [report] currency of
 * flsyncd.conf, else USD, with its rate from db.  TOOL_USAGE (said, for
 * cmd) when the database has no such currency or no rate for it.
 */
int tool_currency_resolve(struct fl_db *db, const char *cmd, const char *arg, struct tool_currency *out);
/* code's rate in db, quietly: 0, 1 no such currency (or not letters and digits), 2 no rate for it, -1 the read failed. */
int tool_currency_lookup(struct fl_db *db, const char *code, struct tool_currency *out);
/* The configured home currency's code ([report] currency, else "USD"); the caller frees. */
char *tool_currency_default(void);
double tool_currency_from_usd(const struct tool_currency *c, double usd);
/* sql (prepared as st) with its *_usd columns converted and renamed *_code; NULL if it has none. */
char *tool_currency_wrap(struct fl_stmt *st, const char *sql, const struct tool_currency *c);

/* ---- export --view (export_view.c) ------------------------------------------ */

/* `flsync export --view NAME [--format csv|json|jsonl] [--out FILE]`. */
tool_cmd_fn tool_export_view;

#endif
