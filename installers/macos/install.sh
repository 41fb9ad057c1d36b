#!/bin/sh
# Installs the sitrep agent on macOS as the launchd daemon com.sitrep.agent. Safe to run again
# (it changes only what differs); see --help.
set -eu

usage() {
    cat <<'EOF'
usage: install.sh [--binary PATH] [--token TOKEN] [--collector URL] [--fingerprint SHA256]
       install.sh --uninstall [--purge]

Installs the sitrep agent as the launchd daemon com.sitrep.agent (run as root):
  /usr/local/bin/sitrep                                  the agent (--binary PATH, else ./sitrep
                                                         beside this script, else the installed one)
  /Library/LaunchDaemons/com.sitrep.agent.plist          the launchd job
  /Library/Application Support/sitrep/agent.toml         config; a commented example when absent,
                                                         never overwritten (enrollment keys are set)
  /Library/Application Support/sitrep/enrollment.token   the enrollment token (0600)
  /Library/Application Support/sitrep/state              state (0700)
  /Library/Logs/sitrep/                                  agent.log, agent.err.log

Enrollment: --token, --collector and --fingerprint (or the environment variables
SITREP_ENROLLMENT_TOKEN, SITREP_COLLECTOR, SITREP_FINGERPRINT; prefer the variable for the
token, since arguments are visible to other users in ps) make the daemon enroll itself when
it starts. Nothing is sent at install time.

--uninstall removes the binary and the launchd job and keeps config, token, state and logs;
--uninstall --purge removes those too.

DESTDIR=/some/dir puts everything under that directory and skips changing owners and
launchctl (so it also runs on Linux, for tests and packaging).
EOF
}

fail() {
    echo "install.sh: $*" >&2
    exit 1
}

say() {
    echo "install.sh: $*"
}

SCRIPT_DIR=$(cd "$(dirname "$0")" && pwd)
DESTDIR=${DESTDIR:-}
LABEL=com.sitrep.agent
BIN_PATH=/usr/local/bin/sitrep
PLIST_PATH=/Library/LaunchDaemons/$LABEL.plist
SUPPORT_DIR="/Library/Application Support/sitrep"
CONFIG_PATH=$SUPPORT_DIR/agent.toml
TOKEN_PATH=$SUPPORT_DIR/enrollment.token
STATE_DIR=$SUPPORT_DIR/state
LOG_DIR=/Library/Logs/sitrep

binary=
token=${SITREP_ENROLLMENT_TOKEN:-}
collector=${SITREP_COLLECTOR:-}
fingerprint=${SITREP_FINGERPRINT:-}
uninstall=no
purge=no

while [ $# -gt 0 ]; do
    case $1 in
        --binary | --token | --collector | --fingerprint)
            [ $# -ge 2 ] || fail "$1 needs a value (see --help)"
            case $1 in
                --binary) binary=$2 ;;
                --token) token=$2 ;;
                --collector) collector=$2 ;;
                --fingerprint) fingerprint=$2 ;;
            esac
            shift 2
            ;;
        --uninstall) uninstall=yes; shift ;;
        --purge) purge=yes; shift ;;
        -h | --help) usage; exit 0 ;;
        *) fail "unknown argument '$1' (see --help)" ;;
    esac
done

[ "$purge" = no ] || [ "$uninstall" = yes ] || fail "--purge goes with --uninstall"
if [ -n "$DESTDIR" ]; then
    case $DESTDIR in
        /*) ;;
        *) DESTDIR=$(pwd)/$DESTDIR ;;
    esac
    DESTDIR=${DESTDIR%/}
    say "DESTDIR=$DESTDIR: not changing owners, not running launchctl"
else
    [ "$(id -u)" -eq 0 ] || fail "run as root, e.g. with sudo (or set DESTDIR to install into a directory)"
    command -v launchctl >/dev/null 2>&1 || fail "launchctl not found: this script is for macOS (set DESTDIR to stage files elsewhere)"
fi

changed=no

# Copies $1 to $DESTDIR$2 with mode $3 unless the content is already there (an administrator's
# later chmod of an unchanged file is theirs to keep).
place_file() {
    target=$DESTDIR$2
    if [ -f "$target" ] && cmp -s "$1" "$target"; then
        return 0
    fi
    mkdir -p "$(dirname "$target")"
    # A temp file renamed over the target: a running binary is replaced, not written into.
    cp "$1" "$target.new.$$"
    chmod "$3" "$target.new.$$"
    mv -f "$target.new.$$" "$target"
    say "installed $2"
    changed=yes
}

# Writes stdin to $DESTDIR$1 with mode $2 unless that content is already there.
place_text() {
    staged=$(mktemp)
    cat >"$staged"
    place_file "$staged" "$1" "$2"
    rm -f "$staged"
}

# launchd ignores a job file not owned by root:wheel.
own_by_root() {
    [ -z "$DESTDIR" ] || return 0
    chown root:wheel "$1"
}

# Sets the top-level TOML key $1 to the string $2 in the staged config $3, before its first
# table, replacing an earlier value.
set_config_key() {
    awk -v key="$1" -v line="$1 = \"$2\"" '
        !done && $0 ~ "^[ \t]*\\[" { print line; done = 1 }
        !done && $0 ~ "^[ \t]*" key "[ \t]*=" { print line; done = 1; next }
        { print }
        END { if (!done) print line }
    ' "$3" >"$3.key"
    mv -f "$3.key" "$3"
}

example_config() {
    cat <<'EOF'
# sitrep agent configuration; every key is described in docs/config.md.
# Unknown keys are errors: check a change with `sitrep config check`.

# The collector this agent reports to, and the SHA-256 fingerprint of its certificate
# (or ca_file). With enrollment_token_file the daemon enrolls itself at start.
# collector = "https://sitrep.example.com"
# fingerprint = "AB:CD:..."
# ca_file = "/Library/Application Support/sitrep/ca.pem"
# enrollment_token_file = "/Library/Application Support/sitrep/enrollment.token"

# [schedule]
# interval = "15m"

# [spool]
# max_bytes = "50MiB"
# max_items = 500

# [probes]
# ping = ["192.0.2.1"]
# resolve = ["example.com"]
# tcp = ["mail.example.com:443"]
# http = ["https://intranet.example.com/"]
# timeout = "2s"
# deadline = "10s"

# [privacy]
# pseudonymize = ["hostname", "user", "mac", "ip"]
EOF
}

validate_enrollment() {
    case $token in
        *[!A-Za-z0-9_.-]*) fail "the enrollment token has characters a token never has (expected se_...)" ;;
    esac
    case $collector in
        "") ;;
        *[\"\\\ ]*) fail "the collector URL '$collector' has a quote, backslash or space" ;;
        https://?* | http://?*) ;;
        *) fail "the collector URL '$collector' must start with https:// (or http:// on loopback)" ;;
    esac
    if [ -n "$fingerprint" ]; then
        hex=$(printf '%s' "$fingerprint" | tr -d ':')
        case $hex in
            *[!0-9A-Fa-f]*) fail "the fingerprint '$fingerprint' must be 64 hex digits (colons allowed)" ;;
        esac
        [ ${#hex} -eq 64 ] || fail "the fingerprint '$fingerprint' has ${#hex} hex digits, not 64"
    fi
    if [ -n "$token" ] && [ -z "$collector" ] &&
        ! grep -q '^[ 	]*collector[ 	]*=' "$DESTDIR$CONFIG_PATH" 2>/dev/null; then
        fail "--token needs --collector URL (or SITREP_COLLECTOR): the daemon enrolls there"
    fi
}

job_loaded() {
    launchctl print "system/$LABEL" >/dev/null 2>&1
}

install_agent() {
    if [ -z "$binary" ] && [ -f "$SCRIPT_DIR/sitrep" ]; then
        binary=$SCRIPT_DIR/sitrep
    fi
    if [ -n "$binary" ]; then
        [ -f "$binary" ] || fail "--binary $binary: no such file"
        [ -x "$binary" ] || fail "--binary $binary: not executable"
    elif [ ! -f "$DESTDIR$BIN_PATH" ]; then
        fail "no agent binary: pass --binary PATH (or put sitrep beside this script)"
    fi
    [ -f "$SCRIPT_DIR/$LABEL.plist" ] || fail "$SCRIPT_DIR/$LABEL.plist is missing: run this script from installers/macos"
    validate_enrollment

    [ -z "$binary" ] || place_file "$binary" "$BIN_PATH" 0755

    mkdir -p "$DESTDIR$SUPPORT_DIR"
    chmod 0755 "$DESTDIR$SUPPORT_DIR"
    [ -z "$token" ] || printf '%s\n' "$token" | place_text "$TOKEN_PATH" 0600
    # The config is edited in a staged copy and placed once, so an unchanged one is not touched.
    staged_config=$(mktemp)
    if [ -e "$DESTDIR$CONFIG_PATH" ]; then
        cat "$DESTDIR$CONFIG_PATH" >"$staged_config"
    else
        example_config >"$staged_config"
    fi
    [ -z "$token" ] || set_config_key enrollment_token_file "$TOKEN_PATH" "$staged_config"
    [ -z "$collector" ] || set_config_key collector "$collector" "$staged_config"
    [ -z "$fingerprint" ] || set_config_key fingerprint "$fingerprint" "$staged_config"
    place_file "$staged_config" "$CONFIG_PATH" 0644
    rm -f "$staged_config"

    for dir in "$STATE_DIR" "$LOG_DIR"; do
        if [ ! -d "$DESTDIR$dir" ]; then
            mkdir -p "$DESTDIR$dir"
            say "created $dir"
            changed=yes
        fi
    done
    chmod 0700 "$DESTDIR$STATE_DIR"
    chmod 0755 "$DESTDIR$LOG_DIR"

    place_file "$SCRIPT_DIR/$LABEL.plist" "$PLIST_PATH" 0644
    own_by_root "$DESTDIR$PLIST_PATH"

    if [ -z "$DESTDIR" ]; then
        # bootstrap refuses a job that is already loaded: a changed install is reloaded.
        if job_loaded && [ "$changed" = yes ]; then
            launchctl bootout "system/$LABEL" || true
        fi
        if ! job_loaded; then
            launchctl bootstrap system "$PLIST_PATH"
            say "started $LABEL"
        fi
    fi
    [ "$changed" = yes ] || say "nothing to change: already installed"
}

remove_path() {
    if [ -e "$DESTDIR$1" ] || [ -L "$DESTDIR$1" ]; then
        rm -rf "$DESTDIR$1"
        say "removed $1"
    fi
}

# Under DESTDIR only: the directories this script created, once empty. On a real root an
# empty /lib/systemd/system may still be expected by others.
prune_destdir() {
    [ -n "$DESTDIR" ] || return 0
    for dir in "$@"; do
        while [ "$dir" != / ]; do
            if [ -d "$DESTDIR$dir" ]; then
                rmdir "$DESTDIR$dir" 2>/dev/null || break
            fi
            dir=$(dirname "$dir")
        done
    done
}

uninstall_agent() {
    if [ -z "$DESTDIR" ] && job_loaded; then
        launchctl bootout "system/$LABEL" || fail "launchctl bootout system/$LABEL failed"
        say "stopped $LABEL"
    fi
    remove_path "$PLIST_PATH"
    remove_path "$BIN_PATH"
    if [ "$purge" = yes ]; then
        remove_path "$TOKEN_PATH"
        remove_path "$CONFIG_PATH"
        remove_path "$STATE_DIR"
        if [ -d "$DESTDIR$SUPPORT_DIR" ] && rmdir "$DESTDIR$SUPPORT_DIR" 2>/dev/null; then
            say "removed $SUPPORT_DIR"
        fi
        remove_path "$LOG_DIR"
    else
        say "kept $SUPPORT_DIR and $LOG_DIR (--purge removes them)"
    fi
    prune_destdir "$(dirname "$PLIST_PATH")" "$(dirname "$BIN_PATH")" "$SUPPORT_DIR" \
        "$(dirname "$LOG_DIR")"
}

if [ "$uninstall" = yes ]; then
    uninstall_agent
else
    install_agent
fi
