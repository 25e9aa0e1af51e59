#!/usr/bin/env bash
# deps.sh — install the Debian packages flsync needs, only those missing.
# Sourced by scripts/demo and scripts/test (which adds its own); runs
# apt-get as root (or via sudo).
set -euo pipefail

FL_PACKAGES=(
	gcc libc6-dev pkg-config meson ninja-build python3
	libcurl4-openssl-dev libsqlite3-dev libyajl-dev libmicrohttpd-dev libpq-dev
	check libsubunit-dev valgrind sqlite3 ca-certificates
)
# OpenSSL's libcrypto: SHA-256 for the PKCE challenge (lib/auth_oauth.c, flmock).
FL_PACKAGES+=(libssl-dev)
# What only the test suite uses: clang (the build must be warning-free with
# it too) and its sanitizer and libFuzzer runtimes, which clang only
# recommends; headless Chromium to render the report, and chromedriver to
# drive it through flsync ui; sqlite-utils to
# read the database as users would; python3-pytest for the Python binding;
# the PostgreSQL server, whose private clusters the pgsync suite starts.
FL_TEST_PACKAGES=(clang libclang-rt-14-dev chromium chromium-driver sqlite-utils python3-pytest
	postgresql)

fl_install_deps() { # fl_install_deps [test]
	local missing=() pkg wanted=("${FL_PACKAGES[@]}")
	[ "${1:-}" = test ] && wanted+=("${FL_TEST_PACKAGES[@]}")
	for pkg in "${wanted[@]}"; do
		dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
			missing+=("$pkg")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "==> installing: ${missing[*]}"
	local sudo=
	[ "$(id -u)" -ne 0 ] && sudo=sudo
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq
	$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
