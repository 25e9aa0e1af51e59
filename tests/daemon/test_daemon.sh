#!/usr/bin/env bash
# test_daemon.sh FLSYNCD FLMOCK — flsyncd as a process: the config file
# (defaults, XDG path, every kind of bad line → exit 2 with FILE:LINE), the
# single-instance lock (exit 5 while another runs, free after it exits),
# signals (SIGTERM/SIGINT → exit 0, SIGHUP re-reads the config), and, against
# flmock when it runs, --once exit codes, SIGTERM in the middle of a pass, and
# a disk that fills up mid-sync (where a small tmpfs can be mounted).
# Waits are bounded polls for a log line, never timing assertions.
# Under the valgrind test setup (FL_UNDER_VALGRIND=1) flsyncd runs under
# valgrind too.
set -u
flsyncd=$1 flmock=$2
tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	mountpoint -q "$tmp/small" 2>/dev/null && umount "$tmp/small"
	rm -rf "$tmp"
}
trap cleanup EXIT
pass=0 fail=0

run=("$flsyncd")
if [ "${FL_UNDER_VALGRIND:-}" = 1 ]; then
	run=(valgrind --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect
	     --errors-for-leak-kinds=definite,indirect --quiet "$flsyncd")
fi

# The user's own config must not leak into the tests.
export XDG_CONFIG_HOME="$tmp/xdg"
unset FLSYNC_TOKEN
dead=http://127.0.0.1:1   # nothing listens on port 1: every request fails fast

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

check() { # check NAME WANT_EXIT CMD... : the command's exit status must be WANT_EXIT
	local name=$1 want=$2; shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"
	local got=$?
	if [ "$got" -eq "$want" ]; then ok; else
		bad "$name: exit $got, want $want"; sed 's/^/  | /' "$tmp/out" "$tmp/err"
	fi
}

says() { # says NAME TEXT : the last command's output or errors mention TEXT
	if grep -qF -- "$2" "$tmp/out" "$tmp/err"; then ok; else
		bad "$1: output lacks '$2'"; sed 's/^/  | /' "$tmp/out" "$tmp/err"
	fi
}

says_file() { # says_file FILE TEXT : FILE mentions TEXT
	if grep -qF -- "$2" "$1"; then ok; else bad "$1 lacks '$2'"; fi
}

wait_for() { # wait_for FILE TEXT : until FILE mentions TEXT (bounded, generous)
	for _ in $(seq 600); do grep -qF -- "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
	return 1
}

launch() { # launch NAME TEXT ARGS... : flsyncd in the background, until its log says TEXT
	local name=$1 text=$2; shift 2
	"${run[@]}" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
	bg_pid=$!
	pids+=("$bg_pid")
	wait_for "$tmp/$name.err" "$text" && return 0
	bad "$name: flsyncd never logged '$text'"; sed 's/^/  | /' "$tmp/$name.err"
	return 1
}

stop() { # stop NAME SIGNAL WANT_EXIT : signal the last launched flsyncd, check its exit
	local name=$1 pid=$bg_pid got
	kill -"$2" "$pid"
	wait "$pid"; got=$?
	if [ "$got" -eq "$3" ]; then ok; else
		bad "$name: exit $got, want $3"; sed 's/^/  | /' "$tmp/$name.err"
	fi
}

# ---- help ------------------------------------------------------------------
check "--help" 0 "$flsyncd" --help
for text in --config --interval --once --progress --token-file "[search]" "[cadence]" \
	    "[limits]" rate_scale "5  another flsyncd"; do
	says "--help documents $text" "$text"
done

# ---- config ----------------------------------------------------------------
# A config that parses leaves flsyncd to fail later, on the missing token (4).
cat >"$tmp/good.conf" <<'EOF'
# searches of the market
[search]
query = C# developer
query = logo design   
jobs = 3, 17
jobs = 9

[cadence]
interval = 5m
users = 1d
reference = 86400
milestones_all = 1h
safety_lag = 30s
lookback = 2m
[limits]
rate_scale = 0.5
[sync]
page_limit = 50
mass_delete_ratio = 0.25
EOF
check "good config" 4 "${run[@]}" --db "$tmp/a.db" --api $dead --once --config "$tmp/good.conf" -v
says "good config is read" "configuration from $tmp/good.conf"
says "then the token is missing" "FLSYNC_TOKEN"

bad_config() { # bad_config NAME LINE WHY CONTENT : exit 2 with FILE:LINE and WHY
	printf '%b' "$4" >"$tmp/bad.conf"
	check "config $1" 2 "${run[@]}" --db "$tmp/a.db" --api $dead --once --config "$tmp/bad.conf"
	says "config $1 names file and line" "$tmp/bad.conf:$2:"
	says "config $1 says why" "$3"
}
bad_config "unknown key" 3 "unknown key 'intervl'" '[cadence]\n# x\nintervl = 5\n'
bad_config "unknown section" 2 "unknown section [cadenze]" '# x\n[cadenze]\ninterval = 5\n'
bad_config "bad duration" 2 "bad value for interval" '[cadence]\ninterval = soon\n'
bad_config "zero interval" 2 "out of range" '[cadence]\ninterval = 0\n'
bad_config "bad job id" 3 "job id" '[search]\njobs = 1\njobs = 3, x\n'
bad_config "bad scale" 2 "bad value for rate_scale" '[limits]\nrate_scale = 0\n'
bad_config "page over 100" 2 "out of range" '[sync]\npage_limit = 500\n'
bad_config "no equals" 2 "key = value" '[search]\nquery\n'
bad_config "no section" 1 "before any [section]" 'query = x\n'
bad_config "empty value" 2 "no value" '[search]\nquery =\n'
bad_config "broken header" 1 "section header" '[search\n'

check "missing --config file" 2 "${run[@]}" --db "$tmp/a.db" --api $dead --once --config "$tmp/none.conf"
says "missing --config file" "$tmp/none.conf"
# A missing default config is fine: the token is what is missing.
check "no default config" 4 "${run[@]}" --db "$tmp/a.db" --api $dead --once
# The default config lives under XDG_CONFIG_HOME.
mkdir -p "$tmp/xdg/flsync"
printf '[limits]\nrate_scale = many\n' >"$tmp/xdg/flsync/flsyncd.conf"
check "XDG default config is read" 2 "${run[@]}" --db "$tmp/a.db" --api $dead --once
says "XDG default config is read" "$tmp/xdg/flsync/flsyncd.conf:2:"
cp "$tmp/good.conf" "$tmp/xdg/flsync/flsyncd.conf"

export FLSYNC_TOKEN=tok
# ---- lock and signals ------------------------------------------------------
# The first instance holds the lock while it waits to retry the dead API.
if launch first "next pass in" --db "$tmp/a.db" --api $dead --interval 3600 -v; then
	first=$bg_pid
	check "second instance" 5 "${run[@]}" --db "$tmp/a.db" --api $dead --once
	says "second instance" "another flsyncd is syncing $tmp/a.db (pid $first)"
	[ -e "$tmp/a.db.lock" ] && ok || bad "no lock file beside the database"
	# SIGHUP re-reads the config; a broken one is refused and the old kept.
	kill -HUP "$first"
	wait_for "$tmp/first.err" "SIGHUP: re-read" && ok || bad "SIGHUP was not logged"
	printf '[cadence]\ninterval = never\n' >"$tmp/xdg/flsync/flsyncd.conf"
	kill -HUP "$first"
	wait_for "$tmp/first.err" "keeping the previous configuration" && ok ||
		bad "a broken config on SIGHUP was not refused"
	cp "$tmp/good.conf" "$tmp/xdg/flsync/flsyncd.conf"
	kill -0 "$first" 2>/dev/null && ok || bad "flsyncd died on a broken config at SIGHUP"
	stop "SIGTERM while sleeping" TERM 0
	says_file "$tmp/first.err" "stopping on signal"
	# The lock went with the process: this run gets past it to the dead API (1).
	check "lock released after exit" 1 "${run[@]}" --db "$tmp/a.db" --api $dead --once
	says "lock released after exit" "/api/users/0.1/self/"
fi

if launch int "next pass in" --db "$tmp/b.db" --api $dead --interval 3600 -v; then
	stop "SIGINT while sleeping" INT 0
fi

# A lock file in a directory that does not exist: a database problem (3).
check "lock in a missing directory" 3 "${run[@]}" --db "$tmp/no/dir/c.db" --api $dead --once
says "lock in a missing directory" "$tmp/no/dir/c.db"

# ---- against flmock --------------------------------------------------------
if "$flmock" --version >/dev/null 2>&1; then
	"$flmock" --port 0 --seed 3 --token good >"$tmp/mock.out" 2>"$tmp/mock.err" &
	mock_pid=$!
	pids+=("$mock_pid")
	wait_for "$tmp/mock.out" "listening on "
	url=$(sed -n '1s/^listening on //p' "$tmp/mock.out")
	if [ -z "$url" ]; then
		bad "flmock printed no 'listening on' line"; cat "$tmp/mock.err"
	else
		export FLSYNC_TOKEN=good
		check "--once against flmock" 0 "${run[@]}" --db "$tmp/m.db" --api "$url" --once
		says "--once prints a summary" "pass done:"
		check "--once again (incremental)" 0 "${run[@]}" --db "$tmp/m.db" --api "$url" --once
		check "--once refused token" 4 env FLSYNC_TOKEN=bad "${run[@]}" --db "$tmp/m2.db" \
			--api "$url" --once
		check "--once unreachable API" 1 "${run[@]}" --db "$tmp/m.db" --api $dead --once
		echo "not sqlite, just text padding padding padding padding padding padding" >"$tmp/junk.db"
		check "--once junk database" 3 "${run[@]}" --db "$tmp/junk.db" --api "$url" --once

		# SIGTERM once a pass has begun: the pass stops, flsyncd exits 0.
		if launch during "pass 1 started" --db "$tmp/t.db" --api "$url" --interval 3600 -v; then
			# While it syncs, another instance is refused.
			check "second instance during a pass" 5 "${run[@]}" --db "$tmp/t.db" --api "$url" --once
			stop "SIGTERM during a pass" TERM 0
		fi

		# A full disk: the pass stops with exit 3 naming the cause, the
		# database stays consistent, and once there is room a re-run ends
		# with everything a clean sync has.
		mkdir -p "$tmp/small"
		if mount -t tmpfs -o size=600k tmpfs "$tmp/small" 2>/dev/null; then
			check "--once on a full disk" 3 "${run[@]}" --db "$tmp/small/f.db" --api "$url" --once
			says "--once on a full disk" "disk is full"
			says "the full disk names the file" "no room to write $tmp/small/f.db"
			if [ "$(sqlite3 "$tmp/small/f.db" 'PRAGMA integrity_check')" = ok ]; then ok; else
				bad "integrity_check after a full disk"; fi
			mount -o remount,size=64m "$tmp/small"
			check "--once once there is room" 0 "${run[@]}" --db "$tmp/small/f.db" --api "$url" --once
			q='SELECT (SELECT count(*) FROM projects), (SELECT count(*) FROM bids),
			   (SELECT count(*) FROM messages), (SELECT count(*) FROM users)'
			a=$(sqlite3 "$tmp/m.db" "$q") b=$(sqlite3 "$tmp/small/f.db" "$q")
			if [ -n "$a" ] && [ "$a" = "$b" ]; then ok; else
				bad "after a full disk and a re-run: projects|bids|messages|users $b, clean sync $a"; fi
			umount "$tmp/small"
		else
			echo "SKIP: full-disk checks: cannot mount a tmpfs here (needs root)"
		fi
	fi
else
	echo "flmock does not run yet: the flsyncd-against-flmock checks are skipped"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
