/*
 * flconf.h — flsyncd's configuration file, read the same way by flsyncd and
 * by `flsync status --all`: where it lives (XDG), its INI-like syntax, the
 * daemon's own keys, the [account NAME] sections with their databases and
 * token files, the [sink], and the library's sync options passed through
 * as "section.key" settings for fl_sync_configure() to judge.
 */
#ifndef FLCONF_H
#define FLCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One setting for the library (fl_sync_set_option()), with its line. */
struct flconf_setting {
	char *name;              /* "cadence.lookback" */
	char *value;
	long line;
};

/* One [account NAME] section. */
struct flconf_account {
	char *name;              /* [A-Za-z0-9_.-]+, at most 64 bytes */
	char *db;                /* db = PATH; default $XDG_DATA_HOME/flsync/NAME.db */
	char *api;               /* api = URL; NULL: flsyncd's --api */
	char *token_file;        /* token_file = PATH; NULL: FLSYNC_TOKEN */
	struct flconf_setting *settings; /* library options set in this section */
	int n_settings;
	long line;               /* of the section header */
};

struct flconf {
	char *path;              /* the file read, NULL when there was none */
	struct flconf_setting *settings; /* the library's, outside [account] sections */
	int n_settings;
	int64_t interval_s;      /* [cadence] interval: between an account's passes (300) */
	int max_parallel;        /* [limits] max_parallel: accounts syncing at once (4) */
	int64_t feed_keep_s;     /* [feed] keep: how long the change feed keeps a change (30d) */
	struct flconf_account *accounts;
	int n_accounts;
	char *sink_postgres;     /* [sink] postgres = CONNINFO, NULL for none */
	char *sink_schema;       /* [sink] schema (flsync) */
	int64_t lease_stale_s;   /* [sink] lease_stale: a lease this old may be taken over (60) */
	char *holder;            /* [sink] holder: this machine's name in leases (host:pid) */
	char *webhook_listen;    /* [webhook] listen = HOST:PORT, NULL for no listener */
	char *webhook_path;      /* [webhook] path: the secret path (one account only); NULL: random, kept */
	int64_t webhook_poll_s;  /* [webhook] poll_interval: between passes while the listener runs (0: interval) */
	int64_t webhook_check_s; /* [webhook] check: how often the webhook is checked still active (1h) */
	char *report_currency;   /* [report] currency: the home currency's code for flsync report/ui, NULL: USD */
};

/* The default file, $XDG_CONFIG_HOME/flsync/flsyncd.conf or ~/.config/...; NULL without a home. */
char *flconf_default_path(void);

/* The default database of an account, $XDG_DATA_HOME/flsync/NAME.db or ~/.local/share/...; NULL without a home. */
char *flconf_default_db(const char *account);

/*
 * Read path into out (defaults first, then the file's values).  A missing
 * file is an error only when required.  Returns 0, or -1 with err holding
 * "FILE:LINE: what is wrong" (out is then empty, but usable).  The
 * library's settings are not judged here: fl_sync_configure() does that,
 * and flconf_setting_error() words its verdict.
 */
int flconf_load(const char *path, bool required, struct flconf *out, char *err, size_t errlen);
void flconf_free(struct flconf *c);

/* The account named name, or NULL. */
const struct flconf_account *flconf_account(const struct flconf *c, const char *name);

/*
 * "FILE:LINE: unknown key 'k' in [s]" or "FILE:LINE: bad value for k: why"
 * for a setting fl_sync_configure() refused with rc and message msg.
 */
void flconf_setting_error(const struct flconf *c, const struct flconf_setting *s, int rc,
			  const char *msg, char *err, size_t errlen);

#endif
