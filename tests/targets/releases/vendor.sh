#!/usr/bin/env bash
# Re-creates vendor/ from git checkouts of tokio and pin-project-lite and
# from Debian's crate registry. Not run by build.sh: vendor/ is committed.
# Only needed to add or refresh a release.
#
#   TOKIO_GIT=path/to/tokio/.git PPL_GIT=path/to/pin-project-lite/.git ./vendor.sh
#
# Each crate is trimmed to what `cargo publish` would have shipped (and a
# bit less): see README.md, "What was trimmed".
set -eu
cd "$(dirname "$0")"

: "${TOKIO_GIT:?path of a git dir of github.com/tokio-rs/tokio}"
: "${PPL_GIT:?path of a git dir of github.com/taiki-e/pin-project-lite}"
DEBIAN_REGISTRY=${DEBIAN_REGISTRY:-/usr/share/cargo/registry}
TOKIO_VERSIONS=${TOKIO_VERSIONS:-"1.29.1 1.38.2 1.47.1 1.53.1"}
PPL_VERSION=${PPL_VERSION:-0.2.16}
# Debian 12's versions satisfy tokio's requirements (tokio 1.29/1.38 need
# num_cpus for rt-multi-thread, num_cpus needs libc, tokio 1.29's build
# script needs autocfg), but one source replacement can only point at one
# directory, so they are copied.
DEBIAN_CRATES=${DEBIAN_CRATES:-"libc-0.2.139 num_cpus-1.14.0 autocfg-1.1.0"}

mkdir -p vendor

checksum() { printf '{"files":{},"package":null}' > "$1/.cargo-checksum.json"; }

# Drops the TOML tables (a header line up to the next header) whose header
# matches the extended regex $1.
drop_tables() {
    awk -v re="$1" '
        /^\[/ { skip = ($0 ~ re) }
        !skip { print }
    '
}

# Tables cargo publish would not ship or that name crates this source lacks:
#   dev-dependencies (plain and per target, incl. .windows-sys sub-tables),
#   [lints] (workspace = true only makes sense inside tokio'"'"'s workspace),
#   [workspace*] (pin-project-lite is its own workspace root),
#   target tables for cfgs that are never set here (tokio_taskdump,
#   tokio_uring): cargo resolves every target table, even a cfg never set,
#   and their crates (backtrace, io-uring, mio 1, slab) are not vendored.
DROP_RE='^\[(dev-dependencies|target\..*\.dev-dependencies(\..*)?|lints|workspace(\..*)?|target\.'"'"'cfg\(tokio_taskdump\)'"'"'\.dependencies|target\.'"'"'cfg\(all\(tokio_uring, target_os = "linux"\)\)'"'"'\.dependencies)\]$'

for v in $TOKIO_VERSIONS; do
    d=vendor/tokio-$v
    rm -rf "$d"
    mkdir -p "$d"
    git --git-dir="$TOKIO_GIT" archive "tokio-$v" tokio/ | tar -x -C "$d" --strip-components=1 \
        --exclude=tokio/tests --exclude=tokio/benches --exclude=tokio/examples \
        --exclude=tokio/docs --exclude=tokio/fuzz --exclude=tokio/CHANGELOG.md \
        --exclude=tokio/external-types.toml
    # Path dependencies become plain registry ones, as cargo publish does.
    drop_tables "$DROP_RE" < "$d/Cargo.toml" \
        | sed -E 's/, *path *= *"[^"]*"//' > "$d/Cargo.toml.new"
    mv "$d/Cargo.toml.new" "$d/Cargo.toml"
    checksum "$d"
done

d=vendor/pin-project-lite-$PPL_VERSION
rm -rf "$d"
mkdir -p "$d"
git --git-dir="$PPL_GIT" archive "v$PPL_VERSION" Cargo.toml README.md LICENSE-APACHE LICENSE-MIT src \
    | tar -x -C "$d"
# Drop the workspace's lint table (to the end of the file) with the rest.
drop_tables '^\[(dev-dependencies|lints)\]$|^\[workspace' < "$d/Cargo.toml" \
    | sed -E 's/ *#publish:version//' > "$d/Cargo.toml.new"
mv "$d/Cargo.toml.new" "$d/Cargo.toml"
checksum "$d"

for c in $DEBIAN_CRATES; do
    rm -rf "vendor/$c"
    cp -r "$DEBIAN_REGISTRY/$c" vendor/
    rm -rf "vendor/$c/tests" "vendor/$c/benches" "vendor/$c/examples" "vendor/$c/ci"
    checksum "vendor/$c"
done

# No path in a crate may point outside it, and nothing left may name a
# crate that is not here (checked by building; see build.sh).
du -sh vendor
