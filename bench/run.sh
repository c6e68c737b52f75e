#!/usr/bin/env bash
# taskscope's cost on the observed process (issue 6). Run by `sudo make bench`
# after `make all targets`; see bench/README.md for every figure.
#
#   sudo bench/run.sh                      everything, ~5 min on 2 CPUs
#   sudo ROUNDS=3 PARTS="pingpong" bench/run.sh
#
# Knobs (environment): ROUNDS (5), PINGPONG_SECS (2), HTTP_SECS (5),
# HTTP_CONNS ("16 64"), HTTP_THREADS (2, wrk threads), PROBE_ROUNDS (5),
# PROBE_SLICE (0.2), ATTACH_ROUNDS (3), PARTS ("probe pingpong http attach"),
# HTTP_SERVER (auto: hyper when it builds, else the hand-written server;
# "handwritten" forces the latter), BUDGET_SECS (960: no new round after).
#
# Prints a table, writes bench/results/bench-DATE.json. Timing never fails
# the run: the exit status is non-zero only when something could not be
# built, started or attached.
set -eu
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
	echo "bench: needs root (sudo make bench)" >&2
	exit 2
fi

apt_install() {
	# installs the packages that are missing; never fatal
	local missing="" p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing="$missing $p"
	done
	[ -n "$missing" ] || return 0
	echo "bench: installing$missing"
	DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -qq $missing >/dev/null 2>&1 ||
		{ timeout 120 apt-get update -qq >/dev/null 2>&1 &&
		  DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -qq $missing >/dev/null 2>&1; } ||
		echo "bench: could not install$missing"
}

# wrk drives the HTTP server; hyper is the realistic server (falls back to
# the hand-written one); strace splits the attach time into phases.
apt_install wrk librust-hyper-dev strace

mkdir -p build/bench
gcc -O2 -Wall -Wextra -Werror -Iusdt -pthread bench/probe_hit.c -o build/bench/probe_hit
gcc -O2 -Wall -Wextra -Werror bench/spin_loop.c -o build/bench/spin_loop
# the ping-pong on the USDT C runtime, when there is one: linked with every
# runtime source of tests/targets/cruntime (not its scenario programs)
if [ -f tests/targets/cruntime/rt.h ]; then
	rt_srcs=""
	for f in tests/targets/cruntime/*.c; do
		case $(basename "$f") in c_*) continue ;; esac
		grep -q '^int main' "$f" || rt_srcs="$rt_srcs $f"
	done
	# shellcheck disable=SC2086
	gcc -O2 -g -Wall -Wextra -Iusdt -Itests/targets/cruntime \
		bench/c_pingpong.c $rt_srcs -o build/bench/c_pingpong ||
		echo "bench: the C runtime ping-pong did not build"
fi

if [ "${HTTP_SERVER:-auto}" != handwritten ] &&
	ls -d /usr/share/cargo/registry/hyper-0.14.* >/dev/null 2>&1; then
	echo "bench: building the hyper server (bench/http_hyper)"
	# Same target dir as the tests/targets workspace: same tokio version,
	# features and profile, so only hyper and its own deps get compiled.
	( cd bench/http_hyper &&
	  CARGO_TARGET_DIR="$PWD/../../tests/targets/target" timeout 600 \
		cargo build --release --quiet ) ||
		echo "bench: hyper server did not build; using the hand-written server"
fi

# Hard bound: bench.py stops starting rounds after BUDGET_SECS (960 s).
exec timeout -k 10 1200 python3 bench/bench.py
