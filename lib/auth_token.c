/*
 * auth_token.c — token records and token files (see auth_token.h): the record's JSON
 * (yajl's tree parser in, yajl_gen out), the file's safety checks and its
 * atomic replacement.  The sources that sign requests with them, and their
 * refresh, are auth_token_source.c.
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

#include "auth_oauth.h"
#include "auth_token.h"
#include "buf.h"

#define TOKEN_FILE_CAP (64 * 1024)

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

int token_file_read_fd(int fd, const char *path, struct token_record *out, struct fl_error *err)
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
	rc = token_file_read_fd(fd, path, out, err);
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
