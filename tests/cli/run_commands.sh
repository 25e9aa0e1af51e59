#!/bin/sh
# run_commands.sh FLSYNC FIXTURE — runs test_commands.py.  An exec, so that
# under `meson test --setup valgrind` valgrind checks this shell, not Python;
# the script itself runs flsync under valgrind then (FL_UNDER_VALGRIND=1).
exec python3 "$(dirname "$0")/test_commands.py" "$@"
