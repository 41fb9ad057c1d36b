#!/bin/sh
# Installs the sitrep agent on Linux systems without the .deb, in the .deb's layout, as a
# systemd service. Safe to run again (it changes only what differs); see --help.
set -eu

usage() {
    cat <<'EOF'
usage: install.sh [--binary PATH] [--token TOKEN] [--collector URL] [--fingerprint SHA256]
       install.sh --uninstall [--purge]

Installs the sitrep agent as the systemd service sitrep-agent:
  /usr/bin/sitrep                               the agent (--binary PATH, else ./sitrep beside
                                                this script, else the one already installed)
  /etc/sitrep/agent.toml                        config; the commented example (agent.toml beside
                                                this script) when absent, never
                                                overwritten (enrollment keys are set in place)
  /etc/sitrep/enrollment.token                  the enrollment token (0600, user sitrep)
  /lib/systemd/system/sitrep-agent.service      the unit (sitrep-agent.service beside this script)
  /var/lib/sitrep                               state (0750, user sitrep)
and the system user sitrep.

Enrollment: --token, --collector and --fingerprint (or the environment variables
SITREP_ENROLLMENT_TOKEN, SITREP_COLLECTOR, SITREP_FINGERPRINT; prefer the variable for the
token, since arguments are visible to other users in ps) make the daemon enroll itself when
it starts. Nothing is sent at install time.

--uninstall removes the binary and the unit and keeps config, token, state and user;
--uninstall --purge removes those too.

DESTDIR=/some/dir puts everything under that directory and skips creating the user, changing
owners and systemctl.
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
SERVICE_USER=sitrep
UNIT_NAME=sitrep-agent.service
BIN_PATH=/usr/bin/sitrep
CONFIG_DIR=/etc/sitrep
CONFIG_PATH=$CONFIG_DIR/agent.toml
TOKEN_PATH=$CONFIG_DIR/enrollment.token
UNIT_PATH=/lib/systemd/system/$UNIT_NAME
STATE_DIR=/var/lib/sitrep

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
    say "DESTDIR=$DESTDIR: not creating or removing the user $SERVICE_USER, not changing owners, not running systemctl"
elif [ "$(id -u)" -ne 0 ]; then
    fail "run as root (or set DESTDIR to install into a directory)"
fi

# systemctl only when this machine's PID 1 is systemd and the target is this machine.
systemd_running() {
    [ -z "$DESTDIR" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1
}

# A file dpkg knows belongs to the .deb; replacing or removing it here would break the package.
refuse_if_packaged() {
    [ -z "$DESTDIR" ] && command -v dpkg >/dev/null 2>&1 || return 0
    if dpkg -S "$1" >/dev/null 2>&1; then
        fail "$1 belongs to a Debian package ($(dpkg -S "$1" 2>/dev/null | cut -d: -f1)); use apt or dpkg instead of this script"
    fi
}

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

own() {
    [ -z "$DESTDIR" ] || return 0
    chown "$SERVICE_USER:$SERVICE_USER" "$1"
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

# The example of the .deb (agent.toml beside this script) is preferred; this one is for the
# script run on its own.
example_config() {
    cat <<'EOF'
# sitrep agent configuration; every key is described in docs/config.md.
# Unknown keys are errors: check a change with `sitrep config check`.

# The collector this agent reports to, and the SHA-256 fingerprint of its certificate
# (or ca_file). With enrollment_token_file the daemon enrolls itself at start.
# collector = "https://sitrep.example.com"
# fingerprint = "AB:CD:..."
# ca_file = "/etc/sitrep/ca.pem"
# enrollment_token_file = "/etc/sitrep/enrollment.token"

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

# Used only when this script is run on its own, without the unit file beside it; the unit
# in installers/linux/ (also shipped in the .deb) is the reference.
fallback_unit() {
    cat <<'EOF'
[Unit]
Description=sitrep agent: machine health snapshots for the helpdesk
Documentation=https://github.com/sitrep/sitrep
Wants=network-online.target
After=network-online.target

[Service]
Type=simple
User=sitrep
Group=sitrep
ExecStart=/usr/bin/sitrep --config /etc/sitrep/agent.toml --state-dir /var/lib/sitrep daemon
ExecReload=/bin/kill -HUP $MAINPID
Restart=on-failure
RestartSec=5s
StateDirectory=sitrep
StateDirectoryMode=0750
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
NoNewPrivileges=yes
CapabilityBoundingSet=CAP_NET_RAW
AmbientCapabilities=CAP_NET_RAW

[Install]
WantedBy=multi-user.target
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

ensure_user() {
    [ -z "$DESTDIR" ] || return 0
    if id "$SERVICE_USER" >/dev/null 2>&1; then
        return 0
    fi
    nologin=/bin/false
    for candidate in /usr/sbin/nologin /sbin/nologin; do
        [ -x "$candidate" ] && nologin=$candidate && break
    done
    if command -v useradd >/dev/null 2>&1; then
        useradd --system --user-group --home-dir "$STATE_DIR" --no-create-home \
            --shell "$nologin" --comment "sitrep agent" "$SERVICE_USER"
    elif command -v adduser >/dev/null 2>&1; then
        # BusyBox (Alpine): -S system user, -D no password, -H no home directory.
        addgroup -S "$SERVICE_USER" 2>/dev/null || true
        adduser -S -D -H -h "$STATE_DIR" -s "$nologin" -G "$SERVICE_USER" "$SERVICE_USER"
    else
        fail "neither useradd nor adduser is available to create the system user $SERVICE_USER"
    fi
    say "created the system user $SERVICE_USER"
    changed=yes
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
    validate_enrollment
    refuse_if_packaged "$BIN_PATH"
    ensure_user

    [ -z "$binary" ] || place_file "$binary" "$BIN_PATH" 0755

    mkdir -p "$DESTDIR$CONFIG_DIR"
    chmod 0755 "$DESTDIR$CONFIG_DIR"
    if [ -n "$token" ]; then
        printf '%s\n' "$token" | place_text "$TOKEN_PATH" 0600
        own "$DESTDIR$TOKEN_PATH"
    fi
    # The config is edited in a staged copy and placed once, so an unchanged one is not touched.
    staged_config=$(mktemp)
    if [ -e "$DESTDIR$CONFIG_PATH" ]; then
        cat "$DESTDIR$CONFIG_PATH" >"$staged_config"
    elif [ -f "$SCRIPT_DIR/agent.toml" ]; then
        cat "$SCRIPT_DIR/agent.toml" >"$staged_config"
    else
        example_config >"$staged_config"
    fi
    [ -z "$token" ] || set_config_key enrollment_token_file "$TOKEN_PATH" "$staged_config"
    [ -z "$collector" ] || set_config_key collector "$collector" "$staged_config"
    [ -z "$fingerprint" ] || set_config_key fingerprint "$fingerprint" "$staged_config"
    place_file "$staged_config" "$CONFIG_PATH" 0644
    rm -f "$staged_config"

    if [ -f "$SCRIPT_DIR/$UNIT_NAME" ]; then
        place_file "$SCRIPT_DIR/$UNIT_NAME" "$UNIT_PATH" 0644
    else
        fallback_unit | place_text "$UNIT_PATH" 0644
    fi

    if [ ! -d "$DESTDIR$STATE_DIR" ]; then
        mkdir -p "$DESTDIR$STATE_DIR"
        say "created $STATE_DIR"
        changed=yes
    fi
    chmod 0750 "$DESTDIR$STATE_DIR"
    own "$DESTDIR$STATE_DIR"

    if systemd_running; then
        systemctl daemon-reload
        systemctl enable --quiet "$UNIT_NAME"
        if [ "$changed" = yes ]; then
            systemctl restart "$UNIT_NAME"
            say "started $UNIT_NAME"
        else
            systemctl start "$UNIT_NAME"
        fi
    elif [ -z "$DESTDIR" ]; then
        say "systemd is not running here: start the agent with $BIN_PATH --config $CONFIG_PATH --state-dir $STATE_DIR daemon"
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
    refuse_if_packaged "$BIN_PATH"
    if systemd_running; then
        systemctl disable --now --quiet "$UNIT_NAME" 2>/dev/null || true
    fi
    remove_path "$UNIT_PATH"
    systemd_running && systemctl daemon-reload
    remove_path "$BIN_PATH"
    if [ "$purge" = yes ]; then
        remove_path "$TOKEN_PATH"
        remove_path "$CONFIG_PATH"
        # /etc/sitrep also holds the collector's config when both run here.
        if [ -d "$DESTDIR$CONFIG_DIR" ] && rmdir "$DESTDIR$CONFIG_DIR" 2>/dev/null; then
            say "removed $CONFIG_DIR"
        fi
        remove_path "$STATE_DIR"
        if [ -z "$DESTDIR" ] && id "$SERVICE_USER" >/dev/null 2>&1; then
            userdel "$SERVICE_USER"
            say "removed the system user $SERVICE_USER"
        fi
    else
        say "kept $CONFIG_DIR and $STATE_DIR (--purge removes them)"
    fi
    prune_destdir "$(dirname "$UNIT_PATH")" "$(dirname "$BIN_PATH")" "$CONFIG_DIR" \
        "$(dirname "$STATE_DIR")"
}

if [ "$uninstall" = yes ]; then
    uninstall_agent
else
    install_agent
fi
