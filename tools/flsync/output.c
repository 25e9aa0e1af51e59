/*
 * output.c — how flsync writes rows: an aligned table for a terminal, CSV
 * (RFC 4180), JSON (one array of objects) and JSONL (an object per line).
 * All stream: the table holds at most TOOL_TABLE_BUFFER rows to size its
 * columns, the others one row.  Also the text helpers they need: UTF-8
 * display width, JSON string escaping, HTML escaping.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

#define TABLE_MAX_WIDTH 80   /* a column wider than this is cut with "…" */

/* ---- UTF-8 ----------------------------------------------------------------- */

/* Decode one code point from s (n bytes left); invalid input gives U+FFFD over one byte. */
static unsigned utf8_next(const unsigned char *s, size_t n, size_t *used)
{
	unsigned c = s[0], cp, need, i;

	*used = 1;
	if (c < 0x80)
		return c;
	if (c >= 0xC2 && c <= 0xDF) { need = 1; cp = c & 0x1F; }
	else if (c >= 0xE0 && c <= 0xEF) { need = 2; cp = c & 0x0F; }
	else if (c >= 0xF0 && c <= 0xF4) { need = 3; cp = c & 0x07; }
	else return 0xFFFD;
	if (n < need + 1)
		return 0xFFFD;
	for (i = 1; i <= need; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0xFFFD;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	/* Overlong forms, surrogates, beyond U+10FFFF. */
	if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return 0xFFFD;
	*used = need + 1;
	return cp;
}

struct range { unsigned lo, hi; };

static const struct range zero_width[] = {
	{ 0x0300, 0x036F }, { 0x0483, 0x0489 }, { 0x0591, 0x05BD }, { 0x0610, 0x061A },
	{ 0x064B, 0x065F }, { 0x0E31, 0x0E31 }, { 0x0E34, 0x0E3A }, { 0x200B, 0x200F },
	{ 0x20D0, 0x20FF }, { 0xFE00, 0xFE0F }, { 0xFE20, 0xFE2F }, { 0x1F3FB, 0x1F3FF },
	{ 0xE0100, 0xE01EF },
};

static const struct range double_width[] = {
	{ 0x1100, 0x115F }, { 0x2E80, 0x303E }, { 0x3041, 0x33FF }, { 0x3400, 0x4DBF },
	{ 0x4E00, 0x9FFF }, { 0xA000, 0xA4CF }, { 0xAC00, 0xD7A3 }, { 0xF900, 0xFAFF },
	{ 0xFE30, 0xFE4F }, { 0xFF00, 0xFF60 }, { 0xFFE0, 0xFFE6 }, { 0x1F300, 0x1F64F },
	{ 0x1F680, 0x1F6FF }, { 0x1F900, 0x1F9FF }, { 0x20000, 0x3FFFD },
	/* emoji that terminals draw two columns wide (Unicode East Asian Width W) */
	{ 0x231A, 0x231B }, { 0x23E9, 0x23EC }, { 0x23F0, 0x23F0 }, { 0x23F3, 0x23F3 },
	{ 0x25FD, 0x25FE }, { 0x2614, 0x2615 }, { 0x2648, 0x2653 }, { 0x267F, 0x267F },
	{ 0x2693, 0x2693 }, { 0x26A1, 0x26A1 }, { 0x26AA, 0x26AB }, { 0x26BD, 0x26BE },
	{ 0x26C4, 0x26C5 }, { 0x26CE, 0x26CE }, { 0x26D4, 0x26D4 }, { 0x26EA, 0x26EA },
	{ 0x26F2, 0x26F3 }, { 0x26F5, 0x26F5 }, { 0x26FA, 0x26FA }, { 0x26FD, 0x26FD },
	{ 0x2705, 0x2705 }, { 0x270A, 0x270B }, { 0x2728, 0x2728 }, { 0x274C, 0x274C },
	{ 0x274E, 0x274E }, { 0x2753, 0x2755 }, { 0x2757, 0x2757 }, { 0x2795, 0x2797 },
	{ 0x27B0, 0x27B0 }, { 0x27BF, 0x27BF }, { 0x2B1B, 0x2B1C }, { 0x2B50, 0x2B50 },
	{ 0x2B55, 0x2B55 }, { 0x1F004, 0x1F004 }, { 0x1F0CF, 0x1F0CF }, { 0x1F18E, 0x1F18E },
	{ 0x1F191, 0x1F19A }, { 0x1F200, 0x1F2FF }, { 0x1F7E0, 0x1F7EB }, { 0x1FA70, 0x1FAFF },
};

static bool in_ranges(unsigned cp, const struct range *r, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (cp >= r[i].lo && cp <= r[i].hi)
			return true;
	return false;
}

static const struct range unspaced[] = {
	{ 0x0E00, 0x0EFF }, /* Thai, Lao */
	{ 0x1000, 0x109F }, /* Myanmar */
	{ 0x1780, 0x17FF }, /* Khmer */
	{ 0x3040, 0x30FF }, /* Hiragana, Katakana */
	{ 0x31F0, 0x31FF }, /* Katakana extensions */
	{ 0x3400, 0x4DBF }, /* CJK extension A */
	{ 0x4E00, 0x9FFF }, /* CJK unified ideographs */
	{ 0xF900, 0xFAFF }, /* CJK compatibility ideographs */
	{ 0xFF66, 0xFF9F }, /* half-width Katakana */
	{ 0x20000, 0x3134F }, /* CJK extensions B-G */
};

bool tool_unspaced_script(const char *s)
{
	size_t n = strlen(s), i = 0, used;

	while (i < n) {
		if (in_ranges(utf8_next((const unsigned char *)s + i, n - i, &used), unspaced,
			      sizeof unspaced / sizeof *unspaced))
			return true;
		i += used;
	}
	return false;
}

/*
 * Columns one code point takes; locale-independent, so tests see what users
 * see.  U+E000/U+E001 (private use) are the table's bold on/off marks
 * (TOOL_MARK_ON/OFF): they take none.
 */
static size_t cp_width(unsigned cp)
{
	if (cp == 0xE000 || cp == 0xE001)
		return 0;
	if (in_ranges(cp, zero_width, sizeof zero_width / sizeof *zero_width))
		return 0;
	if (cp >= 0x1100 && in_ranges(cp, double_width, sizeof double_width / sizeof *double_width))
		return 2;
	return 1;
}

char *tool_blank_controls(char *s)
{
	unsigned char *u = (unsigned char *)s;

	for (size_t i = 0; u && u[i]; i++) {
		if (u[i] == 0xC2 && u[i + 1] >= 0x80 && u[i + 1] <= 0x9F)
			u[i] = u[i + 1] = ' '; /* a C1 control, U+0080..U+009F */
		else if (u[i] < 0x20 || u[i] == 0x7F)
			u[i] = ' ';
	}
	return s;
}

void tool_text(FILE *f, const char *s)
{
	char *copy = s ? xstrdup(s) : NULL;

	if (copy)
		fputs(tool_blank_controls(copy), f);
	free(copy);
}

size_t tool_display_width(const char *s, size_t len)
{
	size_t i = 0, w = 0, used;

	while (i < len) {
		w += cp_width(utf8_next((const unsigned char *)s + i, len - i, &used));
		i += used;
	}
	return w;
}

void tool_json_string(FILE *f, const char *s, size_t len)
{
	size_t i = 0, used;

	putc('"', f);
	while (i < len) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x80) {
			switch (c) {
			case '"': fputs("\\\"", f); break;
			case '\\': fputs("\\\\", f); break;
			case '\n': fputs("\\n", f); break;
			case '\r': fputs("\\r", f); break;
			case '\t': fputs("\\t", f); break;
			default:
				if (c < 0x20 || c == 0x7F)
					fprintf(f, "\\u%04x", c);
				else
					putc(c, f);
			}
			i++;
			continue;
		}
		if (utf8_next((const unsigned char *)s + i, len - i, &used) == 0xFFFD && used == 1)
			fputs("\\ufffd", f);
		else
			fwrite(s + i, 1, used, f);
		i += used;
	}
	putc('"', f);
}

void tool_json_number(FILE *f, double v)
{
	char buf[40];
	int prec;

	if (!isfinite(v)) {
		fputs("null", f);
		return;
	}
	/* The shortest of %.15g..%.17g that reads back as the same double. */
	for (prec = 15; prec <= 17; prec++) {
		snprintf(buf, sizeof buf, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	fputs(buf, f);
}

void tool_html(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default: putc(*s, f);
		}
	}
}

/* ---- writers ----------------------------------------------------------------- */

struct cell {
	char *text;     /* NULL for SQL NULL */
	size_t len;
	bool numeric;   /* right-aligned in the table */
};

struct tool_writer {
	FILE *f;
	enum tool_format fmt;
	struct fl_stmt *st;
	int ncols;
	char **names;            /* JSON keys: column names made unique */
	int64_t rows;
	/* table only */
	size_t *width;
	struct cell *buf;        /* up to TOOL_TABLE_BUFFER rows x ncols */
	int buffered;
	bool streaming;          /* widths fixed, rows go out at once */
};

bool tool_parse_format(const char *s, enum tool_format *out)
{
	static const struct { const char *name; enum tool_format fmt; } names[] = {
		{ "table", FMT_TABLE }, { "csv", FMT_CSV }, { "json", FMT_JSON }, { "jsonl", FMT_JSONL },
		{ "markdown", FMT_MARKDOWN }, { "md", FMT_MARKDOWN }, { "tsv", FMT_TSV },
	};
	size_t i;

	for (i = 0; i < sizeof names / sizeof *names; i++)
		if (!strcmp(s, names[i].name)) {
			*out = names[i].fmt;
			return true;
		}
	return false;
}

/* The current row's value of col as text (blobs as hex); *out_alloc set when malloc'd. */
static const char *cell_text(struct fl_stmt *st, int col, size_t *len, char **out_alloc)
{
	enum fl_type t = fl_stmt_column_type(st, col);
	const unsigned char *b;
	char *hex;
	int n, i;

	*out_alloc = NULL;
	if (t == FL_TYPE_NULL) {
		*len = 0;
		return NULL;
	}
	if (t != FL_TYPE_BLOB) {
		const char *s = fl_stmt_column_text(st, col, &n);

		*len = (size_t)n;
		return s ? s : "";
	}
	b = fl_stmt_column_blob(st, col, &n);
	hex = xmalloc((size_t)n * 2 + 1);
	for (i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", b[i]);
	hex[2 * n] = '\0';
	*len = (size_t)n * 2;
	*out_alloc = hex;
	return hex;
}

static void csv_field(FILE *f, const char *s, size_t len)
{
	size_t i;

	if (!s)
		return;
	if (len == 0 || (!memchr(s, ',', len) && !memchr(s, '"', len) && !memchr(s, '\r', len) &&
	    !memchr(s, '\n', len))) {
		fwrite(s, 1, len, f);
		return;
	}
	putc('"', f);
	for (i = 0; i < len; i++) {
		if (s[i] == '"')
			putc('"', f);
		putc(s[i], f);
	}
	putc('"', f);
}

/* One Markdown table cell: '|' and '\\' escaped, a line break as <br>, the rest as is. */
static void markdown_field(FILE *f, const char *s, size_t len)
{
	for (size_t i = 0; s && i < len; i++) {
		if (s[i] == '|' || s[i] == '\\')
			putc('\\', f);
		if (s[i] == '\n')
			fputs("<br>", f);
		else if (s[i] != '\r')
			putc(s[i], f);
	}
}

/* One TSV field: tab, line feed, carriage return and backslash escaped. */
static void tsv_field(FILE *f, const char *s, size_t len)
{
	for (size_t i = 0; s && i < len; i++) {
		switch (s[i]) {
		case '\t': fputs("\\t", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\\': fputs("\\\\", f); break;
		default: putc(s[i], f);
		}
	}
}

/* The column names as a header line (Markdown with its rule line below). */
static void line_header(struct tool_writer *w)
{
	int c;

	for (c = 0; c < w->ncols; c++) {
		const char *n = fl_stmt_column_name(w->st, c);

		if (w->fmt == FMT_MARKDOWN) {
			fputs(c ? " | " : "| ", w->f);
			markdown_field(w->f, n ? n : "", n ? strlen(n) : 0);
		} else {
			if (c)
				putc('\t', w->f);
			tsv_field(w->f, n ? n : "", n ? strlen(n) : 0);
		}
	}
	if (w->fmt == FMT_MARKDOWN) {
		fputs(" |\n", w->f);
		for (c = 0; c < w->ncols; c++)
			fputs(c ? " | ---" : "| ---", w->f);
		fputs(" |", w->f);
	}
	putc('\n', w->f);
}

/* The current row as a Markdown or TSV line. */
static void line_row(struct tool_writer *w)
{
	int c;

	for (c = 0; c < w->ncols; c++) {
		char *alloc;
		size_t len;
		const char *s = cell_text(w->st, c, &len, &alloc);

		if (w->fmt == FMT_MARKDOWN) {
			fputs(c ? " | " : "| ", w->f);
			markdown_field(w->f, s, len);
		} else {
			if (c)
				putc('\t', w->f);
			tsv_field(w->f, s, len);
		}
		free(alloc);
	}
	fputs(w->fmt == FMT_MARKDOWN ? " |\n" : "\n", w->f);
}

static void json_row(struct tool_writer *w)
{
	int c;

	putc('{', w->f);
	for (c = 0; c < w->ncols; c++) {
		const char *s;
		char *alloc;
		size_t len;

		if (c)
			putc(',', w->f);
		tool_json_string(w->f, w->names[c], strlen(w->names[c]));
		putc(':', w->f);
		switch (fl_stmt_column_type(w->st, c)) {
		case FL_TYPE_NULL:
			fputs("null", w->f);
			break;
		case FL_TYPE_INTEGER:
			fprintf(w->f, "%lld", (long long)fl_stmt_column_int64(w->st, c));
			break;
		case FL_TYPE_REAL:
			tool_json_number(w->f, fl_stmt_column_double(w->st, c));
			break;
		default:
			s = cell_text(w->st, c, &len, &alloc);
			tool_json_string(w->f, s, len);
			free(alloc);
		}
	}
	putc('}', w->f);
}

/* Print s in exactly width columns: control characters (C0, DEL, C1) as spaces, cut with "…". */
static void table_cell(FILE *f, const char *s, size_t len, size_t width, bool right)
{
	size_t w = s ? tool_display_width(s, len) : 0, i = 0, used, out = 0;
	bool cut = w > width, bold = false;

	if (!cut && right)
		fprintf(f, "%*s", (int)(width - w), "");
	while (s && i < len) {
		unsigned cp = utf8_next((const unsigned char *)s + i, len - i, &used);
		size_t cw = cp_width(cp);

		if (cut && out + cw > width - 1)
			break;
		if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F))
			putc(' ', f); /* C0, DEL and C1 controls */
		else if (cp == 0xE000 || cp == 0xE001)
			fputs((bold = cp == 0xE000) ? "\x1b[1m" : "\x1b[0m", f);
		else if (cp == 0xFFFD && used == 1)
			fputs("\xEF\xBF\xBD", f);
		else
			fwrite(s + i, 1, used, f);
		out += cw;
		i += used;
	}
	if (bold)
		fputs("\x1b[0m", f);
	if (cut) {
		fputs("\xE2\x80\xA6", f); /* … */
		out++;
	}
	if (!right || cut)
		fprintf(f, "%*s", (int)(width > out ? width - out : 0), "");
}

static void table_line(struct tool_writer *w, const struct cell *cells)
{
	int c;

	for (c = 0; c < w->ncols; c++) {
		bool last = c == w->ncols - 1;

		if (c)
			fputs("  ", w->f);
		/* The last column is not padded: no trailing blanks. */
		if (last && !cells[c].numeric) {
			size_t cw = cells[c].text ? tool_display_width(cells[c].text, cells[c].len) : 0;

			table_cell(w->f, cells[c].text, cells[c].len, cw > w->width[c] ? w->width[c] : cw, false);
		} else {
			table_cell(w->f, cells[c].text, cells[c].len, w->width[c], cells[c].numeric);
		}
	}
	putc('\n', w->f);
}

static void table_header(struct tool_writer *w)
{
	struct cell *head = xmalloc(sizeof *head * (size_t)(w->ncols ? w->ncols : 1));
	int c;
	size_t i;

	for (c = 0; c < w->ncols; c++) {
		const char *n = fl_stmt_column_name(w->st, c);

		head[c].text = (char *)(n ? n : "");
		head[c].len = strlen(head[c].text);
		head[c].numeric = false;
	}
	table_line(w, head);
	for (c = 0; c < w->ncols; c++) {
		if (c)
			fputs("  ", w->f);
		for (i = 0; i < w->width[c]; i++)
			putc('-', w->f);
	}
	putc('\n', w->f);
	free(head);
}

static void free_cells(struct cell *cells, int n)
{
	int i;

	for (i = 0; i < n; i++)
		free(cells[i].text);
}

/* Fix the widths from the buffered rows, print them, stream from now on. */
static void table_flush(struct tool_writer *w)
{
	int r;

	if (w->streaming)
		return;
	table_header(w);
	for (r = 0; r < w->buffered; r++)
		table_line(w, &w->buf[(size_t)r * (size_t)w->ncols]);
	free_cells(w->buf, w->buffered * w->ncols);
	w->buffered = 0;
	w->streaming = true;
}

struct tool_writer *tool_writer_new(FILE *f, enum tool_format fmt, struct fl_stmt *st)
{
	struct tool_writer *w = xmalloc(sizeof *w);
	int c, k;

	memset(w, 0, sizeof *w);
	w->f = f;
	w->fmt = fmt;
	w->st = st;
	w->ncols = fl_stmt_column_count(st);
	w->names = xmalloc(sizeof *w->names * (size_t)(w->ncols ? w->ncols : 1));
	for (c = 0; c < w->ncols; c++) {
		const char *n = fl_stmt_column_name(st, c);

		w->names[c] = xstrdup(n ? n : "");
		/* JSON objects need unique keys: "id", "id_2", ... */
		for (k = 2;; k++) {
			int d;

			for (d = 0; d < c && strcmp(w->names[d], w->names[c]); d++)
				;
			if (d == c)
				break;
			free(w->names[c]);
			w->names[c] = xasprintf("%s_%d", n ? n : "", k);
		}
	}
	switch (fmt) {
	case FMT_CSV:
		for (c = 0; c < w->ncols; c++) {
			const char *n = fl_stmt_column_name(st, c);

			if (c)
				putc(',', f);
			csv_field(f, n ? n : "", n ? strlen(n) : 0);
		}
		fputs("\r\n", f);
		break;
	case FMT_JSON:
		putc('[', f);
		break;
	case FMT_TABLE:
		w->width = xmalloc(sizeof *w->width * (size_t)(w->ncols ? w->ncols : 1));
		w->buf = xmalloc(sizeof *w->buf * (size_t)(w->ncols ? w->ncols : 1) * TOOL_TABLE_BUFFER);
		for (c = 0; c < w->ncols; c++) {
			const char *n = fl_stmt_column_name(st, c);

			w->width[c] = n ? tool_display_width(n, strlen(n)) : 0;
			if (w->width[c] > TABLE_MAX_WIDTH)
				w->width[c] = TABLE_MAX_WIDTH;
		}
		break;
	case FMT_JSONL:
		break;
	case FMT_MARKDOWN:
	case FMT_TSV:
		line_header(w);
		break;
	}
	return w;
}

void tool_writer_row(struct tool_writer *w)
{
	struct cell *cells;
	int c;

	switch (w->fmt) {
	case FMT_CSV:
		for (c = 0; c < w->ncols; c++) {
			char *alloc;
			size_t len;
			const char *s = cell_text(w->st, c, &len, &alloc);

			if (c)
				putc(',', w->f);
			csv_field(w->f, s, len);
			free(alloc);
		}
		fputs("\r\n", w->f);
		break;
	case FMT_JSON:
		fputs(w->rows ? ",\n" : "\n", w->f);
		json_row(w);
		break;
	case FMT_JSONL:
		json_row(w);
		putc('\n', w->f);
		break;
	case FMT_MARKDOWN:
	case FMT_TSV:
		line_row(w);
		break;
	case FMT_TABLE:
		if (!w->streaming && w->buffered == TOOL_TABLE_BUFFER)
			table_flush(w);
		cells = w->streaming ? w->buf : &w->buf[(size_t)w->buffered * (size_t)w->ncols];
		for (c = 0; c < w->ncols; c++) {
			char *alloc;
			size_t len;
			const char *s = cell_text(w->st, c, &len, &alloc);
			enum fl_type t = fl_stmt_column_type(w->st, c);

			cells[c].text = alloc ? alloc : s ? memcpy(xmalloc(len + 1), s, len + 1) : NULL;
			cells[c].len = len;
			cells[c].numeric = t == FL_TYPE_INTEGER || t == FL_TYPE_REAL;
			if (!w->streaming) {
				size_t cw = s ? tool_display_width(s, len) : 0;

				if (cw > TABLE_MAX_WIDTH)
					cw = TABLE_MAX_WIDTH;
				if (cw > w->width[c])
					w->width[c] = cw;
			}
		}
		if (w->streaming) {
			table_line(w, cells);
			free_cells(cells, w->ncols);
		} else {
			w->buffered++;
		}
		break;
	}
	w->rows++;
}

void tool_writer_end(struct tool_writer *w)
{
	int c;

	if (!w)
		return;
	switch (w->fmt) {
	case FMT_JSON:
		fputs(w->rows ? "\n]\n" : "]\n", w->f);
		break;
	case FMT_TABLE:
		table_flush(w);
		break;
	default:
		break;
	}
	for (c = 0; c < w->ncols; c++)
		free(w->names[c]);
	free(w->names);
	free(w->width);
	free(w->buf);
	free(w);
}

int tool_write_all(struct fl_db *db, struct fl_stmt *st, FILE *f, enum tool_format fmt,
		   int64_t *out_rows)
{
	struct tool_writer *w;
	int rc, row;

	*out_rows = 0;
	/*
	 * Step once before writing anything: a run-time error (a bad FTS query,
	 * a lock) then leaves no half-written header behind.
	 */
	rc = fl_stmt_step(st, &row);
	if (rc)
		return rc;
	w = tool_writer_new(f, fmt, st);
	while (row) {
		tool_writer_row(w);
		rc = fl_stmt_step(st, &row);
		if (rc) {
			tool_db_fail(db, rc, "query");
			break;
		}
	}
	*out_rows = w->rows;
	tool_writer_end(w);
	return rc;
}
