#!/usr/bin/env bash
# Runs the libFuzzer harnesses built by `make fuzz` (build/fuzz/fuzz_*),
# one after the other, SECONDS each, and prints one line per harness:
#   PASS fuzz_elf: 123456 execs (411/s), cov 1234, corpus 321
#   FAIL fuzz_elf: crash, reproducer build/fuzz/crash-<sha1> (log build/fuzz/fuzz_elf.log)
# Exit status 1 when a harness crashed, leaked, hung or ran out of memory.
#
#   tests/fuzz/fuzz.sh SECONDS [HARNESS...]
#
# Corpora: build/fuzz/corpus/<harness>/ (seeded from the test targets each
# run, grows across runs) and tests/fuzz/regressions/<harness>/ (inputs
# that once crashed, committed; read, never written).
set -u
cd "$(dirname "$0")/../.."
seconds=${1:?usage: tests/fuzz/fuzz.sh SECONDS [HARNESS...]}
shift
out=build/fuzz
harnesses=("$@")
[ ${#harnesses[@]} -gt 0 ] || harnesses=(fuzz_elf fuzz_usdt_notes fuzz_dwarf fuzz_core fuzz_recording)

# Seeds: small ELF files of every kind the readers meet. The mini runtimes
# (tests/fuzz/seeds/mini_tokio.rs, ~20 KB) stand in for the 9 MB targets;
# the C USDT runtime's binaries are ~75 KB.
seed_elf_files() {
	local f
	for f in $out/seeds/mini_tokio $out/seeds/mini_async_task \
		 tests/targets/cruntime/build/c_healthy tests/targets/cruntime/build/c_blocked; do
		[ -f "$f" ] && echo "$f"
	done
}

seed_corpus() {	# harness, corpus dir
	local h=$1 dir=$2 f b
	mkdir -p "$dir"
	case $h in
	fuzz_elf|fuzz_dwarf)
		for f in $(seed_elf_files); do
			b=$(basename "$f")
			cp -f "$f" "$dir/seed-$b"
			# no .symtab (.dynsym only), and a debug-only file (NOBITS code)
			strip -o "$dir/seed-$b.stripped" "$f" 2>/dev/null
			objcopy --only-keep-debug "$f" "$dir/seed-$b.debug" 2>/dev/null
		done
		;;
	fuzz_usdt_notes)
		for f in $(seed_elf_files); do
			# the note section is not loaded: -O binary would skip it
			objcopy --dump-section .note.stapsdt="$dir/seed-$(basename "$f").notes" \
				"$f" "$out/seeds/objcopy.tmp" 2>/dev/null
		done
		rm -f "$out/seeds/objcopy.tmp"
		printf '8@%%rdi -4@%%esi 8@%%r15 1@%%al' > "$dir/seed-args"
		;;
	fuzz_recording)
		# a recording of the demo service cut to two snapshots (taskscope record)
		cp -f tests/fuzz/seeds/recording.json "$dir/seed-recording.json"
		;;
	fuzz_core)
		# a real core of a small process (~0.6 MB: sleep and its libc)
		if [ ! -f "$dir/seed-sleep.core" ] && command -v gcore >/dev/null; then
			sleep 30 & local sp=$!
			gcore -o "$out/seeds/sleep" $sp >/dev/null 2>&1 &&
				mv -f "$out/seeds/sleep.$sp" "$dir/seed-sleep.core"
			kill $sp 2>/dev/null; wait $sp 2>/dev/null
		fi
		;;
	esac
}

max_len() {
	case $1 in
	fuzz_usdt_notes) echo 16384 ;;
	*) echo 1048576 ;;
	esac
}

fail=0
for h in "${harnesses[@]}"; do
	bin=$out/$h
	corpus=$out/corpus/$h
	regress=tests/fuzz/regressions/$h
	log=$out/$h.log
	if [ ! -x "$bin" ]; then
		echo "FAIL $h: $bin not built (make fuzz)"
		fail=1
		continue
	fi
	seed_corpus "$h" "$corpus"
	dirs=("$corpus")
	[ -d "$regress" ] && dirs+=("$regress")
	start=$(date +%s)
	# stdin from /dev/null: a .gnu_debuglink may name /proc/self/fd/0
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
		"$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=20 \
		-max_len="$(max_len "$h")" -print_final_stats=1 \
		-artifact_prefix="$out/" "${dirs[@]}" </dev/null >"$log" 2>&1
	rc=$?
	took=$(( $(date +%s) - start ))
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
	corp=$(grep -o 'corp: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
	if [ $rc -eq 0 ]; then
		echo "PASS $h: ${execs:-?} execs (${rate:-?}/s), cov ${cov:-?}, corpus ${corp:-?}, ${took} s"
		continue
	fi
	fail=1
	artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
	kind=crash
	case $artifact in
	*/leak-*) kind=leak ;;
	*/timeout-*) kind=hang ;;
	*/oom-*) kind="out of memory" ;;
	esac
	what=$(grep -m1 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:' "$log" |
	       sed 's/^==[0-9]*==//')
	echo "FAIL $h: $kind, reproducer ${artifact:-none} (log $log)${what:+: $what}"
done
exit $fail
