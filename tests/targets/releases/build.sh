#!/usr/bin/env bash
# Builds app/src/main.rs against every vendored tokio release, and against
# tokio 1.53 with each release-profile variant, offline, from vendor/.
# Binaries: target/<profile>/app_tokio_<major>_<minor> (listed at the end).
#
#   ./build.sh            quiet (cargo --quiet: only warnings and errors)
#   V=1 ./build.sh        cargo's normal output, plus each command
#   JOBS=1 ./build.sh     one cargo at a time (default: two lanes at once)
#
# Each cargo invocation builds one workspace (tokio-X.Y/) with one profile,
# from inside that workspace: cargo only reads tokio-X.Y/.cargo/config.toml
# (the source replacement) when run from there.
set -eu

here=$(cd "$(dirname "$0")" && pwd)

# cargo on PATH, else rustup's, else Debian's.
if [ -z "${CARGO:-}" ]; then
    if command -v cargo >/dev/null 2>&1; then CARGO=cargo
    elif [ -x "$HOME/.cargo/bin/cargo" ]; then CARGO=$HOME/.cargo/bin/cargo
    elif [ -x /usr/bin/cargo ]; then CARGO=/usr/bin/cargo
    else echo "build.sh: no cargo found" >&2; exit 1
    fi
fi

# Both lists can be narrowed from the environment, e.g.
#   RELEASES=1.53 PROFILES_1_53=release-strip ./build.sh
RELEASES=${RELEASES-"1.29 1.38 1.47 1.53"}
# [profile.*] tables of tokio-1.53/Cargo.toml besides release.
PROFILES_1_53=${PROFILES_1_53-"release-nodebug release-lines release-strip release-lto release-z release-abort release-split"}

# The workspaces' .cargo/config.toml say the same; this keeps a
# CARGO_TARGET_DIR from the environment from sending binaries elsewhere.
export CARGO_TARGET_DIR="$here/target"

quiet=(--quiet)
[ "${V:-0}" = 1 ] && quiet=()

# The source replacement of tokio-X.Y/.cargo/config.toml, given again as
# an absolute path: "../vendor" there makes the paths compiled into the
# binaries (panic locations, DWARF) read .../releases/tokio-X.Y/../vendor/
# tokio-X.Y.Z/src/..., with a second "tokio-<version>" before the crate's.
# Now they read .../releases/vendor/tokio-X.Y.Z/src/..., and end as in a
# registry build (.../index.crates.io-<hash>/tokio-X.Y.Z/src/...).
vendor_config="source.releases-vendor.directory=\"$here/vendor\""

build() { # WORKSPACE_VERSION PROFILE
    local cmd=("$CARGO" build --offline --locked "${quiet[@]}" --config "$vendor_config" --profile "$2")
    [ "${V:-0}" = 1 ] && echo "+ (cd tokio-$1 && ${cmd[*]})" >&2
    (cd "$here/tokio-$1" && "${cmd[@]}")
}

# Two lanes of about equal CPU time (measured: ~20 s of CPU per build with
# DWARF, ~15 s without; release-lto and release-split ~25 s).
lane_a() {
    local r
    for r in $RELEASES; do build "$r" release; done
    case " $PROFILES_1_53 " in *" release-lto "*) build 1.53 release-lto ;; esac
}

lane_b() {
    local p
    for p in $PROFILES_1_53; do
        [ "$p" = release-lto ] || build 1.53 "$p"
    done
}

start=$(date +%s)
if [ "${JOBS:-2}" = 1 ]; then
    lane_a
    lane_b
else
    # Two lanes: each profile has its own output folder and lock, so the
    # lanes never wait on each other. Each cargo uses every core; two
    # at once keep both cores busy through rustc's single-threaded phases.
    lane_a & a=$!
    lane_b & b=$!
    rc=0
    wait $a || rc=1
    wait $b || rc=1
    [ $rc = 0 ] || { echo "build.sh: a build failed (see above)" >&2; exit 1; }
fi
end=$(date +%s)

echo "built in $((end - start)) s; binaries (run one with a scenario name, e.g. healthy):"
for r in $RELEASES; do
    echo "  target/release/app_tokio_${r/./_}"
done
for p in $PROFILES_1_53; do
    echo "  target/$p/app_tokio_1_53"
    [ "$p" != release-split ] || echo "  target/$p/app_tokio_1_53.dwp  (its DWARF)"
done
echo "(paths relative to $here)"
