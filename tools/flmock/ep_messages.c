/*
 * ep_messages.c — messaging: Get Threads and Get Messages (time filter on
 * updated time: from_updated_time / to_updated_time), Get Thread By ID,
 * Create New Thread, Add New Message (a resend with the same
 * client_message_id returns the first message) and Update Threads (read,
 * unread, archive, unarchive, mute, unmute).  Every thread includes self.
 * With several accounts a thread is in one account's inbox, its members[0]'s
 * (the folder and read state are that account's view): the others see
 * neither it nor its messages.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "flmock.h"

static const char *const ctx_names[] = { "project", "general", "contest" };

static const char *ctx_name(int i) { return ctx_names[i]; }
static const char *folder_name(int i) { return out_folder(i); }
static const char *type_name(int i) { return i ? "primary" : "private_chat"; }

/* First index in an updated-time index whose time is >= from. */
static size_t index_from(const struct time_index *ti, const void *base, size_t size, size_t off, int64_t from)
{
	size_t lo = 0, hi = ti->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (*(const int64_t *)((const char *)base + (size_t)ti->ix[mid] * size + off) < from)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool thread_visible(const struct fm_req *r, const struct thread *t)
{
	return t && t->members[0] == r->self;
}

static bool has_member(const struct thread *t, const struct idset *s)
{
	int i;

	for (i = 0; i < t->nmembers; i++)
		if (idset_has(s, t->members[i]))
			return true;
	return false;
}

/* An optional boolean filter: -1 absent, else 0/1. */
static int tristate(const struct fm_req *r, const char *key)
{
	return req_param(r, key) ? req_flag(r, key) : -1;
}

struct thread_filter {
	struct idset threads, contexts, members, owners;
	uint32_t folders, types, ctx_type;
	int is_read, is_muted;
};

static bool thread_matches(const struct thread_filter *f, const struct thread *t)
{
	return (!f->threads.on || idset_has(&f->threads, t->id)) &&
	       (!f->contexts.on || idset_has(&f->contexts, t->context_id)) &&
	       (!f->members.on || has_member(t, &f->members)) &&
	       (!f->owners.on || idset_has(&f->owners, t->owner)) &&
	       (!f->folders || (f->folders & (1u << t->folder))) &&
	       (!f->types || (f->types & (1u << t->primary))) &&
	       (!f->ctx_type || (f->ctx_type & (1u << t->context_type))) &&
	       (f->is_read < 0 || f->is_read == t->is_read) &&
	       (f->is_muted < 0 || f->is_muted == t->is_muted);
}

/* context_type is a single value; thread_type the deprecated single form of thread_types[]. */
static bool single_enum(struct fm_req *r, const char *key, const char *(*name)(int), int n, uint32_t *mask)
{
	const char *v = req_param(r, key);
	int i;

	if (!v)
		return true;
	for (i = 0; i < n; i++)
		if (strcasecmp(name(i), v) == 0) {
			*mask |= 1u << i;
			return true;
		}
	return req_fail(r, 400, "Rest", "BAD_ENUM", "You have provided an incorrect enum.");
}

void ep_threads_list(struct fm_req *r)
{
	struct world *w = r->w;
	struct thread_filter f = { 0 };
	struct pager pg = { 0 };
	const struct time_index *ti;
	struct userset us;
	int64_t from, to;
	size_t i;

	userset_init(&us, r);
	f.is_read = tristate(r, "is_read");
	f.is_muted = tristate(r, "is_muted");
	if (!req_page(r, &pg.offset, &pg.limit) ||
	    !req_window(r, "from_updated_time", "to_updated_time", &from, &to) ||
	    !req_ids(r, "threads", &f.threads) || !req_ids(r, "contexts", &f.contexts) ||
	    !req_ids(r, "members", &f.members) || !req_ids(r, "owners", &f.owners) ||
	    !req_enums(r, "folders", folder_name, 3, &f.folders) ||
	    !req_enums(r, "thread_types", type_name, 2, &f.types) ||
	    !single_enum(r, "thread_type", type_name, 2, &f.types) ||
	    !single_enum(r, "context_type", ctx_name, 3, &f.ctx_type))
		goto out;
	ti = world_threads_by_update(w);
	jw_obj(&r->jw);
	jw_karr(&r->jw, "threads");
	for (i = index_from(ti, w->threads.v, sizeof *w->threads.v, offsetof(struct thread, time_updated), from);
	     i < ti->n; i++) {
		const struct thread *t = &w->threads.v[ti->ix[i]];

		if (t->time_updated >= to)
			break;
		if (thread_matches(&f, t) && thread_visible(r, t) && pager_take(&pg)) {
			userset_add(&us, t->owner);
			for (int k = 0; k < t->nmembers; k++)
				userset_add(&us, t->members[k]);
			out_thread(&r->jw, w, t);
		}
	}
	jw_end_arr(&r->jw);
	if (req_flag(r, "count"))
		jw_kint(&r->jw, "count", (int64_t)pg.seen);
	if (us.on)
		userset_emit(&us, r); /* "user_details: each thread member" (Get Threads) */
	jw_end_obj(&r->jw);
out:
	free(us.ids);
	idset_free(&f.threads);
	idset_free(&f.contexts);
	idset_free(&f.members);
	idset_free(&f.owners);
}

/* As the reference's example: the thread inside a one-element "threads" list. */
void ep_thread_get(struct fm_req *r)
{
	const struct thread *t = world_thread(r->w, r->path_id);

	if (!thread_visible(r, t)) {
		req_not_found(r);
		return;
	}
	jw_obj(&r->jw);
	jw_karr(&r->jw, "threads");
	out_thread(&r->jw, r->w, t);
	jw_end_arr(&r->jw);
	jw_end_obj(&r->jw);
}

/* Get Message By ID: shaped like the list, as the reference's example. */
void ep_message_get(struct fm_req *r)
{
	const struct message *msg = world_message(r->w, r->path_id);

	if (!msg || !thread_visible(r, world_thread(r->w, msg->thread_id))) {
		req_not_found(r);
		return;
	}
	jw_obj(&r->jw);
	jw_knull(&r->jw, "threads");
	jw_karr(&r->jw, "messages");
	out_message(&r->jw, r->w, msg);
	jw_end_arr(&r->jw);
	jw_knull(&r->jw, "users");
	jw_end_obj(&r->jw);
}

void ep_messages_list(struct fm_req *r)
{
	struct world *w = r->w;
	struct idset threads = { 0 }, senders = { 0 }, messages = { 0 }, contexts = { 0 };
	struct pager pg = { 0 };
	const struct time_index *ti;
	uint32_t ctx_type = 0;
	struct userset us;
	int64_t from, to;
	size_t i;

	userset_init(&us, r);
	if (!req_page(r, &pg.offset, &pg.limit) ||
	    !req_window(r, "from_updated_time", "to_updated_time", &from, &to) ||
	    !req_ids(r, "threads", &threads) || !req_ids(r, "senders", &senders) ||
	    !req_ids(r, "messages", &messages) || !req_ids(r, "contexts", &contexts) ||
	    !single_enum(r, "context_type", ctx_name, 3, &ctx_type))
		goto out;
	ti = world_messages_by_update(w);
	jw_obj(&r->jw);
	jw_karr(&r->jw, "messages");
	i = index_from(ti, w->messages.v, sizeof *w->messages.v, offsetof(struct message, time_updated), from);
	if (!threads.on && !senders.on && !messages.on && !contexts.on && !ctx_type && w->naccounts <= 1) {
		/* Only the window: the page is a slice of the index, the count its length. */
		size_t start = i, end = index_from(ti, w->messages.v, sizeof *w->messages.v,
						   offsetof(struct message, time_updated), to);

		pg.seen = end > start ? end - start : 0;
		for (i = start + pg.offset; i < end && i < start + pg.offset + pg.limit; i++) {
			const struct message *m = &w->messages.v[ti->ix[i]];

			userset_add(&us, m->from_user);
			out_message(&r->jw, w, m);
		}
		i = ti->n;
	}
	for (; i < ti->n; i++) {
		const struct message *m = &w->messages.v[ti->ix[i]];
		const struct thread *t;

		if (m->time_updated >= to)
			break;
		if ((threads.on && !idset_has(&threads, m->thread_id)) ||
		    (senders.on && !idset_has(&senders, m->from_user)) ||
		    (messages.on && !idset_has(&messages, m->id)))
			continue;
		if (w->naccounts > 1 && !thread_visible(r, world_thread(w, m->thread_id)))
			continue; /* another account's conversation */
		if (contexts.on || ctx_type) {
			t = world_thread(w, m->thread_id);
			if ((contexts.on && !idset_has(&contexts, t->context_id)) ||
			    (ctx_type && !(ctx_type & (1u << t->context_type))))
				continue;
		}
		if (pager_take(&pg)) {
			userset_add(&us, m->from_user);
			out_message(&r->jw, w, m);
		}
	}
	jw_end_arr(&r->jw);
	jw_kint(&r->jw, "unfiltered_count", (int64_t)pg.seen);
	jw_knull(&r->jw, "threads");
	userset_emit(&us, r);
	jw_end_obj(&r->jw);
out:
	free(us.ids);
	idset_free(&threads);
	idset_free(&senders);
	idset_free(&messages);
	idset_free(&contexts);
}

/* ---- writes ------------------------------------------------------------------------- */

static bool bad(struct fm_req *r, const char *msg)
{
	return req_fail(r, 400, "Rest", "INVALID_REQUEST", msg);
}

static struct message *add_message(struct world *w, struct thread *t, int64_t from, const char *text,
				   int64_t client_id)
{
	struct message *m = world_add_message(w);

	if (!m)
		abort();
	m->thread_id = t->id;
	m->from_user = from;
	m->time_created = m->time_updated = w->now;
	m->client_message_id = client_id;
	m->text = strdup(text);
	if (!m->text)
		abort();
	t->message_count++;
	world_touch_thread(w, t, w->now);
	return m;
}

static bool same_members(const struct thread *t, const int64_t *m, int n)
{
	int i, j;

	if (t->nmembers != n)
		return false;
	for (i = 0; i < n; i++) {
		for (j = 0; j < n && t->members[j] != m[i]; j++)
			;
		if (j == n)
			return false;
	}
	return true;
}

/* Members from members[]: existing users, self added, at most MAX_MEMBERS. */
static bool thread_members(struct fm_req *r, int64_t *out, int *n)
{
	struct idset ids;
	size_t i;
	bool ok = true;

	if (!req_ids(r, "members", &ids))
		return false;
	out[0] = r->self;
	*n = 1;
	for (i = 0; i < ids.n && ok; i++) {
		if (ids.v[i] == r->self || (i && ids.v[i] == ids.v[i - 1]))
			continue;
		if (!world_user(r->w, ids.v[i]))
			ok = bad(r, "members[] holds an unknown user id");
		else if (*n == MAX_MEMBERS)
			ok = bad(r, "too many members");
		else
			out[(*n)++] = ids.v[i];
	}
	if (ok && *n < 2)
		ok = bad(r, "members[] must name at least one other user");
	idset_free(&ids);
	return ok;
}

/*
 * Creating the same conversation twice (same context and members) returns
 * the existing thread, so a retried create does not fork the conversation.
 */
void ep_thread_create(struct fm_req *r)
{
	struct world *w = r->w;
	const char *ctype = req_param(r, "context_type"), *type = req_param(r, "type");
	const char *text = req_param(r, "message");
	int64_t members[MAX_MEMBERS], context = 0;
	uint32_t cmask = 0, tmask = 0;
	int n = 0, c;
	struct thread *t = NULL;
	size_t i;

	if (!ctype)
		ctype = req_param(r, "context.type");
	if (!ctype) {
		bad(r, "context_type is required");
		return;
	}
	if (!single_enum(r, ctype == req_param(r, "context_type") ? "context_type" : "context.type", ctx_name, 3, &cmask) ||
	    (type && !single_enum(r, "type", type_name, 2, &tmask)) || !req_int(r, "context", &context) ||
	    !thread_members(r, members, &n))
		return;
	c = cmask == 1 ? 0 : cmask == 2 ? 1 : 2;
	if (c == 0 && !world_project(w, context)) {
		bad(r, "context must be an existing project id");
		return;
	}
	for (i = 0; i < w->threads.n && !t; i++) {
		struct thread *x = &w->threads.v[i];

		if (x->owner == r->self && x->context_type == c && x->context_id == (c == 1 ? 0 : context) &&
		    same_members(x, members, n))
			t = x;
	}
	if (!t) {
		t = world_add_thread(w);
		if (!t)
			abort();
		memcpy(t->members, members, sizeof members);
		t->nmembers = (uint8_t)n;
		t->owner = r->self;
		t->context_type = (uint8_t)c;
		t->context_id = c == 1 ? 0 : context;
		t->primary = tmask == 2;
		t->time_created = t->time_updated = t->time_read = w->now;
		t->is_read = true;
		t->folder = FOLDER_SENT;
	}
	if (text && *text)
		event_message(w, add_message(w, t, r->self, text, 0));
	r->object_id = t->id;
	out_thread(&r->jw, w, t);
}

/*
 * The attachments of Add New Message: files[] (file parts of a multipart
 * body) named by attachments[] ("Names of file attachments"), or by their
 * own file names; attachments[] alone names files uploaded before.  NULL
 * when there are none; else names NUL-ended, then an empty one.
 */
static char *message_attachments(const struct fm_req *r)
{
	const char *names[64], *files[64];
	size_t nn = 0, nf = 0, i, n;
	struct fm_buf b = { 0 };

	for (i = 0; i < r->nparams; i++) {
		const char *k = r->params[i].key;

		if (!strcmp(k, "attachments[]") && nn < 64 && *r->params[i].val)
			names[nn++] = r->params[i].val;
		else if ((!strcmp(k, "files[]") || !strcmp(k, "files")) && nf < 64)
			files[nf++] = NULL;
		else if ((!strcmp(k, "files[].filename") || !strcmp(k, "files.filename")) && nf > 0)
			files[nf - 1] = r->params[i].val;
	}
	n = nn > nf ? nn : nf;
	if (!n)
		return NULL;
	for (i = 0; i < n; i++) {
		if (i < nn)
			buf_puts(&b, names[i]);
		else if (files[i] && *files[i])
			buf_puts(&b, files[i]);
		else
			buf_printf(&b, "file-%zu", i + 1);
		buf_putc(&b, '\0');
	}
	buf_putc(&b, '\0');
	return b.data;
}

void ep_message_post(struct fm_req *r)
{
	struct world *w = r->w;
	const char *text = req_param(r, "message");
	int64_t tid = r->path_id, client_id = 0;
	struct thread *t;
	struct message *m = NULL;
	char *attachments;
	size_t i;

	if (!tid && !req_int(r, "thread_id", &tid))
		return;
	if (!req_int(r, "client_message_id", &client_id))
		return;
	t = world_thread(w, tid);
	if (!thread_visible(r, t)) {
		req_not_found(r);
		return;
	}
	attachments = message_attachments(r);
	if ((!text || !*text) && !attachments) {
		bad(r, "message must not be empty");
		return;
	}
	for (i = w->messages.n; client_id && i-- > 0 && !m;)
		if (w->messages.v[i].client_message_id == client_id && w->messages.v[i].thread_id == t->id &&
		    w->messages.v[i].from_user == r->self)
			m = &w->messages.v[i];
	if (!m) {
		m = add_message(w, t, r->self, text ? text : "", client_id);
		m->attachments = attachments;
		attachments = NULL;
		t->is_read = true;
		t->time_read = w->now;
		event_message(w, m);
	}
	free(attachments);
	r->object_id = m->id;
	out_message(&r->jw, w, m);
}

/* Update Threads: one action over threads[]; all ids must exist, or none changes. */
void ep_threads_action(struct fm_req *r)
{
	static const char *const actions[] = { "read", "unread", "archive", "unarchive", "mute", "unmute", "move" };
	struct world *w = r->w;
	const char *action = req_param(r, "action"), *target = req_param(r, "target");
	struct idset ids;
	size_t i;
	int a;

	if (!action) {
		bad(r, "action is required");
		return;
	}
	for (a = 0; a < 7 && strcasecmp(actions[a], action) != 0; a++)
		;
	if (a == 7) {
		req_fail(r, 400, "Rest", "BAD_ENUM", "You have provided an incorrect enum.");
		return;
	}
	if (!req_ids(r, "threads", &ids))
		return;
	if (!ids.n)
		bad(r, "threads[] is required");
	for (i = 0; i < ids.n && !r->error_code; i++)
		if (!thread_visible(r, world_thread(w, ids.v[i])))
			req_not_found(r);
	for (i = 0; i < ids.n && !r->error_code; i++) {
		struct thread *t = world_thread(w, ids.v[i]);

		switch (a) {
		case 0: t->is_read = true; t->time_read = w->now; break;
		case 1: t->is_read = false; break;
		case 2: t->folder = FOLDER_ARCHIVED; break;
		case 3: t->folder = FOLDER_INBOX; break;
		case 4: t->is_muted = true; break;
		case 5: t->is_muted = false; break;
		default: t->folder = target && strcasecmp(target, "archived") == 0 ? FOLDER_ARCHIVED : FOLDER_INBOX; break;
		}
		/* The thread's state for self changed: an updated-time window must see it. */
		world_touch_thread(w, t, w->now);
		r->object_id = t->id;
	}
	idset_free(&ids);
}
