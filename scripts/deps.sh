#!/usr/bin/env bash
# deps.sh — install the Debian packages flsync needs, only those missing.
# Sourced by scripts/demo and scripts/test; runs apt-get as root (or via sudo).
set -euo pipefail

FL_PACKAGES=(
	gcc libc6-dev pkg-config meson ninja-build python3
	libcurl4-openssl-dev libsqlite3-dev libyajl-dev libmicrohttpd-dev
	check libsubunit-dev valgrind sqlite3 ca-certificates
)

fl_install_deps() {
	local missing=() pkg
	for pkg in "${FL_PACKAGES[@]}"; do
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
