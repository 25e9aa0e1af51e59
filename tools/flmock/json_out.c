/*
 * json_out.c — serialisers from world records to the API's object shapes,
 * field names and nesting as in the reference's example responses.  Fields
 * the request did not project come out as null (left out under ?compact).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "out.h"

static const char *const upgrade_names[8] = {
	"featured", "sealed", "nonpublic", "fulltime", "urgent", "qualified", "NDA", "assisted",
};
enum { UP_FEATURED = 1, UP_SEALED = 2, UP_NONPUBLIC = 4, UP_URGENT = 16 };

static const char *const reason_names[4] = {
	"full_payment", "partial_payment", "task_description", "other",
};

const char *out_award_status(int s)
{
	static const char *const n[] = { NULL, "pending", "awarded", "rejected", "revoked", "canceled" };

	return n[s];
}

const char *out_milestone_status(int s)
{
	static const char *const n[] = { "pending", "frozen", "requested_release", "cleared", "canceled", "disputed" };

	return n[s];
}

const char *out_milestone_request_status(int s)
{
	static const char *const n[] = { "pending", "created", "rejected", "deleted" };

	return n[s];
}

const char *out_folder(int f)
{
	static const char *const n[] = { "inbox", "sent", "archived" };

	return n[f];
}

/*
 * Fragments that depend only on reference data (a currency, a location, a
 * job, a set of upgrades) are rendered once per variant and then copied:
 * printf-formatted rates and coordinates would otherwise dominate a page.
 * Rendering happens under the world lock, so the lazy fill needs no other.
 */
struct frag {
	char *s;
	size_t n;
};

static struct frag currency_frag[2][32], location_frag[2][2][32], upgrade_frag[2][256], job_frag[2][64];

static void frag_raw(struct jw *w, struct frag *f, void (*render)(struct jw *, int, int), int a, int b)
{
	if (!f->s) {
		struct fm_buf tmp = { 0 };
		struct jw tw;

		jw_init(&tw, &tmp, w->compact);
		render(&tw, a, b);
		f->s = buf_steal(&tmp, &f->n);
	}
	jw_raw(w, f->s, f->n);
}

void out_free_cache(void)
{
	size_t c, i, j;

	for (c = 0; c < 2; c++) {
		for (i = 0; i < 32; i++) {
			free(currency_frag[c][i].s);
			free(location_frag[c][0][i].s);
			free(location_frag[c][1][i].s);
		}
		for (j = 0; j < 256; j++)
			free(upgrade_frag[c][j].s);
		for (j = 0; j < 64; j++)
			free(job_frag[c][j].s);
	}
}

static bool needs_escape(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == '"' || s[i] == '\\')
			return true;
	return false;
}

/* A text field: the stored text if a write set one, else the seed's. */
static void ktext(struct jw *w, const char *k, const char *own, uint64_t seed, enum text_kind kind, int64_t id)
{
	struct fm_buf *b = w->b;
	size_t start;

	if (own) {
		jw_kstr(w, k, own);
		return;
	}
	jw_key(w, k);
	jw_raw(w, "\"", 1);
	start = b->len;
	text_emit(b, seed, kind, id);
	if (!needs_escape(b->data + start, b->len - start)) {
		buf_putc(b, '"');
		return;
	}
	{
		size_t n = b->len - start;
		char *copy = malloc(n + 1);

		if (!copy)
			abort();
		memcpy(copy, b->data + start, n);
		b->len = start - 1;
		jw_escape(b, copy, n);
		free(copy);
	}
}

static void render_currency(struct jw *w, int index, int unused)
{
	const struct currency *c = &ref_currencies[index];

	(void)unused;
	jw_obj(w);
	jw_kint(w, "id", c->id);
	jw_kstr(w, "code", c->code);
	jw_kstr(w, "sign", c->sign);
	jw_kstr(w, "name", c->name);
	jw_kdbl(w, "exchange_rate", c->exchange_rate);
	jw_kstr(w, "country", c->country);
	jw_end_obj(w);
}

void out_currency(struct jw *w, int index)
{
	frag_raw(w, &currency_frag[w->compact][index], render_currency, index, 0);
}

static void render_job(struct jw *w, int index, int unused)
{
	const struct job *j = &ref_jobs[index];
	const struct category *c = ref_category(j->category_id);

	(void)unused;
	jw_obj(w);
	jw_kint(w, "id", j->id);
	jw_kstr(w, "name", j->name);
	jw_kobj(w, "category");
	jw_kint(w, "id", c->id);
	jw_kstr(w, "name", c->name);
	jw_end_obj(w);
	jw_knull(w, "active_project_count");
	jw_kstr(w, "seo_url", j->seo_url);
	jw_knull(w, "seo_info");
	jw_end_obj(w);
}

void out_job(struct jw *w, const struct job *j)
{
	int index = (int)(j - ref_jobs);

	frag_raw(w, &job_frag[w->compact][index], render_job, index, 0);
}

static void render_location(struct jw *w, int country, int precise)
{
	const struct country *c = &ref_countries[country];

	jw_obj(w);
	jw_kobj(w, "country");
	jw_kstr(w, "name", c->name);
	jw_kstr(w, "code", c->code);
	jw_end_obj(w);
	jw_kstr(w, "city", c->city);
	if (precise) {
		jw_kdbl(w, "latitude", c->lat);
		jw_kdbl(w, "longitude", c->lon);
	} else {
		jw_knull(w, "latitude");
		jw_knull(w, "longitude");
	}
	jw_knull(w, "vicinity");
	jw_knull(w, "administrative_area");
	jw_knull(w, "full_address");
	jw_end_obj(w);
}

static void out_location(struct jw *w, int country, bool precise)
{
	frag_raw(w, &location_frag[w->compact][precise][country], render_location, country, precise);
}

static void render_upgrades(struct jw *w, int mask, int unused)
{
	int i;

	(void)unused;
	jw_obj(w);
	for (i = 0; i < 8; i++)
		jw_kbool(w, upgrade_names[i], mask & (1 << i));
	jw_end_obj(w);
}

static const char *project_status(const struct project *p)
{
	static const char *const n[] = { "active", "closed", "frozen", "closed" };

	return n[p->status];
}

static const char *frontend_status(const struct project *p)
{
	static const char *const n[] = { "open", "closed", "work_in_progress", "complete" };

	return n[p->status];
}

/* The first ~120 bytes of the description, cut on a UTF-8 boundary. */
static void preview(struct jw *w, const char *desc, size_t n)
{
	size_t cut = n;

	if (cut > 120) {
		cut = 120; /* desc has more than 120 bytes, so desc[cut] exists */
		while (cut > 0 && ((unsigned char)desc[cut] & 0xc0) == 0x80)
			cut--;
	}
	jw_key(w, "preview_description");
	jw_strn(w, desc, cut);
}

/* "<job>/project-<id>": plain ASCII, so no escaping (and no printf) needed. */
static void out_seo_url(struct jw *w, const struct project *p)
{
	const char *job = p->njobs ? ref_jobs[p->jobs[0]].seo_url : "project";

	jw_key(w, "seo_url");
	jw_raw(w, "\"", 1);
	buf_puts(w->b, job);
	buf_puts(w->b, "/project-");
	w->after_key = true;
	jw_int(w, p->id);
	buf_putc(w->b, '"');
}

void out_project(struct jw *w, const struct world *wd, const struct project *p, const struct proj_opts *o)
{
	struct fm_buf desc = { 0 };
	int i;

	if (p->description)
		buf_puts(&desc, p->description);
	else
		text_emit_prefix(&desc, wd->cfg.seed, TX_DESC, p->id, o->full_description ? SIZE_MAX : 121);
	jw_obj(w);
	jw_kint(w, "id", p->id);
	jw_kint(w, "owner_id", p->owner_id);
	ktext(w, "title", p->title, wd->cfg.seed, TX_TITLE, p->id);
	jw_kstr(w, "status", project_status(p));
	jw_knull(w, "sub_status");
	out_seo_url(w, p);
	jw_key(w, "currency");
	out_currency(w, p->currency);
	if (o->full_description) {
		jw_key(w, "description");
		jw_strn(w, desc.data ? desc.data : "", desc.len);
	} else {
		jw_knull(w, "description");
	}
	if (o->job_details) {
		jw_karr(w, "jobs");
		for (i = 0; i < p->njobs; i++)
			out_job(w, &ref_jobs[p->jobs[i]]);
		jw_end_arr(w);
	} else {
		jw_knull(w, "jobs");
	}
	jw_kint(w, "submitdate", p->time_submitted);
	preview(w, desc.data ? desc.data : "", desc.len);
	jw_kbool(w, "deleted", p->deleted);
	jw_kbool(w, "nonpublic", p->upgrades & UP_NONPUBLIC);
	jw_kbool(w, "hidebids", p->upgrades & UP_SEALED);
	jw_kstr(w, "type", p->hourly ? "hourly" : "fixed");
	jw_kint(w, "bidperiod", 7);
	jw_kobj(w, "budget");
	jw_kdbl(w, "minimum", p->budget_min);
	jw_kdbl(w, "maximum", p->budget_max);
	jw_end_obj(w);
	if (p->hourly) {
		jw_kobj(w, "hourly_project_info");
		jw_kobj(w, "commitment");
		static const char *const intervals[] = { "week", "hour", "day", "month" };

		jw_kint(w, "hours", p->commitment_hours ? p->commitment_hours : 10 + (int)(p->id % 30));
		jw_kstr(w, "interval", intervals[p->commitment_interval % 4]);
		jw_end_obj(w);
		jw_kstr(w, "duration_enum", "unspecified");
		jw_end_obj(w);
	} else {
		jw_knull(w, "hourly_project_info");
	}
	jw_kbool(w, "featured", p->upgrades & UP_FEATURED);
	jw_kbool(w, "urgent", p->upgrades & UP_URGENT);
	jw_kobj(w, "bid_stats");
	jw_kint(w, "bid_count", p->bid_count);
	jw_key(w, "bid_avg");
	jw_cents(w, p->bid_count ? (int64_t)(p->bid_total / p->bid_count * 100) : 0);
	jw_end_obj(w);
	jw_kint(w, "time_submitted", p->time_submitted);
	jw_kint(w, "time_updated", p->time_updated);
	jw_key(w, "upgrades");
	frag_raw(w, &upgrade_frag[w->compact][p->upgrades], render_upgrades, p->upgrades, 0);
	jw_kstr(w, "language", "en");
	jw_kbool(w, "hireme", p->hireme);
	jw_kstr(w, "frontend_project_status", frontend_status(p));
	jw_key(w, "location");
	out_location(w, p->country, p->local);
	jw_kbool(w, "local", p->local);
	jw_kbool(w, "negotiated", false);
	jw_knull(w, "time_free_bids_expire");
	jw_knull(w, "files");
	jw_knull(w, "attachments");
	jw_knull(w, "qualifications");
	jw_end_obj(w);
	buf_free(&desc);
}

void out_bid(struct jw *w, const struct world *wd, const struct bid *b)
{
	bool accepted = b->award_status == AW_AWARDED;

	jw_obj(w);
	jw_kint(w, "id", b->id);
	jw_kint(w, "bidder_id", b->bidder_id);
	jw_kint(w, "project_id", b->project_id);
	jw_kbool(w, "retracted", b->retracted);
	jw_kdbl(w, "amount", b->amount);
	jw_kint(w, "period", b->period);
	ktext(w, "description", b->description, wd->cfg.seed, TX_BID, b->id);
	jw_kint(w, "project_owner_id", b->project_owner_id);
	jw_kint(w, "submitdate", b->time_submitted);
	jw_kint(w, "time_submitted", b->time_submitted);
	jw_kbool(w, "highlighted", b->highlighted);
	jw_kint(w, "sponsored", 0);
	jw_kint(w, "milestone_percentage", b->milestone_percentage);
	jw_kstr(w, "award_status", out_award_status(b->award_status));
	jw_kstr(w, "paid_status", b->paid_full ? "fully_paid" : "unpaid");
	jw_kstr(w, "complete_status", accepted ? (b->paid_full ? "complete" : "incomplete") : "pending");
	jw_knull(w, "reputation");
	if (b->time_awarded)
		jw_kint(w, "time_awarded", b->time_awarded);
	else
		jw_knull(w, "time_awarded");
	if (b->time_accepted)
		jw_kint(w, "time_accepted", b->time_accepted);
	else
		jw_knull(w, "time_accepted");
	jw_kstr(w, "frontend_bid_status", accepted ? (b->paid_full ? "complete" : "in_progress") : "active");
	jw_knull(w, "hireme_counter_offer");
	jw_kbool(w, "shortlisted", b->shortlisted);
	jw_kdbl(w, "score", (double)(b->id % 1000) / 10.0);
	jw_knull(w, "distance");
	jw_kbool(w, "is_location_tracked", false);
	jw_end_obj(w);
}

void out_milestone(struct jw *w, const struct world *wd, const struct milestone *m)
{
	jw_obj(w);
	jw_kint(w, "transaction_id", m->id);
	jw_kint(w, "id", m->id);
	jw_kint(w, "project_id", m->project_id);
	jw_kint(w, "bid_id", m->bid_id);
	jw_kint(w, "bidder_id", m->bidder_id);
	jw_kint(w, "project_owner_id", m->project_owner_id);
	jw_key(w, "currency");
	out_currency(w, m->currency);
	jw_kdbl(w, "amount", m->amount);
	jw_kstr(w, "status", out_milestone_status(m->status));
	jw_kint(w, "time_created", m->time_created);
	jw_kstr(w, "reason", reason_names[m->reason]);
	ktext(w, "description", m->description, wd->cfg.seed, TX_MILESTONE, m->id);
	ktext(w, "other_reason", m->description, wd->cfg.seed, TX_MILESTONE, m->id);
	jw_kbool(w, "is_from_prepaid", false);
	jw_knull(w, "dispute_id");
	jw_end_obj(w);
}

void out_milestone_request(struct jw *w, const struct world *wd, const struct milestone_request *m)
{
	jw_obj(w);
	jw_kint(w, "id", m->id);
	jw_kint(w, "project_id", m->project_id);
	jw_kint(w, "bid_id", m->bid_id);
	jw_kint(w, "bidder_id", m->bidder_id);
	jw_kint(w, "project_owner_id", m->project_owner_id);
	jw_kdbl(w, "amount", m->amount);
	jw_key(w, "currency");
	out_currency(w, m->currency);
	ktext(w, "description", m->description, wd->cfg.seed, TX_MILESTONE, m->id);
	jw_kstr(w, "status", out_milestone_request_status(m->status));
	jw_kint(w, "time_requested", m->time_requested);
	jw_end_obj(w);
}

void out_review(struct jw *w, const struct world *wd, const struct review *r)
{
	const struct project *p = world_project((struct world *)wd, r->project_id);
	int score = (int)(r->rating * 2);

	jw_obj(w);
	jw_kint(w, "id", r->id);
	jw_kint(w, "project_id", r->project_id);
	jw_kstr(w, "status", "active");
	jw_kdbl(w, "rating", r->rating);
	jw_kobj(w, "rating_details");
	jw_kstr(w, "on_time_display", score % 3 ? "YES" : "NO");
	jw_kobj(w, "category_ratings");
	jw_kint(w, "communication", 1 + score % 5);
	jw_kint(w, "expertise", 1 + (score + 1) % 5);
	jw_kint(w, "hire_again", 1 + (score + 2) % 5);
	jw_kint(w, "quality", 1 + (score + 3) % 5);
	jw_kint(w, "professionalism", 1 + (score + 4) % 5);
	jw_end_obj(w);
	jw_knull(w, "paid_amount");
	jw_kstr(w, "on_budget_display", "YES");
	jw_end_obj(w);
	jw_kint(w, "to_user_id", r->to_user_id);
	jw_kint(w, "from_user_id", r->from_user_id);
	ktext(w, "description", r->description, wd->cfg.seed, TX_REVIEW, r->id);
	jw_kstr(w, "review_project_status", "complete");
	jw_kint(w, "time_submitted", r->time_submitted);
	jw_kint(w, "submitdate", r->time_submitted);
	jw_kdbl(w, "bid_amount", r->bid_amount);
	jw_key(w, "currency");
	out_currency(w, r->currency);
	jw_knull(w, "ratings");
	jw_kbool(w, "sealed", false);
	jw_kstr(w, "role", r->to_freelancer ? "freelancer" : "employer");
	jw_kobj(w, "review_context");
	jw_kstr(w, "review_type", "project");
	jw_kint(w, "context_id", r->project_id);
	if (p) {
		out_seo_url(w, p);
		ktext(w, "context_name", p->title, wd->cfg.seed, TX_TITLE, p->id);
	}
	jw_end_obj(w);
	jw_kdbl(w, "paid_amount", r->paid_amount);
	jw_end_obj(w);
}

void out_thread(struct jw *w, const struct world *wd, const struct thread *t)
{
	static const char *const ctx[] = { "project", "general", "contest" };
	int i;

	(void)wd;
	jw_obj(w);
	jw_kint(w, "id", t->id);
	jw_kobj(w, "thread");
	jw_kint(w, "id", t->id);
	jw_kstr(w, "thread_type", t->primary ? "primary" : "private_chat");
	jw_kobj(w, "context");
	jw_kstr(w, "type", ctx[t->context_type]);
	if (t->context_id)
		jw_kint(w, "id", t->context_id);
	else
		jw_knull(w, "id");
	jw_end_obj(w);
	jw_karr(w, "members");
	for (i = 0; i < t->nmembers; i++)
		jw_int(w, t->members[i]);
	jw_end_arr(w);
	jw_kint(w, "owner", t->owner);
	jw_kint(w, "time_created", t->time_created);
	jw_kstr(w, "write_privacy", "members");
	jw_kstr(w, "read_privacy", "members");
	jw_kstr(w, "owner_read_privacy", "members");
	jw_end_obj(w);
	jw_kint(w, "time_updated", t->time_updated);
	jw_kint(w, "time_read", t->time_read);
	jw_kbool(w, "is_read", t->is_read);
	jw_kbool(w, "is_muted", t->is_muted);
	jw_kstr(w, "folder", out_folder(t->folder));
	jw_kint(w, "message_count", t->message_count);
	jw_end_obj(w);
}

void out_message(struct jw *w, const struct world *wd, const struct message *m)
{
	jw_obj(w);
	jw_kint(w, "id", m->id);
	jw_kint(w, "thread_id", m->thread_id);
	jw_kint(w, "from_user", m->from_user);
	if (m->removed)
		jw_kstr(w, "message", "");
	else
		ktext(w, "message", m->text, wd->cfg.seed, TX_MSG, m->id);
	jw_kint(w, "time_created", m->time_created);
	jw_kint(w, "time_updated", m->time_updated);
	jw_kstr(w, "message_source", "default_msg");
	jw_karr(w, "attachments");
	for (const char *a = m->attachments; a && *a; a += strlen(a) + 1) {
		jw_obj(w);
		jw_kstr(w, "filename", a);
		jw_kint(w, "message_id", m->id);
		jw_end_obj(w);
	}
	jw_end_arr(w);
	if (m->client_message_id)
		jw_kint(w, "client_message_id", m->client_message_id);
	else
		jw_knull(w, "client_message_id");
	if (m->parent_id)
		jw_kint(w, "parent_id", m->parent_id);
	else
		jw_knull(w, "parent_id");
	if (m->removed)
		jw_kstr(w, "remove_reason", "removed_by_sender");
	else
		jw_knull(w, "remove_reason");
	jw_kbool(w, "is_edited", m->edited);
	jw_end_obj(w);
}

void out_user(struct jw *w, const struct world *wd, const struct user *u)
{
	static const char *const roles[] = { "freelancer", "employer", "freelancer" };

	jw_obj(w);
	jw_kint(w, "id", u->id);
	ktext(w, "username", NULL, wd->cfg.seed, TX_USERNAME, u->id);
	ktext(w, "display_name", NULL, wd->cfg.seed, TX_DISPLAY, u->id);
	ktext(w, "public_name", NULL, wd->cfg.seed, TX_DISPLAY, u->id);
	jw_kint(w, "registration_date", u->registration_date);
	jw_key(w, "location");
	out_location(w, u->country, false);
	jw_kstr(w, "role", roles[u->role]);
	jw_kstr(w, "chosen_role", u->role == 2 ? "both" : roles[u->role]);
	jw_key(w, "primary_currency");
	out_currency(w, u->currency);
	jw_kstr(w, "primary_language", "en");
	jw_kobj(w, "status");
	jw_kbool(w, "email_verified", true);
	jw_kbool(w, "payment_verified", u->verified);
	jw_kbool(w, "deposit_made", u->verified);
	jw_kbool(w, "profile_complete", u->verified);
	jw_kbool(w, "phone_verified", u->verified);
	jw_end_obj(w);
	jw_kbool(w, "suspended", false);
	jw_kbool(w, "limited_account", false);
	jw_kbool(w, "closed", false);
	jw_knull(w, "avatar");
	jw_knull(w, "reputation");
	jw_knull(w, "employer_reputation");
	jw_knull(w, "badges");
	jw_end_obj(w);
}
