#!/bin/sh
# run_py.sh SCRIPT ARGS... — runs a Python test of this folder.  An exec, so
# that under `meson test --setup valgrind` valgrind checks this shell, not
# Python; test_commands.py then runs flsync itself under valgrind
# (FL_UNDER_VALGRIND=1).
script=$1
shift
exec python3 "$(dirname "$0")/$script" "$@"
