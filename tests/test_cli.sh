#!/usr/bin/env bash
# test_cli.sh FLSYNCD FLSYNC FLMOCK — the binaries' command-line contract:
# --help and --version, exit codes for bad usage, missing tokens, unsafe token
# files, unusable databases; and, against flmock when it serves the API, a
# pass that reaches the API with a good token and is refused with a bad one.
set -u
flsyncd=$1 flsync=$2 flmock=$3
tmp=$(mktemp -d)
mock_pid=
cleanup() {
	[ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null && wait "$mock_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
pass=0 fail=0

check() { # check NAME WANT_EXIT CMD... : the command's exit status must be WANT_EXIT
	local name=$1 want=$2; shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"
	local got=$?
	if [ "$got" -eq "$want" ]; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL: $name: exit $got, want $want"; sed 's/^/  | /' "$tmp/out" "$tmp/err"
	fi
}

says() { # says NAME TEXT : the last command's output or errors mention TEXT
	if grep -qF -- "$2" "$tmp/out" "$tmp/err"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL: $1: output lacks '$2'"; sed 's/^/  | /' "$tmp/out" "$tmp/err"
	fi
}

for bin in "$flsyncd" "$flsync" "$flmock"; do
	name=$(basename "$bin")
	check "$name --help" 0 "$bin" --help
	says "$name --help" "usage"
	check "$name --version" 0 "$bin" --version
	says "$name --version" "$name 0."
done

check "flsyncd bad option" 2 "$flsyncd" --bogus
check "flsyncd without --db" 2 "$flsyncd" --api http://127.0.0.1:1
says "flsyncd without --db" "--db and --api are required"
check "flsyncd bad interval" 2 "$flsyncd" --db "$tmp/a.db" --api http://x --interval soon
(unset FLSYNC_TOKEN; check "flsyncd without token" 4 "$flsyncd" --db "$tmp/a.db" --api http://127.0.0.1:1 --once)
says "flsyncd without token" "FLSYNC_TOKEN"

echo "tok" >"$tmp/token"; chmod 644 "$tmp/token"
check "flsyncd world-readable token file" 4 "$flsyncd" --db "$tmp/a.db" --api http://127.0.0.1:1 --once --token-file "$tmp/token"
says "flsyncd world-readable token file" "readable by others"
chmod 600 "$tmp/token"
check "flsyncd unreachable API" 1 "$flsyncd" --db "$tmp/a.db" --api http://127.0.0.1:1 --once --token-file "$tmp/token"
says "flsyncd unreachable API" "/api/users/0.1/self/"
if grep -q tok "$tmp/err" "$tmp/out" && grep -qx tok "$tmp/err"; then
	fail=$((fail + 1)); echo "FAIL: the token appeared in flsyncd's output"
fi
check "flsyncd database in a missing directory" 3 env FLSYNC_TOKEN=t "$flsyncd" --db "$tmp/no/such/dir/a.db" --api http://127.0.0.1:1 --once
says "flsyncd database in a missing directory" "$tmp/no/such/dir/a.db"
echo "not sqlite, just text padding padding padding padding padding padding padding" >"$tmp/junk.db"
check "flsyncd junk database" 3 env FLSYNC_TOKEN=t "$flsyncd" --db "$tmp/junk.db" --api http://127.0.0.1:1 --once
says "flsyncd junk database" "not a database"
check "flsyncd bad API URL" 2 env FLSYNC_TOKEN=t "$flsyncd" --db "$tmp/a.db" --api ftp://x --once

check "flsync schema" 0 "$flsync" --db "$tmp/a.db" schema
says "flsync schema" "schema version"
check "flsync missing database" 1 "$flsync" --db "$tmp/missing.db" schema
says "flsync missing database" "$tmp/missing.db"
check "flsync unknown command" 2 "$flsync" --db "$tmp/a.db" frobnicate

# Against flmock, once it serves the API.
if "$flmock" --version >/dev/null 2>&1; then
	"$flmock" --port 0 --seed 1 --token good >"$tmp/mock.out" 2>"$tmp/mock.err" &
	mock_pid=$!
	for _ in $(seq 100); do grep -q '^listening on ' "$tmp/mock.out" && break; sleep 0.1; done
	url=$(sed -n '1s/^listening on //p' "$tmp/mock.out")
	if [ -z "$url" ]; then
		fail=$((fail + 1)); echo "FAIL: flmock printed no 'listening on' line"; cat "$tmp/mock.err"
	else
		check "flsyncd --once against flmock" 0 env FLSYNC_TOKEN=good "$flsyncd" --db "$tmp/m.db" --api "$url" --once
		check "flsyncd refused token" 4 env FLSYNC_TOKEN=bad "$flsyncd" --db "$tmp/m.db" --api "$url" --once
		says "flsyncd refused token" "NOT_AUTHENTICATED"
	fi
else
	echo "flmock does not run yet: the flsyncd-against-flmock checks are skipped"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
