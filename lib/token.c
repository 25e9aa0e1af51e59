/*
 * token.c — token files and token sources (see token.h): the record's JSON
 * (yajl's tree parser in, yajl_gen out), the file's safety checks, its
 * atomic replacement, and the refresh that runs under an exclusive flock on
 * the file, re-reading it first, so that of several processes sharing one
 * token file only one spends the single-use refresh token and the others
 * take the tokens it wrote.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "buf.h"
#include "oauth.h"
#include "token.h"

#define TOKEN_FILE_CAP (64 * 1024)
#define REFRESH_MARGIN_MAX 60   /* refresh at most this many seconds before expiry */

void token_record_free(struct token_record *r)
{
	if (!r)
		return;
	wipe_free(r->access_token);
	wipe_free(r->refresh_token);
	free(r->token_type);
	free(r->scope);
	free(r->token_url);
	free(r->client_id);
	free(r->client_secret_file);
	free(r->api);
	free(r->username);
	free(r->needs_login);
	memset(r, 0, sizeof *r);
}

static bool dup_opt(char **dst, const char *src)
{
	*dst = NULL;
	if (!src)
		return true;
	*dst = strdup(src);
	return *dst != NULL;
}

int token_record_copy(struct token_record *out, const struct token_record *src, struct fl_error *err)
{
	memset(out, 0, sizeof *out);
	out->expires_at = src->expires_at;
	out->obtained_at = src->obtained_at;
	out->user_id = src->user_id;
	out->bare = src->bare;
	if (dup_opt(&out->access_token, src->access_token) && dup_opt(&out->token_type, src->token_type) &&
	    dup_opt(&out->refresh_token, src->refresh_token) && dup_opt(&out->scope, src->scope) &&
	    dup_opt(&out->token_url, src->token_url) && dup_opt(&out->client_id, src->client_id) &&
	    dup_opt(&out->client_secret_file, src->client_secret_file) && dup_opt(&out->api, src->api) &&
	    dup_opt(&out->username, src->username) && dup_opt(&out->needs_login, src->needs_login))
		return FL_OK;
	token_record_free(out);
	return error_set(err, FL_ERR_NOMEM, "out of memory");
}

/* ---- parsing ----------------------------------------------------------------- */

static const char *const string_fields[] = {
	"access_token", "token_type", "refresh_token", "scope", "token_url", "client_id",
	"client_secret_file", "api", "username", "needs_login", NULL,
};

static char **string_slot(struct token_record *r, int i)
{
	char **slots[] = {
		&r->access_token, &r->token_type, &r->refresh_token, &r->scope, &r->token_url,
		&r->client_id, &r->client_secret_file, &r->api, &r->username, &r->needs_login,
	};
	return slots[i];
}

static const char *const int_fields[] = { "expires_at", "obtained_at", "user_id", "version", NULL };

static int parse_json(const char *text, const char *what, struct token_record *out, struct fl_error *err)
{
	char ebuf[160];
	yajl_val root = yajl_tree_parse(text, ebuf, sizeof ebuf);
	int rc = FL_OK;

	if (!root || !YAJL_IS_OBJECT(root)) {
		/* yajl's message may quote the text; the text holds secrets: do not repeat it. */
		rc = error_set(err, FL_ERR_INVALID, "%s: not a JSON token record (nor a bare token)", what);
		goto out;
	}
	for (size_t k = 0; k < root->u.object.len; k++) {
		const char *key = root->u.object.keys[k];
		yajl_val v = root->u.object.values[k];
		bool known = false;

		for (int i = 0; string_fields[i]; i++) {
			if (strcmp(key, string_fields[i]) != 0)
				continue;
			known = true;
			if (YAJL_IS_NULL(v))
				break;
			if (!YAJL_IS_STRING(v)) {
				rc = error_set(err, FL_ERR_INVALID, "%s: \"%s\" must be a string", what, key);
				goto out;
			}
			free(*string_slot(out, i));
			*string_slot(out, i) = strdup(v->u.string ? v->u.string : "");
			if (!*string_slot(out, i)) {
				rc = error_set(err, FL_ERR_NOMEM, "out of memory");
				goto out;
			}
		}
		for (int i = 0; !known && int_fields[i]; i++) {
			if (strcmp(key, int_fields[i]) != 0)
				continue;
			known = true;
			if (YAJL_IS_NULL(v))
				break;
			if (!YAJL_IS_INTEGER(v)) {
				rc = error_set(err, FL_ERR_INVALID, "%s: \"%s\" must be an integer", what, key);
				goto out;
			}
			if (i == 0)
				out->expires_at = YAJL_GET_INTEGER(v);
			else if (i == 1)
				out->obtained_at = YAJL_GET_INTEGER(v);
			else if (i == 2)
				out->user_id = YAJL_GET_INTEGER(v);
			else if (YAJL_GET_INTEGER(v) != 1) {
				rc = error_set(err, FL_ERR_INVALID,
					       "%s: token record version %lld is newer than this flsync reads (1)",
					       what, (long long)YAJL_GET_INTEGER(v));
				goto out;
			}
		}
		/* Unknown members are ignored: a later version may add some. */
	}
	if (!out->access_token || !out->access_token[0]) {
		rc = error_set(err, FL_ERR_INVALID, "%s: the token record has no access_token", what);
		goto out;
	}
	if (strpbrk(out->access_token, "\r\n") || (out->refresh_token && strpbrk(out->refresh_token, "\r\n"))) {
		rc = error_set(err, FL_ERR_INVALID, "%s: a token in the record contains a line break", what);
		goto out;
	}
	if (out->refresh_token && !out->refresh_token[0]) {
		free(out->refresh_token);
		out->refresh_token = NULL;
	}
	if (out->refresh_token && (!out->token_url || !out->client_id)) {
		rc = error_set(err, FL_ERR_INVALID,
			       "%s: the record has a refresh_token but no %s to refresh it with", what,
			       !out->token_url ? "token_url" : "client_id");
		goto out;
	}
out:
	if (root) {
		/* Wipe the tree's copies of the tokens. */
		for (size_t k = 0; k < root->u.object.len && YAJL_IS_OBJECT(root); k++) {
			yajl_val v = root->u.object.values[k];

			if (YAJL_IS_STRING(v) && v->u.string)
				explicit_bzero(v->u.string, strlen(v->u.string));
		}
		yajl_tree_free(root);
	}
	if (rc)
		token_record_free(out);
	return rc;
}

int token_record_parse(const char *text, size_t len, const char *what, struct token_record *out,
		       struct fl_error *err)
{
	size_t i = 0, n;
	char *copy;
	int rc;

	memset(out, 0, sizeof *out);
	if (memchr(text, '\0', len))
		return error_set(err, FL_ERR_INVALID, "%s: the token file holds a NUL byte", what);
	while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n'))
		i++;
	if (i == len)
		return error_set(err, FL_ERR_INVALID, "%s: the token file is empty", what);
	copy = strndup(text + i, len - i);
	if (!copy)
		return error_set(err, FL_ERR_NOMEM, "out of memory");
	if (copy[0] == '{') {
		rc = parse_json(copy, what, out, err);
		wipe_free(copy);
		return rc;
	}
	/* A bare token: its first line, without trailing blanks. */
	n = strcspn(copy, "\r\n");
	while (n > 0 && (copy[n - 1] == ' ' || copy[n - 1] == '\t'))
		n--;
	copy[n] = '\0';
	out->access_token = copy;
	out->bare = true;
	return FL_OK;
}

/* ---- formatting ----------------------------------------------------------------- */

static void gen_str(yajl_gen g, const char *key, const char *value)
{
	if (!value)
		return;
	yajl_gen_string(g, (const unsigned char *)key, strlen(key));
	yajl_gen_string(g, (const unsigned char *)value, strlen(value));
}

static void gen_int(yajl_gen g, const char *key, int64_t value)
{
	if (!value)
		return;
	yajl_gen_string(g, (const unsigned char *)key, strlen(key));
	yajl_gen_integer(g, (long long)value);
}

int token_record_format(const struct token_record *r, char **out, struct fl_error *err)
{
	yajl_gen g = yajl_gen_alloc(NULL);
	const unsigned char *data;
	size_t len;
	int rc = FL_OK;

	*out = NULL;
	if (!g)
		return error_set(err, FL_ERR_NOMEM, "out of memory");
	yajl_gen_config(g, yajl_gen_beautify, 1);
	yajl_gen_map_open(g);
	gen_int(g, "version", 1);
	gen_str(g, "access_token", r->access_token);
	gen_str(g, "token_type", r->token_type);
	gen_str(g, "refresh_token", r->refresh_token);
	gen_int(g, "expires_at", r->expires_at);
	gen_int(g, "obtained_at", r->obtained_at);
	gen_str(g, "scope", r->scope);
	gen_str(g, "token_url", r->token_url);
	gen_str(g, "client_id", r->client_id);
	gen_str(g, "client_secret_file", r->client_secret_file);
	gen_str(g, "api", r->api);
	gen_int(g, "user_id", r->user_id);
	gen_str(g, "username", r->username);
	gen_str(g, "needs_login", r->needs_login);
	if (yajl_gen_map_close(g) != yajl_gen_status_ok ||
	    yajl_gen_get_buf(g, &data, &len) != yajl_gen_status_ok) {
		rc = error_set(err, FL_ERR_INVALID, "the token record cannot be written as JSON (invalid UTF-8?)");
		goto out;
	}
	*out = strndup((const char *)data, len);
	if (!*out)
		rc = error_set(err, FL_ERR_NOMEM, "out of memory");
	explicit_bzero((void *)data, len);
out:
	yajl_gen_free(g);
	return rc;
}

/* ---- files -------------------------------------------------------------------- */

/* ssh's rule: no access for group or others, and our own file. */
static int check_safe(int fd, const char *path, const char *kind, struct fl_error *err)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return error_set(err, FL_ERR_IO, "%s %s: %s", kind, path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return error_set(err, FL_ERR_INVALID, "%s %s is not a regular file", kind, path);
	if (st.st_mode & 077)
		return error_set(err, FL_ERR_INVALID,
				 "%s %s has mode %04o: it is readable by others (group or world); "
				 "refusing it: chmod 600 %s",
				 kind, path, (unsigned)(st.st_mode & 07777), path);
	if (st.st_uid != geteuid())
		return error_set(err, FL_ERR_INVALID, "%s %s belongs to another user (uid %u); refusing it",
				 kind, path, (unsigned)st.st_uid);
	return FL_OK;
}

/* The whole of fd (at most TOKEN_FILE_CAP bytes) into b. */
static int read_all(int fd, const char *path, const char *kind, struct buf *b, struct fl_error *err)
{
	char chunk[4096];

	for (;;) {
		ssize_t n = read(fd, chunk, sizeof chunk);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			explicit_bzero(chunk, sizeof chunk);
			return error_set(err, FL_ERR_IO, "read %s %s: %s", kind, path, strerror(errno));
		}
		if (n == 0)
			break;
		if (!buf_append(b, chunk, (size_t)n)) {
			explicit_bzero(chunk, sizeof chunk);
			return error_set(err, b->len + (size_t)n > TOKEN_FILE_CAP ? FL_ERR_INVALID : FL_ERR_NOMEM,
					 "%s %s is larger than %d bytes", kind, path, TOKEN_FILE_CAP);
		}
	}
	explicit_bzero(chunk, sizeof chunk);
	return FL_OK;
}

static int read_fd(int fd, const char *path, struct token_record *out, struct fl_error *err)
{
	struct buf b;
	int rc;

	memset(out, 0, sizeof *out);
	buf_init(&b, TOKEN_FILE_CAP);
	rc = check_safe(fd, path, "token file", err);
	if (!rc)
		rc = read_all(fd, path, "token file", &b, err);
	if (!rc) {
		char what[FL_ERRMSG_MAX / 2];

		snprintf(what, sizeof what, "token file %s", path);
		rc = token_record_parse(b.data ? b.data : "", b.len, what, out, err);
	}
	if (b.data)
		explicit_bzero(b.data, b.len);
	buf_free(&b);
	return rc;
}

int token_file_read(const char *path, struct token_record *out, bool *missing, struct fl_error *err)
{
	int fd, rc;

	memset(out, 0, sizeof *out);
	if (missing)
		*missing = false;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (missing)
			*missing = errno == ENOENT;
		return error_set(err, FL_ERR_IO, "cannot open token file %s: %s", path, strerror(errno));
	}
	rc = read_fd(fd, path, out, err);
	close(fd);
	return rc;
}

static int write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

int token_file_write(const char *path, const struct token_record *r, struct fl_error *err)
{
	char *text = NULL, *tmp = NULL, *dircopy = NULL;
	int fd = -1, dfd, rc;

	rc = token_record_format(r, &text, err);
	if (rc)
		return rc;
	if (asprintf(&tmp, "%s.XXXXXX", path) < 0) {
		tmp = NULL;
		rc = error_set(err, FL_ERR_NOMEM, "out of memory");
		goto out;
	}
	/* mkstemp creates the file 0600: the token is never readable by others, not even briefly. */
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		rc = error_set(err, FL_ERR_IO, "cannot create a temporary file beside token file %s: %s", path,
			       strerror(errno));
		goto out;
	}
	if (fchmod(fd, 0600) != 0 || write_all(fd, text, strlen(text)) != 0 || write_all(fd, "\n", 1) != 0 ||
	    fsync(fd) != 0) {
		rc = error_set(err, FL_ERR_IO, "write token file %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		rc = error_set(err, FL_ERR_IO, "write token file %s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		rc = error_set(err, FL_ERR_IO, "replace token file %s: %s", path, strerror(errno));
		goto out;
	}
	free(tmp);
	tmp = NULL;
	/* The rename is durable only once the directory is on disk too. */
	dircopy = strdup(path);
	if (dircopy && (dfd = open(dirname(dircopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(dfd);
		close(dfd);
	}
out:
	if (fd >= 0)
		close(fd);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	free(dircopy);
	wipe_free(text);
	return rc;
}

int token_secret_read(const char *path, char **out, struct fl_error *err)
{
	struct buf b;
	int fd, rc;
	size_t n;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return error_set(err, FL_ERR_IO, "cannot open client secret file %s: %s", path, strerror(errno));
	buf_init(&b, TOKEN_FILE_CAP);
	rc = check_safe(fd, path, "client secret file", err);
	if (!rc)
		rc = read_all(fd, path, "client secret file", &b, err);
	close(fd);
	if (!rc) {
		n = b.data ? strcspn(b.data, "\r\n") : 0;
		while (n > 0 && (b.data[n - 1] == ' ' || b.data[n - 1] == '\t'))
			n--;
		if (n == 0)
			rc = error_set(err, FL_ERR_INVALID, "client secret file %s is empty", path);
		else if (!(*out = strndup(b.data, n)))
			rc = error_set(err, FL_ERR_NOMEM, "out of memory");
	}
	if (b.data)
		explicit_bzero(b.data, b.len);
	buf_free(&b);
	return rc;
}

/* ---- sources ------------------------------------------------------------------- */

struct token_source {
	pthread_mutex_t mu;         /* recursive: requests side by side share the source */
	char *path;                 /* NULL: a static token */
	struct token_record rec;    /* what requests are signed with */
	uint64_t gen;               /* bumped whenever rec.access_token changes */
	char *needs_login;          /* the message once the sign-in has ended */
	unsigned refreshed;         /* refresh grants made here */
	unsigned adopted;           /* tokens another process refreshed, taken from the file */
	int64_t early_not_before;   /* after a failed early refresh, wait till then to try again */
};

/* A new empty source with its lock. */
static struct token_source *source_alloc(void)
{
	struct token_source *ts = calloc(1, sizeof *ts);
	pthread_mutexattr_t a;

	if (!ts)
		return NULL;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&ts->mu, &a);
	pthread_mutexattr_destroy(&a);
	return ts;
}

void token_source_lock(struct token_source *ts)
{
	pthread_mutex_lock(&ts->mu);
}

void token_source_unlock(struct token_source *ts)
{
	pthread_mutex_unlock(&ts->mu);
}

uint64_t token_source_gen(struct token_source *ts)
{
	uint64_t gen;

	token_source_lock(ts);
	gen = ts->gen;
	token_source_unlock(ts);
	return gen;
}

int token_source_new_static(const char *token, struct token_source **out, struct fl_error *err)
{
	struct token_source *ts;

	*out = NULL;
	if (!token || !*token)
		return error_set(err, FL_ERR_MISUSE, "no token given");
	ts = source_alloc();
	if (!ts || !(ts->rec.access_token = strdup(token))) {
		token_source_free(ts);
		return error_set(err, FL_ERR_NOMEM, "out of memory");
	}
	ts->rec.bare = true;
	ts->gen = 1;
	*out = ts;
	return FL_OK;
}

/* What to tell a person whose sign-in ended. */
static int set_needs_login(struct token_source *ts, const char *why)
{
	free(ts->needs_login);
	if (asprintf(&ts->needs_login,
		     "the sign-in in token file %s has ended (%s): run flsync auth login --token-file %s",
		     ts->path, why, ts->path) < 0)
		ts->needs_login = NULL;
	return ts->needs_login ? FL_OK : FL_ERR_NOMEM;
}

int token_source_open_file(const char *path, struct token_source **out, struct fl_error *err)
{
	struct token_source *ts;
	int rc;

	*out = NULL;
	ts = source_alloc();
	if (!ts || !(ts->path = strdup(path))) {
		token_source_free(ts);
		return error_set(err, FL_ERR_NOMEM, "out of memory");
	}
	rc = token_file_read(path, &ts->rec, NULL, err);
	if (rc) {
		token_source_free(ts);
		return rc;
	}
	if (ts->rec.needs_login && set_needs_login(ts, ts->rec.needs_login) != FL_OK) {
		token_source_free(ts);
		return error_set(err, FL_ERR_NOMEM, "out of memory");
	}
	ts->gen = 1;
	*out = ts;
	return FL_OK;
}

void token_source_free(struct token_source *ts)
{
	if (!ts)
		return;
	token_record_free(&ts->rec);
	free(ts->needs_login);
	free(ts->path);
	pthread_mutex_destroy(&ts->mu);
	free(ts);
}

/* Refresh this long before the expiry: a tenth of the lifetime, between 1 s and a minute. */
static bool expiry_due(const struct token_record *r, int64_t now)
{
	int64_t margin;

	if (r->expires_at <= 0)
		return false;
	margin = r->obtained_at > 0 && r->expires_at > r->obtained_at ? (r->expires_at - r->obtained_at) / 10
								       : REFRESH_MARGIN_MAX;
	if (margin > REFRESH_MARGIN_MAX)
		margin = REFRESH_MARGIN_MAX;
	if (margin < 1)
		margin = 1;
	return now >= r->expires_at - margin;
}

bool token_source_refreshable(const struct token_source *ts)
{
	return ts && ts->path && ts->rec.refresh_token && !ts->needs_login;
}

const char *token_source_current(struct token_source *ts, uint64_t *gen)
{
	int64_t now = (int64_t)time(NULL);
	const char *token;

	token_source_lock(ts);
	if (token_source_refreshable(ts) && expiry_due(&ts->rec, now) && now >= ts->early_not_before) {
		struct fl_error ignored = { 0 };

		/*
		 * A failure here surfaces as the API's 401, and the refresh after it
		 * names the cause.  A token service that is down is not asked again
		 * before every request meanwhile.
		 */
		if (token_source_refresh(ts, false, &ignored) != FL_OK)
			ts->early_not_before = now + 10;
	}
	*gen = ts->gen;
	token = ts->rec.access_token;
	token_source_unlock(ts);
	return token;
}

const char *token_source_needs_login(const struct token_source *ts)
{
	return ts ? ts->needs_login : NULL;
}

const char *token_source_path(const struct token_source *ts)
{
	return ts ? ts->path : NULL;
}

void token_source_counts(const struct token_source *ts, unsigned *refreshed, unsigned *adopted)
{
	*refreshed = ts ? ts->refreshed : 0;
	*adopted = ts ? ts->adopted : 0;
}

/*
 * Open path and hold an exclusive flock on it.  The file is replaced by
 * rename, so the lock taken may be on an inode that is no longer the path's:
 * then try again on the new one.  Returns the fd, or -1 with err set.
 */
static int lock_file(const char *path, struct fl_error *err)
{
	for (int tries = 0; tries < 100; tries++) {
		struct stat a, b;
		int fd = open(path, O_RDONLY | O_CLOEXEC);

		if (fd < 0) {
			error_set(err, FL_ERR_IO, "cannot open token file %s: %s", path, strerror(errno));
			return -1;
		}
		while (flock(fd, LOCK_EX) != 0) {
			if (errno != EINTR) {
				error_set(err, FL_ERR_IO, "cannot lock token file %s: %s", path, strerror(errno));
				close(fd);
				return -1;
			}
		}
		if (fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
			return fd;
		close(fd);
	}
	error_set(err, FL_ERR_IO, "token file %s keeps being replaced; cannot lock it", path);
	return -1;
}

/* Take rec (moved) as the source's current record. */
static void adopt(struct token_source *ts, struct token_record *rec)
{
	bool changed = !ts->rec.access_token || strcmp(ts->rec.access_token, rec->access_token) != 0;

	token_record_free(&ts->rec);
	ts->rec = *rec;
	memset(rec, 0, sizeof *rec);
	if (changed)
		ts->gen++;
}

static bool dir_writable(const char *path)
{
	char *copy = strdup(path);
	bool ok = copy && access(dirname(copy), W_OK) == 0;

	free(copy);
	return ok;
}

/* The refresh_token grant with the file's record; on success *rec holds the new tokens. */
static int grant_refresh(struct token_source *ts, struct token_record *rec, bool *got,
			 struct fl_error *err)
{
	struct oauth_tokens tok = { 0 };
	struct oauth_error oe;
	struct buf form;
	char *secret = NULL;
	int64_t now;
	int rc;

	*got = false;
	buf_init(&form, 0);
	/* The refresh token is spent by the grant: make sure its successor can be kept first. */
	if (!dir_writable(ts->path)) {
		rc = error_set(err, FL_ERR_IO,
			       "cannot refresh the access token: the directory of token file %s is not writable, "
			       "so the new refresh token could not be kept", ts->path);
		goto out;
	}
	if (rec->client_secret_file) {
		rc = token_secret_read(rec->client_secret_file, &secret, err);
		if (rc)
			goto out;
	}
	if (oauth_form_add(&form, "grant_type", "refresh_token") || oauth_form_add(&form, "refresh_token", rec->refresh_token) ||
	    oauth_form_add(&form, "client_id", rec->client_id) ||
	    (secret && oauth_form_add(&form, "client_secret", secret))) {
		rc = error_set(err, FL_ERR_NOMEM, "out of memory");
		goto out;
	}
	rc = oauth_token_request(rec->token_url, form.data, &tok, &oe, err);
	now = (int64_t)time(NULL);
	if (rc == FL_ERR_API && strcmp(oe.error, "invalid_grant") == 0) {
		/* The refresh token is spent, expired or revoked: only a new login mends this. */
		char why[400];

		snprintf(why, sizeof why, "the token service refused the refresh token: invalid_grant%s%s",
			 oe.description[0] ? ": " : "", oe.description);
		free(rec->needs_login);
		rec->needs_login = strdup(why);
		if (set_needs_login(ts, why) != FL_OK || !rec->needs_login) {
			rc = error_set(err, FL_ERR_NOMEM, "out of memory");
			goto out;
		}
		/* Every process sharing the file, and flsync auth status, must see it. */
		token_file_write(ts->path, rec, err);
		rc = error_set(err, FL_ERR_API, "%s", ts->needs_login);
		goto out;
	}
	if (rc == FL_ERR_API && (strcmp(oe.error, "invalid_client") == 0 || strcmp(oe.error, "unauthorized_client") == 0)) {
		char why[400];

		snprintf(why, sizeof why, "the token service refused client id %s: %s%s%s; check %s", rec->client_id,
			 oe.error, oe.description[0] ? ": " : "", oe.description,
			 rec->client_secret_file ? rec->client_secret_file : "the client secret file");
		if (set_needs_login(ts, why) != FL_OK) {
			rc = error_set(err, FL_ERR_NOMEM, "out of memory");
			goto out;
		}
		rc = error_set(err, FL_ERR_API, "%s", ts->needs_login);
		goto out;
	}
	if (rc) {
		error_prefix(err, "refresh the access token of %s", ts->path);
		goto out;
	}
	wipe_free(rec->access_token);
	rec->access_token = tok.access_token;
	tok.access_token = NULL;
	if (tok.refresh_token) {
		/* Rotated: the old one is spent. */
		wipe_free(rec->refresh_token);
		rec->refresh_token = tok.refresh_token;
		tok.refresh_token = NULL;
	}
	if (tok.token_type) {
		free(rec->token_type);
		rec->token_type = tok.token_type;
		tok.token_type = NULL;
	}
	if (tok.scope) {
		free(rec->scope);
		rec->scope = tok.scope;
		tok.scope = NULL;
	}
	rec->obtained_at = now;
	rec->expires_at = tok.expires_in > 0 ? now + tok.expires_in : 0;
	*got = true;
	ts->refreshed++;
	rc = token_file_write(ts->path, rec, err);
	if (rc)
		error_prefix(err, "keep the refreshed tokens");
out:
	oauth_tokens_free(&tok);
	if (form.data)
		explicit_bzero(form.data, form.len);
	buf_free(&form);
	wipe_free(secret);
	return rc;
}

static int refresh_locked(struct token_source *ts, bool after_401, struct fl_error *err);

int token_source_refresh(struct token_source *ts, bool after_401, struct fl_error *err)
{
	int rc;

	token_source_lock(ts);
	rc = refresh_locked(ts, after_401, err);
	token_source_unlock(ts);
	return rc;
}

static int refresh_locked(struct token_source *ts, bool after_401, struct fl_error *err)
{
	struct token_record file = { 0 };
	bool got = false;
	int fd, rc;

	if (!ts->path || !ts->rec.refresh_token)
		return error_set(err, FL_ERR_STATE, "the token%s%s cannot be refreshed (no refresh token)",
				 ts->path ? " in " : "", ts->path ? ts->path : "");
	if (ts->needs_login)
		return error_set(err, FL_ERR_STATE, "%s", ts->needs_login);
	fd = lock_file(ts->path, err);
	if (fd < 0)
		return err->rc;
	rc = read_fd(fd, ts->path, &file, err);
	if (rc)
		goto out;
	if (file.needs_login) {
		/* Another process learnt the sign-in ended. */
		set_needs_login(ts, file.needs_login);
		adopt(ts, &file);
		rc = error_set(err, FL_ERR_STATE, "%s", ts->needs_login ? ts->needs_login : "needs login");
		goto out;
	}
	if (!file.refresh_token) {
		rc = error_set(err, FL_ERR_STATE, "token file %s no longer holds a refresh token", ts->path);
		goto out;
	}
	/*
	 * Someone else refreshed since we read the file: take their token,
	 * unless it is itself about to expire.  After a 401 a different token in
	 * the file is always worth one try.
	 */
	if (strcmp(file.access_token, ts->rec.access_token) != 0 &&
	    (after_401 || !expiry_due(&file, (int64_t)time(NULL)))) {
		adopt(ts, &file);
		ts->adopted++;
		rc = FL_OK;
		goto out;
	}
	rc = grant_refresh(ts, &file, &got, err);
	if (got)
		adopt(ts, &file); /* even if the file could not be written: this process goes on */
out:
	token_record_free(&file);
	close(fd); /* releases the lock */
	return rc;
}
