#!/usr/bin/env bash
# USDT probe cost: a disabled taskscope probe against no probe, and the cost
# per hit of our nop5 site against a bare nop5 and sys/sdt.h's 1-byte nop,
# each with bpftrace attached (counting hits). Prints a table and ratios;
# timing never fails the script, only a failed build or run does.
#
#   bench/usdt/run.sh            (root for the attached part)
#   HITS=1000000 bench/usdt/run.sh
set -eu
cd "$(dirname "$0")/../.."
out=build/usdt
mkdir -p "$out"
bin=$PWD/$out/bench
hits=${HITS:-300000}

gcc -O2 -Wall -Wextra -Werror -Iusdt bench/usdt/bench.c -o "$bin"

results=$(mktemp)
errors=$(mktemp)
trap 'rm -f "$results" "$errors"' EXIT

echo "# taskscope USDT probe cost ($(uname -r), $(nproc) CPUs)"
"$bin" idle | tee -a "$results"

if [ "$(id -u)" -ne 0 ] || ! command -v bpftrace >/dev/null; then
	echo "# attached costs skipped: need root and bpftrace"
else
	for site in nop5 bare5 nop1; do
		case $site in
		nop5)	probe=taskscope:poll_start ;;
		bare5)	probe=taskscope_bench:bare5 ;;
		nop1)	probe=taskscope_bench:nop1 ;;
		esac
		# The bench waits for its semaphore, i.e. for bpftrace's attach.
		# -c must name the bench itself (bpftrace resolves the probe in
		# the child), so no taskset wrapper.
		bpftrace -q -c "$bin hit $site $hits" \
			-e "usdt:$bin:$probe { @hits = count(); }" 2>"$errors" |
			grep -E '^(hit|@hits)' | tee -a "$results" ||
			{ echo "# $site: bpftrace failed:"; sed 's/^/#   /' "$errors"; }
	done
fi

awk '
	/^idle / { idle[$2] = $3 }
	/^hit /  { hit[$2] = $3 }
	END {
		printf "\n%-44s %10s\n", "", "ns/iter"
		printf "%-44s %10.3f\n", "loop, no probe", idle["none"]
		printf "%-44s %10.3f  (%+.3f)\n", "loop, taskscope poll_start disabled",
			idle["nop5_disabled"], idle["nop5_disabled"] - idle["none"]
		printf "%-44s %10.3f  (%+.3f)\n", "loop, taskscope task_spawn (4 args) disabled",
			idle["spawn_disabled"], idle["spawn_disabled"] - idle["none"]
		printf "%-44s %10.3f  (%+.3f)\n", "loop, sys/sdt.h nop (no semaphore)",
			idle["sdt_nop1"], idle["sdt_nop1"] - idle["none"]
		printf "%-44s %10.3f\n", "empty loop", idle["empty"]
		printf "%-44s %10.3f  (%+.3f)\n", "empty loop, poll_start disabled",
			idle["empty_nop5_disabled"], idle["empty_nop5_disabled"] - idle["empty"]
		if (!("nop5" in hit))
			exit
		n5 = hit["nop5"] - idle["nop5_disabled"]
		b5 = hit["bare5"] - idle["none"]
		n1 = hit["nop1"] - idle["sdt_nop1"]
		printf "\n%-44s %10s\n", "attached (bpftrace count())", "ns/hit"
		printf "%-44s %10.0f\n", "taskscope nop5 site (%rsp step)", n5
		printf "%-44s %10.0f\n", "bare nop5 site", b5
		printf "%-44s %10.0f\n", "sys/sdt.h 1-byte nop", n1
		if (n5 > 0) {
			printf "\nratio 1-byte nop / taskscope nop5: %.2fx\n", n1 / n5
			printf "ratio taskscope nop5 / bare nop5:  %.3fx\n", n5 / b5
		}
	}' "$results" | tee "$out/bench-results.txt"
