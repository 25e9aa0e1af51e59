#!/bin/sh
# flsyncd is a plain user of libflsync's public API: its sources include
# flsync.h and nothing else from lib/, it links the shared library, it holds
# no copy of the library's insides, and every library symbol it uses is a
# public fl_* one.
# usage: test_public_api.sh SOURCE_ROOT FLSYNCD LIBFLSYNC_INTERNAL.a LIBFLSYNC.so
src=$1 flsyncd=$2 internal=$3 shared=$4
pass=0 fail=0
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

for f in "$src"/syncd/*.c "$src"/syncd/*.h "$src"/conf/*.c "$src"/conf/*.h; do
	for inc in $(sed -n 's/^#include "\(.*\)"/\1/p' "$f"); do
		case $inc in
		flsync.h | syncd.h | flconf.h | pgmirror.h | config.h) ok ;;  # config.h: the build's version
		*) bad "$(basename "$f") includes \"$inc\"" ;;
		esac
	done
done
readelf -d "$flsyncd" | grep -q 'NEEDED.*libflsync\.so' && ok ||
	bad "flsyncd does not link the shared libflsync"
# None of the library's own functions is inside flsyncd.
inside=$(nm --defined-only "$flsyncd" | awk '$2 ~ /[TtDdBb]/ {print $3}' | sort -u)
echo "$inside" >"$tmp/inside"
copied=$(nm -g --defined-only "$internal" 2>/dev/null | awk 'NF == 3 {print $3}' | sort -u | comm -12 - "$tmp/inside")
[ -z "$copied" ] && ok || bad "flsyncd holds library code: $(echo $copied | head -c 300)"
# What it takes from libflsync is public.
exports=$(nm -D --defined-only "$shared" | awk '{print $3}' | sort -u)
used=$(nm -D --undefined-only "$flsyncd" | awk '{print $2}' | sed 's/@.*//' | sort -u)
echo "$exports" >"$tmp/exports"
private=$(echo "$used" | comm -12 - "$tmp/exports" | grep -v '^fl_')
[ -z "$private" ] && ok || bad "flsyncd uses non-public library symbols: $private"
echo "$exports" | grep -v '^fl_' | grep -q . && bad "libflsync exports more than fl_*: $(echo "$exports" | grep -v '^fl_' | head -5)" || ok
echo "$used" | grep -q '^fl_sync_run$' && ok || bad "flsyncd does not call fl_sync_run"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
