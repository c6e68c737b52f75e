#!/usr/bin/env bash
# Memory flatness of `taskscope top`: runs `top --batch -i 1 -n N` against the
# demo service (N = 600 by default: ten minutes) and samples taskscope's RSS
# every few seconds. Prints each sample, then start/end/max RSS and the growth
# from the first sample taken after warm-up to the last.
#
#   sudo bench/top_memory.sh          # ten minutes
#   sudo bench/top_memory.sh 120      # two
set -u
cd "$(dirname "$0")/.."
n=${1:-600}
every=${2:-10}
bin=tests/targets/target/release/demo
[ -x build/taskscope ] && [ -x "$bin" ] || { echo "run make && make targets first" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "must run as root (BPF)" >&2; exit 2; }

demo_out=$(mktemp); frames=$(mktemp)
"$bin" >"$demo_out" 2>/dev/null &
demo=$!
top=
cleanup() {
	[ -n "$top" ] && kill "$top" 2>/dev/null
	kill "$demo" 2>/dev/null
	wait 2>/dev/null
	rm -f "$demo_out" "$frames"
}
trap cleanup EXIT
for _ in $(seq 50); do grep -q '^ready' "$demo_out" && break; sleep 0.1; done

build/taskscope top -p "$demo" --batch -i 1 -n "$n" >"$frames" 2>&1 &
top=$!
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$top/status" 2>/dev/null; }

# warm-up: the first memory scans and the task table reach their size
sleep 5
start=$(rss); max=$start; end=$start; t=5
echo "t=${t}s rss=${start} kB (start)"
while kill -0 "$top" 2>/dev/null; do
	sleep "$every"
	t=$((t + every))
	r=$(rss)
	[ -z "$r" ] && break
	end=$r
	[ "$r" -gt "$max" ] && max=$r
	echo "t=${t}s rss=${r} kB"
done
wait "$top"
rc=$?
top=
nframes=$(grep -c '^taskscope top - ' "$frames")
echo "taskscope top --batch -i 1 -n $n: exit $rc, $nframes frames"
echo "RSS start ${start} kB, end ${end} kB, max ${max} kB, growth $((end - start)) kB"
