/*
 * auth_token_source.c — token sources (see auth_token.h): what requests are signed
 * with, a fixed token or a token file's, and the refresh that runs under an
 * exclusive flock on the file, re-reading it first, so that of several
 * processes sharing one token file only one spends the single-use refresh
 * token and the others take the tokens it wrote.
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

#include "auth_oauth.h"
#include "auth_token.h"
#include "buf.h"

#define REFRESH_MARGIN_MAX 60   /* refresh at most this many seconds before expiry */

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

/* *dst takes *src (moved) when the grant gave one; the old value is freed, wiped when secret. */
static void take(char **dst, char **src, bool secret)
{
	if (!*src)
		return;
	if (secret)
		wipe_free(*dst);
	else
		free(*dst);
	*dst = *src;
	*src = NULL;
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
	take(&rec->access_token, &tok.access_token, true); /* never NULL after a grant */
	take(&rec->refresh_token, &tok.refresh_token, true); /* rotated: the old one is spent */
	take(&rec->token_type, &tok.token_type, false);
	take(&rec->scope, &tok.scope, false);
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
	rc = token_file_read_fd(fd, ts->path, &file, err);
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
