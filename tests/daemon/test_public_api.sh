#!/bin/sh
# flsyncd is a plain user of libflsync's public API: its sources include
# flsync.h and nothing else from lib/, it links the shared library, and
# every library symbol it uses is a public fl_* one (the shared library
# exports nothing else, so anything more would not even link).
# usage: test_public_api.sh SOURCE_ROOT FLSYNCD
src=$1 flsyncd=$2
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

for f in "$src"/syncd/*.c "$src"/syncd/*.h "$src"/conf/*.c "$src"/conf/*.h; do
	for inc in $(sed -n 's/^#include "\(.*\)"/\1/p' "$f"); do
		case $inc in
		flsync.h | syncd.h | flconf.h | config.h) ok ;;  # config.h: the build's version
		*) bad "$(basename "$f") includes \"$inc\"" ;;
		esac
	done
done
readelf -d "$flsyncd" | grep -q 'NEEDED.*libflsync\.so' && ok ||
	bad "flsyncd does not link the shared libflsync"
# Symbols flsyncd takes from outside: the C library, sqlite3_config, and fl_*.
others=$(nm -D --undefined-only "$flsyncd" | awk '{print $2}' | sed 's/@.*//' |
	grep -v -e '^fl_' -e '^sqlite3_config$' -e '^_' -e '^__' |
	while read -r sym; do
		nm -D --defined-only "$(ldd "$flsyncd" | awk '/libc\.so/ {print $3}')" 2>/dev/null |
			grep -q " $sym\(@.*\)\?$" || echo "$sym"
	done)
[ -z "$others" ] && ok || bad "flsyncd uses symbols neither public nor libc's: $others"
nm -D --undefined-only "$flsyncd" | awk '{print $2}' | grep -q '^fl_sync_run$' && ok ||
	bad "flsyncd does not call fl_sync_run"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
