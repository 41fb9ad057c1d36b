#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what the tests need when it is missing, then
# format check, clippy with warnings as errors, and every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

need_packages=()
command -v ip >/dev/null || need_packages+=(iproute2)
command -v dnsmasq >/dev/null || need_packages+=(dnsmasq-base)
command -v python3 >/dev/null || need_packages+=(python3)
# pip brings zig for the macOS cross check (below).
python3 -m pip --version >/dev/null 2>&1 || need_packages+=(python3-pip)
command -v setpriv >/dev/null || need_packages+=(util-linux)
command -v sysctl >/dev/null || need_packages+=(procps)
# The browser tests (tests/web_browser.rs) drive Debian's headless Chromium through chromedriver.
[[ -x /usr/bin/chromium ]] || need_packages+=(chromium)
[[ -x /usr/bin/chromedriver ]] || need_packages+=(chromium-driver)
# The Request Tracker tests (crates/tickets/tests/request_tracker.rs) run a real RT 5 with rt-server.
for package in request-tracker5 rt5-db-sqlite rt5-standalone; do
    [[ $(dpkg-query -W -f='${Status}' "$package" 2>/dev/null) == *"ok installed" ]] || need_packages+=("$package")
done
# The Debian package test (tests/packages_deb.rs): lintian checks the .debs, systemd-analyze
# verifies the installed units, the maintainer scripts create users with adduser.
command -v lintian >/dev/null || need_packages+=(lintian)
command -v systemd-analyze >/dev/null || need_packages+=(systemd)
command -v adduser >/dev/null || need_packages+=(adduser)
# tests/installers.rs validates the launchd plist against Apple's DTD.
command -v xmllint >/dev/null || need_packages+=(libxml2-utils)
# aws-lc-sys and zstd-sys build C for the Windows cross check.
command -v x86_64-w64-mingw32-gcc >/dev/null || need_packages+=(gcc-mingw-w64-x86-64)
# The store's suites run on PostgreSQL too (127.0.0.1:5432, database `test`), unless
# SITREP_TEST_POSTGRES names another server.
[[ -n ${SITREP_TEST_POSTGRES:-} ]] || command -v pg_ctlcluster >/dev/null || need_packages+=(postgresql)
if ((${#need_packages[@]})); then
    if [[ $(id -u) -ne 0 ]]; then
        echo "test.sh: missing ${need_packages[*]}; run as root or install them" >&2
        exit 1
    fi
    echo "test.sh: installing ${need_packages[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_packages[@]}"
fi
if [[ -z ${SITREP_TEST_POSTGRES:-} ]] && ! pg_isready -q -h 127.0.0.1 -p 5432; then
    echo "test.sh: starting PostgreSQL"
    cluster=$(pg_lsclusters --no-header | awk '$3 == 5432 { print $1 " " $2; exit }')
    [[ -n $cluster ]] || { echo "test.sh: no PostgreSQL cluster on port 5432" >&2; exit 1; }
    # shellcheck disable=SC2086 # version and name, two words
    pg_ctlcluster --skip-systemctl-redirect $cluster start
    for _ in $(seq 50); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.2; done
fi
if [[ -z ${SITREP_TEST_POSTGRES:-} ]] &&
    ! psql -h 127.0.0.1 -U postgres -d test -Atc 'SELECT 1' >/dev/null 2>&1; then
    su postgres -c "createdb test" 2>/dev/null || true
    psql -h 127.0.0.1 -U postgres -d test -Atc 'SELECT 1' >/dev/null || {
        echo "test.sh: PostgreSQL on 127.0.0.1:5432 does not let user postgres into database test;" \
            "allow it (trust for 127.0.0.1) or set SITREP_TEST_POSTGRES=postgres://USER:PASSWORD@HOST/DB" >&2
        exit 1
    }
fi
rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt clippy
rustup target list --installed | grep -qx x86_64-pc-windows-gnu || rustup target add x86_64-pc-windows-gnu
rustup target list --installed | grep -qx x86_64-apple-darwin || rustup target add x86_64-apple-darwin
# tests/packages_deb.rs builds the .debs from the crates' [package.metadata.deb].
command -v cargo-deb >/dev/null || cargo install cargo-deb --locked
# Licenses, duplicate versions, banned crates and sources of the dependency graph (deny.toml).
command -v cargo-deny >/dev/null || cargo install cargo-deny --locked
# aws-lc-sys and zstd-sys build C for the macOS cross check too; zig (from PyPI) brings the
# macOS headers a Linux machine has no SDK for. scripts/zig-cc-darwin drives it.
if ! python3 -m ziglang version >/dev/null 2>&1; then
    echo "test.sh: installing ziglang"
    python3 -m pip install --quiet ziglang 2>/dev/null ||
        python3 -m pip install --quiet --break-system-packages ziglang
fi
export CC_x86_64_apple_darwin="$PWD/scripts/zig-cc-darwin"
export AR_x86_64_apple_darwin="$PWD/scripts/zig-cc-darwin ar"

echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo deny (licenses, bans, sources) and yanked crates"
cargo deny --offline --workspace check licenses bans sources
# The advisory database cannot be fetched here; yanked versions need only the registry index.
scripts/check-yanked Cargo.lock
scripts/check-yanked fuzz/Cargo.lock
echo "== cargo check and clippy (Windows)"
cargo check -p sitrep-agent --target x86_64-pc-windows-gnu --locked
cargo clippy -p sitrep-agent --target x86_64-pc-windows-gnu --locked -- -D warnings
echo "== cargo check and clippy (macOS)"
cargo check -p sitrep-agent --target x86_64-apple-darwin --locked
cargo clippy -p sitrep-agent --target x86_64-apple-darwin --locked -- -D warnings
echo "== cargo test"
cargo test --workspace --locked

# Fuzzing (fuzz/): replays the kept crash reproducers and runs each target for ten seconds on
# corpora seeded from the fixtures; installs cargo-fuzz when missing.
echo "== fuzz smoke"
bash scripts/fuzz-smoke.sh
