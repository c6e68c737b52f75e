#!/usr/bin/env bash
# Runs every test: the unit binaries (build/tests/test_*, PASS/FAIL lines),
# then, as root, the end-to-end suite (tests/e2e, pytest, one line per test).
# The last line is the total of unit checks and pytest tests:
# "N passed, N failed"; the exit status is non-zero if anything failed or
# nothing passed.
#
# A failure is never lost: a unit binary killed by a signal, or exiting
# non-zero without a FAIL line, counts as one more failure; a SKIP counts as
# a failure (every feature under test is in the build); pytest collecting no
# test, or ending in an error of its own, is a failure.
set -u
cd "$(dirname "$0")/.."

passed=0
failed=0
failures=()

fail() {	# name: why
	failures+=("$1")
	failed=$((failed + 1))
}

units=(build/tests/test_*)
[ -x "${units[0]}" ] || fail "unit: no test binary in build/tests (run make unit)"
for t in "${units[@]}"; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	echo "== $name"
	out=$("$t" 2>&1)
	rc=$?
	grep -E '^(PASS|FAIL|SKIP|#)' <<<"$out"
	passed=$((passed + $(grep -c '^PASS ' <<<"$out")))
	while IFS= read -r line; do
		fail "$name: ${line#FAIL }"
	done < <(grep '^FAIL ' <<<"$out")
	while IFS= read -r line; do
		fail "$name: skipped, which counts as a failure: ${line#SKIP }"
	done < <(grep '^SKIP ' <<<"$out")
	if [ "$rc" -gt 128 ]; then
		fail "$name: killed by signal $(kill -l $((rc - 128)) 2>/dev/null || echo $((rc - 128)))"
	elif [ "$rc" -ne 0 ] && ! grep -q '^FAIL ' <<<"$out"; then
		fail "$name: exited with status $rc without a FAIL line"
	fi
done

# Checks that print one PASS/FAIL line each (the unit tests under
# ASan/UBSan, the fuzzers' short smoke): every line counts, and a non-zero
# exit with no FAIL line is one more failure.
lines_of() {	# name, command...
	local name=$1 out rc
	shift
	echo "== $name"
	out=$("$@" 2>&1)
	rc=$?
	grep -E '^(PASS|FAIL) ' <<<"$out"
	passed=$((passed + $(grep -c '^PASS ' <<<"$out")))
	while IFS= read -r line; do
		fail "$name: ${line#FAIL }"
	done < <(grep '^FAIL ' <<<"$out")
	if [ "$rc" -ne 0 ] && ! grep -q '^FAIL ' <<<"$out"; then
		fail "$name: exited with status $rc: $(tail -n 3 <<<"$out" | tr '\n' ' ')"
	fi
}
lines_of unit-asan make -s --no-print-directory unit-asan
lines_of fuzz-smoke tests/fuzz/fuzz.sh "${FUZZ_SMOKE_SECONDS:-30}"

if [ "$(id -u)" -eq 0 ]; then
	# Debian's pytest (python3-pytest) lives in the system python3, which
	# a python3 earlier in PATH (pyenv, a venv) may lack.
	py=python3
	"$py" -c 'import pytest' 2>/dev/null || py=/usr/bin/python3
	echo "== e2e (pytest)"
	log=$(mktemp)
	trap 'rm -f "$log"' EXIT
	# wide: the short summary then keeps each failure's message whole
	COLUMNS=250 "$py" -m pytest tests/e2e -p no:cacheprovider -rfE -v --tb=short 2>&1 |
		tee "$log"
	rc=${PIPESTATUS[0]}
	# "==== 2 failed, 150 passed, 1 error in 200.00s ====" (the last line)
	summary=$(tail -n 1 "$log")
	count() {	# word (passed, failed, error, ...): its number in the summary
		grep -oE "[0-9]+ $1" <<<"$summary" | grep -oE '^[0-9]+' || echo 0
	}
	passed=$((passed + $(count passed)))
	bad=0
	while IFS= read -r line; do
		fail "e2e: ${line}"
		bad=$((bad + 1))
	done < <(grep -E '^(FAILED|ERROR) ' "$log")
	# a test that failed and then errored in its teardown is named twice
	# above and counted once per line: both are failures of the suite
	other=$(( $(count skipped) + $(count xfailed) + $(count xpassed) ))
	[ "$other" -gt 0 ] && fail "e2e: $other tests skipped or xfail/xpass (not allowed here)"
	if [ "$rc" -eq 5 ]; then
		fail "e2e: pytest collected no test"
	elif [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then
		fail "e2e: pytest ended with status $rc (interrupted, internal or usage error)"
	elif [ "$rc" -eq 1 ] && [ "$bad" -eq 0 ]; then
		fail "e2e: pytest exited 1 without naming a failed test"
	fi
else
	fail "e2e: end-to-end tests need root (they attach BPF): run sudo make test"
fi

if [ "$failed" -gt 0 ]; then
	echo "failures:"
	printf '  FAIL %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
