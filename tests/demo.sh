#!/usr/bin/env bash
# make demo: start the bundled demo service (tests/targets/tokio/demo) with
# its planted stalls, let taskscope report on it, stop the service.
set -u
cd "$(dirname "$0")/.."
bin=tests/targets/target/release/demo
out=$(mktemp)
"$bin" >"$out" &
demo=$!
trap 'kill $demo 2>/dev/null; wait $demo 2>/dev/null; rm -f "$out"' EXIT
for _ in $(seq 50); do grep -q '^ready' "$out" && break; sleep 0.1; done
echo "demo service running as PID $demo; observing it for 3 s:"
echo "\$ sudo build/taskscope report -p $demo -d 3"
echo
build/taskscope report -p "$demo" -d 3
rc=$?
echo
case $rc in
0) echo "(exit 0: nothing flagged)";;
1) echo "(exit 1: stalls flagged, as planted: a mutex deadlock between reconcile_accounts and"
   echo " settle_payments, and flush_metrics blocking a worker with std::thread::sleep)";;
*) echo "(exit $rc: error)"; exit "$rc";;
esac
echo "The live view of a process: sudo build/taskscope top -p PID (press ? for keys)."
exit 0
