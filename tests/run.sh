#!/usr/bin/env bash
# Runs every test: unit binaries (build/tests/test_*) and the end-to-end
# suites (tests/e2e/test_*.py, root only). Each prints PASS/FAIL lines; the
# last line of this script is the total: "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT

run() {	# name, command...
	local name=$1; shift
	echo "== $name"
	"$@" 2>&1 | tee -a "$log" | grep -E '^(PASS|FAIL|SKIP|#)' || true
}

for t in build/tests/test_*; do
	[ -x "$t" ] && run "$(basename "$t")" "$t"
done

if [ "$(id -u)" -eq 0 ]; then
	for t in tests/e2e/test_*.py; do
		[ -f "$t" ] && run "$(basename "$t")" python3 "$t"
	done
else
	echo "FAIL e2e (end-to-end tests need root: run sudo make test)" | tee -a "$log"
fi

passed=$(grep -c '^PASS ' "$log")
failed=$(grep -c '^FAIL ' "$log")
grep '^FAIL ' "$log" | sed 's/^/  /'
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
