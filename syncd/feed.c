/*
 * feed.c — flsyncd's care of the file after each pass: the change feed
 * coalesced and pruned behind [feed] keep (fl_changes_trim: never past a
 * registered consumer's or a sink's position, so it runs after the sink
 * has mirrored), then free pages given back and the WAL checkpointed and
 * truncated when no reader holds it (fl_db_compact).  Both are short: the
 * trim looks at the pass's own changes and the prunable front of the feed.
 */
#include "syncd.h"

void syncd_feed_trim(struct syncd_account *a)
{
	struct fl_trim_report tr;
	struct fl_compact_report cr;

	if (!a->db)
		return;
	if (fl_changes_trim(a->db, a->feed_keep_s, &tr) != FL_OK) {
		syncd_error(a->progress, "change feed: %s (tried again after the next pass)", fl_errmsg(a->db));
		return;
	}
	if (fl_db_compact(a->db, &cr) != FL_OK) {
		syncd_error(a->progress, "compacting the database: %s", fl_errmsg(a->db));
		return;
	}
	syncd_info(a->progress, "change feed: %lld coalesced, %lld pruned (oldest position held: %lld); "
			   "%s%lld pages freed%s",
			   (long long)tr.coalesced, (long long)tr.pruned, (long long)tr.held,
			   cr.vacuumed ? "vacuumed once for incremental vacuum, " : "", (long long)cr.pages_freed,
			   cr.checkpointed ? ", WAL truncated" : "");
}
