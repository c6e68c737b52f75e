#!/usr/bin/env bash
# Runs every built binary (see build.sh) with every scenario, checks that it
# prints `ready <its pid>` within 5 s, then kills it. A build check, not a
# test of taskscope.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
SCENARIOS="healthy blocked parked channel_full deadlock spinner nested quiet current_thread blocking_pool"

bins=()
for f in "$here"/target/*/app_tokio_1_[0-9]*; do
    case $f in *.d|*.dwp) continue ;; esac
    [ -x "$f" ] && bins+=("${f#"$here"/}")
done
[ ${#bins[@]} -gt 0 ] || { echo "smoke.sh: nothing built; run ./build.sh" >&2; exit 1; }

fail=0
for b in "${bins[@]}"; do
    line=""
    for s in $SCENARIOS; do
        out=$(mktemp)
        "$here/$b" "$s" > "$out" &
        pid=$!
        ok=0
        for _ in $(seq 50); do
            if grep -qx "ready $pid" "$out"; then ok=1; break; fi
            kill -0 $pid 2>/dev/null || break
            sleep 0.1
        done
        kill $pid 2>/dev/null || true
        wait $pid 2>/dev/null || true
        rm -f "$out"
        if [ $ok = 1 ]; then line="$line $s"; else line="$line $s:FAIL"; fail=1; fi
    done
    echo "$b:$line"
done
exit $fail
