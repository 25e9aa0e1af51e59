/*
 * lease.c — account leases in PostgreSQL, so that machines sharing one
 * mirror never both sync the same account.  SCHEMA.leases has one row per
 * account: its holder, the holder's last heartbeat, when it was taken and a
 * generation that counts hand-overs.
 *
 * A take runs in a short transaction: the row is made if there is none,
 * else locked with SELECT ... FOR UPDATE SKIP LOCKED, so a machine never
 * waits behind another's take or mirror run; it then renews its own lease,
 * takes over one whose heartbeat is older than the stale age, or is refused
 * with the holder's name.  Every age is measured by PostgreSQL's clock
 * (now() - heartbeat), never a machine's own, so skewed clocks cannot make
 * two holders.  A mirror run under a lease checks (and beats) it in its own
 * transaction (pgm_lease_check), which also keeps the row locked until the
 * rows are committed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

void pgm_default_holder(char *buf, size_t n)
{
	char host[256] = "";

	if (gethostname(host, sizeof host - 1) != 0 || !*host)
		snprintf(host, sizeof host, "localhost");
	snprintf(buf, n, "%s:%ld", host, (long)getpid());
}

/* Arguments every call checks; the connection made (again) and the table there. */
static int prepare(struct pgm_sink *s, const char *account, const char *holder)
{
	s->err[0] = '\0';
	if (!account || !*account || strlen(account) > 63)
		return pgm_fail(s, "the account takes a name of 1 to 63 characters"), PGM_USAGE;
	if (!holder || !*holder || strlen(holder) > 255)
		return pgm_fail(s, "the lease holder takes a name of 1 to 255 characters"), PGM_USAGE;
	if (!pgm_connected(s) || (!s->leases_ready && !pgm_schema_leases(s)))
		return PGM_FAIL;
	s->leases_ready = true;
	return PGM_OK;
}

/* Who holds the account's lease, read without a lock; false on a server error. */
static bool who_holds(struct pgm_sink *s, const char *account, struct pgm_lease_info *info)
{
	char *ident = pgm_ident2(s->schema, "leases");
	char *sql = xasprintf("SELECT holder, extract(epoch FROM now() - heartbeat) FROM %s WHERE account = $1", ident);
	const char *params[1] = { account };
	PGresult *r = pgm_params(s, sql, 1, params, "read the lease");

	free(sql);
	free(ident);
	memset(info, 0, sizeof *info);
	if (!r)
		return false;
	if (PQntuples(r)) {
		snprintf(info->holder, sizeof info->holder, "%s", PQgetvalue(r, 0, 0));
		info->age_s = strtod(PQgetvalue(r, 0, 1), NULL);
	}
	PQclear(r);
	return true;
}

static int refuse(struct pgm_sink *s, const char *account, const struct pgm_lease_info *held, bool busy)
{
	if (!held->holder[0])
		return pgm_fail(s, "account %s: its lease is being taken or given up right now; try again", account),
		       PGM_LEASE;
	if (busy)
		return pgm_fail(s, "account %s is leased to %s, which is syncing it right now", account, held->holder),
		       PGM_LEASE;
	return pgm_fail(s, "account %s is leased to %s (heartbeat %.0f s ago; stale after %.0f s)", account,
			held->holder, held->age_s, s->lease_stale_s), PGM_LEASE;
}

/* One attempt; *again when the row went away under us (released meanwhile). */
static int take_once(struct pgm_sink *s, const char *account, const char *holder, struct pgm_lease_info *info,
		     bool *again)
{
	char *ident = pgm_ident2(s->schema, "leases"), *sql, stale[32];
	const char *params[3] = { account, holder, stale };
	PGresult *r = NULL;
	int rc = PGM_FAIL;

	*again = false;
	snprintf(stale, sizeof stale, "%.3f", s->lease_stale_s);
	if (!pgm_exec(s, "BEGIN", "begin the lease"))
		goto out;
	/* Nobody has it: it is ours. */
	sql = xasprintf("INSERT INTO %s (account, holder, heartbeat, taken_at) VALUES ($1, $2, now(), now()) "
			"ON CONFLICT (account) DO NOTHING RETURNING 1", ident);
	r = pgm_params(s, sql, 2, params, "take the lease");
	free(sql);
	if (!r)
		goto rollback;
	if (PQntuples(r)) {
		rc = PGM_OK;
		goto commit;
	}
	PQclear(r);
	/* Someone has it: look, unless they are at it right now (then do not wait). */
	sql = xasprintf("SELECT holder, extract(epoch FROM now() - heartbeat), "
			"now() - heartbeat > make_interval(secs => $2::double precision) "
			"FROM %s WHERE account = $1 FOR UPDATE SKIP LOCKED", ident);
	params[1] = stale;
	r = pgm_params(s, sql, 2, params, "lock the lease");
	params[1] = holder;
	free(sql);
	if (!r)
		goto rollback;
	if (!PQntuples(r)) {
		PQclear(r);
		r = NULL;
		pgm_exec(s, "ROLLBACK", "roll back the lease");
		if (!who_holds(s, account, info))
			goto out;
		if (!info->holder[0]) {
			*again = true; /* given up between our two statements */
			goto out;
		}
		rc = refuse(s, account, info, true);
		goto out;
	}
	snprintf(info->holder, sizeof info->holder, "%s", PQgetvalue(r, 0, 0));
	info->age_s = strtod(PQgetvalue(r, 0, 1), NULL);
	if (strcmp(info->holder, holder) == 0) {
		sql = xasprintf("UPDATE %s SET heartbeat = now() WHERE account = $1", ident);
	} else if (strcmp(PQgetvalue(r, 0, 2), "t") == 0) {
		info->taken_over = true;
		sql = xasprintf("UPDATE %s SET holder = $2, heartbeat = now(), taken_at = now(), "
				"generation = generation + 1 WHERE account = $1", ident);
	} else {
		PQclear(r);
		r = NULL;
		pgm_exec(s, "ROLLBACK", "roll back the lease");
		rc = refuse(s, account, info, false);
		goto out;
	}
	PQclear(r);
	r = pgm_params(s, sql, strstr(sql, "$2") ? 2 : 1, params, "hold the lease");
	free(sql);
	if (!r)
		goto rollback;
	rc = PGM_OK;
commit:
	PQclear(r);
	r = NULL;
	if (!pgm_exec(s, "COMMIT", "commit the lease")) {
		rc = PGM_FAIL;
		goto out;
	}
	if (info->taken_over)
		pgm_warn(s, "account %s: took the lease over from %s (its heartbeat was %.0f s old)", account,
			 info->holder, info->age_s);
	goto out;
rollback:
	PQclear(r);
	r = NULL;
	pgm_exec(s, "ROLLBACK", "roll back the lease");
	rc = PGM_FAIL;
out:
	free(ident);
	return rc;
}

int pgm_lease_take(struct pgm_sink *s, const char *account, const char *holder, struct pgm_lease_info *info)
{
	struct pgm_lease_info scratch;
	bool again = true;
	int rc, tries;

	if (!info)
		info = &scratch;
	memset(info, 0, sizeof *info);
	if ((rc = prepare(s, account, holder)) != PGM_OK)
		return rc;
	for (tries = 0; again && tries < 3; tries++) {
		memset(info, 0, sizeof *info);
		rc = take_once(s, account, holder, info, &again);
	}
	if (again)
		rc = refuse(s, account, info, true);
	/* What info says on success: the previous holder only when it was taken over. */
	if (rc == PGM_OK && !info->taken_over)
		snprintf(info->holder, sizeof info->holder, "%s", holder);
	return rc;
}

int pgm_lease_renew(struct pgm_sink *s, const char *account, const char *holder)
{
	int rc = prepare(s, account, holder);

	if (rc != PGM_OK)
		return rc;
	if (!pgm_exec(s, "BEGIN", "begin the heartbeat"))
		return PGM_FAIL;
	rc = pgm_lease_check(s, account, holder);
	if (rc == PGM_OK)
		return pgm_exec(s, "COMMIT", "commit the heartbeat") ? PGM_OK : PGM_FAIL;
	pgm_exec(s, "ROLLBACK", "roll back the heartbeat");
	return rc;
}

int pgm_lease_release(struct pgm_sink *s, const char *account, const char *holder)
{
	char *ident, *sql;
	const char *params[2] = { account, holder };
	PGresult *r;
	int rc = prepare(s, account, holder);

	if (rc != PGM_OK)
		return rc;
	ident = pgm_ident2(s->schema, "leases");
	sql = xasprintf("DELETE FROM %s WHERE account = $1 AND holder = $2", ident);
	r = pgm_params(s, sql, 2, params, "release the lease");
	free(sql);
	free(ident);
	PQclear(r);
	return r ? PGM_OK : PGM_FAIL;
}

int pgm_lease_check(struct pgm_sink *s, const char *account, const char *holder)
{
	char *ident = pgm_ident2(s->schema, "leases");
	char *sql = xasprintf("UPDATE %s SET heartbeat = now() WHERE account = $1 AND holder = $2 RETURNING 1", ident);
	const char *params[2] = { account, holder };
	struct pgm_lease_info held;
	PGresult *r = pgm_params(s, sql, 2, params, "check the lease");
	int rc = PGM_FAIL;

	free(sql);
	free(ident);
	if (!r)
		return PGM_FAIL;
	if (PQntuples(r)) {
		PQclear(r);
		return PGM_OK;
	}
	PQclear(r);
	if (!who_holds(s, account, &held))
		return PGM_FAIL;
	if (held.holder[0])
		pgm_fail(s, "account %s: %s does not hold its lease, %s does (heartbeat %.0f s ago); nothing was written",
			 account, holder, held.holder, held.age_s);
	else
		pgm_fail(s, "account %s: %s does not hold its lease (nobody does; take it first); nothing was written",
			 account, holder);
	rc = PGM_LEASE;
	return rc;
}

int pgm_lease_get(struct pgm_sink *s, const char *account, struct pgm_lease_info *info)
{
	memset(info, 0, sizeof *info);
	s->err[0] = '\0';
	if (!account || !*account || strlen(account) > 63)
		return pgm_fail(s, "the account takes a name of 1 to 63 characters"), PGM_USAGE;
	if (!pgm_connected(s) || (!s->leases_ready && !pgm_schema_leases(s)))
		return PGM_FAIL;
	s->leases_ready = true;
	return who_holds(s, account, info) ? PGM_OK : PGM_FAIL;
}
