/*
 * webhook_receive.c — one webhook delivery, from the listener's cheap
 * check to its hint: the method, path, size and JSON check a listener makes
 * before it answers (no database), then, after the 2xx, the raw body stored
 * with its SHA-256 (a body seen before is a counted duplicate, never acted
 * on twice) and mapped to a coalesced targeted read in webhook_hints, or to
 * an early pass when it cannot be mapped.  The reference documents no
 * payload, so the mapping reads the event's type and ids defensively: ids
 * under "data" or at the top, numbers or numeric strings.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <yajl/yajl_parse.h>
#include <yajl/yajl_tree.h>

#include "flsync.h"
#include "store.h"

/* ---- before answering ----------------------------------------------------------- */

/* One whole JSON value and nothing after it; yajl's parser, no tree built. */
static bool well_formed(const char *body, size_t len)
{
	yajl_handle h;
	bool ok;

	if (!body || !len)
		return false;
	h = yajl_alloc(NULL, NULL, NULL);
	if (!h)
		return false;
	ok = yajl_parse(h, (const unsigned char *)body, len) == yajl_status_ok &&
	     yajl_complete_parse(h) == yajl_status_ok;
	yajl_free(h);
	return ok;
}

/* Equal strings, in time that depends on the lengths only: the path is the secret. */
static bool same_secret(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);
	unsigned diff = alen != blen;

	for (size_t i = 0; i < alen && i < blen; i++)
		diff |= (unsigned)(a[i] ^ b[i]);
	return diff == 0;
}

FL_API int fl_webhook_check(const char *method, const char *path, const char *secret_path, const char *body,
			    size_t len)
{
	size_t plen;

	if (!method || strcmp(method, "POST") != 0)
		return 405;
	if (!path || !secret_path || !*secret_path)
		return 404;
	plen = strcspn(path, "?");
	if (!same_secret(path, plen, secret_path))
		return 404;
	if (len > FL_WEBHOOK_MAX_BODY)
		return 413;
	if (!well_formed(body, len))
		return 400;
	return 200;
}

/* ---- mapping --------------------------------------------------------------------- */

struct mapped {
	const char *kind;          /* "thread", "bid", "project", "milestones"; NULL: unmappable */
	int64_t id;
	int64_t when;              /* the event's own time, 0 unknown */
	char type[64];             /* the event's type, "" if none */
};

static yajl_val field(yajl_val obj, const char *key)
{
	const char *path[2] = { key, NULL };

	return YAJL_IS_OBJECT(obj) ? yajl_tree_get(obj, path, yajl_t_any) : NULL;
}

/* A positive integer, given as a number or a numeric string. */
static bool pos_int(yajl_val v, int64_t *out)
{
	char *end;
	long long x;

	const char *s = YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : NULL;

	if (YAJL_IS_INTEGER(v)) {
		x = YAJL_GET_INTEGER(v);
	} else if (s && *s) {
		x = strtoll(s, &end, 10);
		if (*end)
			return false;
	} else {
		return false;
	}
	if (x <= 0)
		return false;
	*out = x;
	return true;
}

/* An id under "data", else at the top. */
static bool event_id(yajl_val top, yajl_val data, const char *key, int64_t *out)
{
	return pos_int(field(data, key), out) || pos_int(field(top, key), out);
}

static bool starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/*
 * Type families, as the reference lists the events: messages and
 * attachments -> that thread's messages; bid awarded/accepted/denied/
 * revoked -> that bid; milestone events and milestone requests -> that
 * project's milestones and requests; project completed -> that project.
 */
static void map_event(yajl_val top, struct mapped *m)
{
	yajl_val t = field(top, "type"), data = field(top, "data");
	int64_t id;
	const char *type;
	size_t i;

	memset(m, 0, sizeof *m);
	if (!YAJL_IS_STRING(t))
		t = field(top, "event");
	if (!YAJL_IS_STRING(t))
		t = field(top, "event_type");
	if (!YAJL_IS_OBJECT(data))
		data = NULL;
	pos_int(field(top, "timestamp"), &m->when);
	if (!YAJL_IS_STRING(t))
		return;
	type = YAJL_GET_STRING(t);
	for (i = 0; type[i] && i < sizeof m->type - 1; i++)
		m->type[i] = (char)tolower((unsigned char)type[i]);
	m->type[i] = '\0';
	if (starts(m->type, "message") || starts(m->type, "attachment") || starts(m->type, "private_message")) {
		if (event_id(top, data, "thread_id", &id))
			m->kind = "thread", m->id = id;
	} else if (starts(m->type, "bid")) {
		if (event_id(top, data, "bid_id", &id))
			m->kind = "bid", m->id = id;
	} else if (starts(m->type, "milestone")) {
		if (event_id(top, data, "project_id", &id))
			m->kind = "milestones", m->id = id;
	} else if (starts(m->type, "project.complete") || starts(m->type, "project_complete")) {
		if (event_id(top, data, "project_id", &id))
			m->kind = "project", m->id = id;
	}
}

/* ---- storing ---------------------------------------------------------------------- */

static void sha256_hex(const char *body, size_t len, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;

	if (!EVP_Digest(body, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32) {
		out[0] = '\0';
		return;
	}
	for (unsigned i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static int exec_bound(struct fl_db *db, const char *sql, const char *what, const char *t1, int64_t i2, int64_t i3,
		      int64_t i4)
{
	sqlite3_stmt *st;
	int rc = FL_OK;

	if (sqlite3_prepare_v2(db->sql, sql, -1, &st, NULL) != SQLITE_OK)
		return store_error(db, "%s", what);
	if (t1)
		sqlite3_bind_text(st, 1, t1, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, i2);
	sqlite3_bind_int64(st, 3, i3);
	sqlite3_bind_int64(st, 4, i4);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = store_error(db, "%s", what);
	sqlite3_finalize(st);
	return rc;
}

static int add_hint(struct fl_db *db, const char *kind, int64_t id, int64_t since, int64_t now)
{
	return exec_bound(db,
		"INSERT INTO webhook_hints(kind, id, since, events, first_received, gen) VALUES (?1, ?2, ?3, 1, ?4, 1) "
		"ON CONFLICT(kind, id) DO UPDATE SET since = min(since, excluded.since), events = events + 1, "
		"gen = gen + 1", "store webhook hint", kind, id, since, now);
}

static int stored_before(struct fl_db *db, const char *hash, bool *dup)
{
	sqlite3_stmt *st;
	int src;

	if (sqlite3_prepare_v2(db->sql, "SELECT 1 FROM webhook_deliveries WHERE sha256 = ?1 AND duplicate = 0 LIMIT 1",
			       -1, &st, NULL) != SQLITE_OK)
		return store_error(db, "look for an earlier delivery");
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	src = sqlite3_step(st);
	*dup = src == SQLITE_ROW;
	sqlite3_finalize(st);
	if (src != SQLITE_ROW && src != SQLITE_DONE)
		return store_error(db, "look for an earlier delivery");
	return FL_OK;
}

static int store_delivery(struct fl_db *db, int64_t now, const char *hash, const char *body, size_t len, bool dup,
			  const char *type, const char *outcome)
{
	sqlite3_stmt *st;
	int rc = FL_OK;

	if (sqlite3_prepare_v2(db->sql,
			       "INSERT INTO webhook_deliveries(received_at, sha256, body, duplicate, event_type, outcome) "
			       "VALUES (?1, ?2, ?3, ?4, ?5, ?6)", -1, &st, NULL) != SQLITE_OK)
		return store_error(db, "store webhook delivery");
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
	if (!dup)
		sqlite3_bind_text(st, 3, body, (int)len, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, dup ? 1 : 0);
	if (type && *type)
		sqlite3_bind_text(st, 5, type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, outcome, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = store_error(db, "store webhook delivery");
	sqlite3_finalize(st);
	return rc;
}

FL_API int fl_webhook_receive(struct fl_db *db, const char *body, size_t len, int64_t received_at,
			      int *out_outcome)
{
	char hash[65], perr[128], *copy;
	struct mapped m = { 0 };
	yajl_val v;
	bool dup = false;
	int rc, outcome;

	if (out_outcome)
		*out_outcome = 0;
	if (!db || (!body && len))
		return db ? error_set(&db->err, FL_ERR_MISUSE, "fl_webhook_receive: no body") : FL_ERR_MISUSE;
	error_clear(&db->err);
	if (len > FL_WEBHOOK_MAX_BODY)
		return error_set(&db->err, FL_ERR_TOO_BIG, "webhook delivery of %zu bytes: over the %d-byte cap", len,
				 FL_WEBHOOK_MAX_BODY);
	if (!well_formed(body, len))
		return error_set(&db->err, FL_ERR_PARSE, "webhook delivery of %zu bytes is not JSON", len);
	if (received_at <= 0)
		received_at = (int64_t)time(NULL);
	/* yajl_tree wants a C string; the body may hold none. */
	copy = malloc(len + 1);
	if (!copy)
		return error_set(&db->err, FL_ERR_NOMEM, "out of memory");
	memcpy(copy, body, len);
	copy[len] = '\0';
	v = yajl_tree_parse(copy, perr, sizeof perr);
	free(copy);
	if (!v)
		return error_set(&db->err, FL_ERR_PARSE, "webhook delivery: %s", perr);
	map_event(v, &m);
	yajl_tree_free(v);
	sha256_hex(body, len, hash);
	if (!hash[0])
		return error_set(&db->err, FL_ERR_NOMEM, "webhook delivery: SHA-256 failed");

	if ((rc = store_begin(db)))
		return rc;
	rc = stored_before(db, hash, &dup);
	outcome = dup ? FL_WEBHOOK_DUPLICATE : m.kind ? FL_WEBHOOK_HINT : FL_WEBHOOK_PASS;
	if (!rc)
		rc = store_delivery(db, received_at, hash, body, len, dup, m.type,
				    dup ? "duplicate" : m.kind ? "hint" : "pass");
	if (!rc && outcome == FL_WEBHOOK_HINT) {
		rc = add_hint(db, m.kind, m.id, m.when > 0 ? m.when : received_at, received_at);
		if (!rc)
			rc = exec_bound(db,
				"INSERT INTO webhook_seen(kind, id, received_at) VALUES (?1, ?2, ?3) "
				"ON CONFLICT(kind, id) DO UPDATE SET received_at = excluded.received_at",
				"note what a delivery announced", m.kind, m.id, received_at, 0);
	} else if (!rc && outcome == FL_WEBHOOK_PASS) {
		rc = add_hint(db, "pass", 0, m.when > 0 ? m.when : received_at, received_at);
		if (!rc)
			rc = exec_bound(db,
				"INSERT INTO webhook_state(key, num) VALUES ('unmapped_total', 1) "
				"ON CONFLICT(key) DO UPDATE SET num = coalesce(num, 0) + 1",
				"count an unmapped delivery", NULL, 0, 0, 0);
	}
	if (!rc)
		rc = store_commit(db);
	if (rc) {
		store_rollback(db);
		return rc;
	}
	if (out_outcome)
		*out_outcome = outcome;
	return FL_OK;
}

/* ---- pending hints ------------------------------------------------------------- */

FL_API int fl_webhook_hints_pending(struct fl_db *db, int64_t *out_reads, int64_t *out_passes)
{
	sqlite3_stmt *st;
	int src;

	if (out_reads)
		*out_reads = 0;
	if (out_passes)
		*out_passes = 0;
	if (!db)
		return FL_ERR_MISUSE;
	error_clear(&db->err);
	if (sqlite3_prepare_v2(db->sql,
			       "SELECT coalesce(sum(kind <> 'pass'), 0), coalesce(sum(kind = 'pass'), 0) FROM webhook_hints",
			       -1, &st, NULL) != SQLITE_OK)
		return store_error(db, "count webhook hints");
	src = sqlite3_step(st);
	if (src == SQLITE_ROW) {
		if (out_reads)
			*out_reads = sqlite3_column_int64(st, 0);
		if (out_passes)
			*out_passes = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	if (src != SQLITE_ROW)
		return store_error(db, "count webhook hints");
	return FL_OK;
}

FL_API int fl_webhook_pass_due(struct fl_db *db, int *out_due)
{
	int64_t reads = 0, passes = 0;
	int rc;

	if (out_due)
		*out_due = 0;
	if (!db || !out_due)
		return FL_ERR_MISUSE;
	rc = fl_webhook_hints_pending(db, &reads, &passes);
	if (!rc)
		*out_due = reads + passes > 0;
	return rc;
}
