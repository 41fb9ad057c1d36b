#!/usr/bin/env bash
# The fuzz targets of fuzz/: builds them once (cargo-fuzz on stable Rust), replays every crash
# reproducer kept under fuzz/regressions/<target>/, then runs each target for FUZZ_SECONDS
# (default 10) on a corpus seeded afresh from the test fixtures. Naming targets runs only
# those; FUZZ_SECONDS=600 scripts/fuzz-smoke.sh snapshot is a real fuzzing session.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-10}
fixtures=crates/probes/tests/fixtures
# Made afresh on every run; two runs side by side each need their own.
corpus=${FUZZ_CORPUS:-fuzz/corpus}

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --version '^0.13' --locked
# The ingest seeds are compressed as agents send them.
if ! command -v zstd >/dev/null || ! command -v gzip >/dev/null; then
    if [[ $(id -u) -ne 0 ]]; then
        echo "fuzz-smoke.sh: zstd and gzip are needed; run as root or install them" >&2
        exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends zstd gzip
fi

# No sanitizer: our crates deny unsafe code, so what fuzzing finds in them is panics, overflow
# (debug assertions are on), hangs and runaway memory, which libFuzzer catches unaided.
# AddressSanitizer would watch only the C of zstd and the unsafe of dependencies (fuzzed
# upstream), needs -Zsanitizer (a nightly flag, so RUSTC_BOOTSTRAP=1 on stable) and slows
# every build and run on two cores. Without it every flag cargo-fuzz passes is stable.
fuzz=(cargo +stable fuzz)
build_flags=(--dev --sanitizer none)
# fuzz/Cargo.lock is the root Cargo.lock plus libFuzzer, so what is fuzzed is what ships; when
# this fails, a dependency changed: `cp Cargo.lock fuzz/ && cargo fetch --manifest-path
# fuzz/Cargo.toml` brings it level again.
cargo +stable fetch --locked --manifest-path fuzz/Cargo.toml
"${fuzz[@]}" build "${build_flags[@]}"

targets=("$@")
if ((${#targets[@]} == 0)); then
    mapfile -t targets < <("${fuzz[@]}" list)
fi

# seed TARGET NAME CHOICE FILE...: one input, the choice byte (none for "-") followed by the
# files, cut apart by the marker line of the targets that take several documents.
seed() {
    local target=$1 name=$2 choice=$3 file separator=""
    shift 3
    mkdir -p "$corpus/$target"
    {
        [[ $choice == - ]] || printf "\\$(printf %03o "$choice")"
        for file in "$@"; do
            printf '%b' "$separator"
            cat "$file"
            separator='\r\n#sitrep-document-end\r\n'
        done
    } >"$corpus/$target/$name"
}

# each TARGET CHOICE GLOB...: one input per fixture file that exists.
each() {
    local target=$1 choice=$2 file
    shift 2
    for file in "$@"; do
        [[ -f $file ]] && seed "$target" "$(echo "$file" | tr / _)" "$choice" "$file"
    done
    return 0
}

seed_corpora() {
    rm -rf "$corpus"
    local windows=$fixtures/windows macos=$fixtures/macos/macbook machine dir file
    each os_release - $fixtures/*/etc/os-release $fixtures/*/usr/lib/os-release
    each resolv_conf - $fixtures/*/etc/resolv.conf $fixtures/*/run/systemd/resolve/*resolv.conf
    each routes 0 $fixtures/*/proc/net/route
    each routes 1 $fixtures/*/proc/net/ipv6_route
    each mountinfo - $fixtures/*/proc/self/mountinfo
    each edid - $fixtures/*/sys/class/drm/*/edid
    each asound 0 $fixtures/*/proc/asound/cards
    each asound 1 $fixtures/*/proc/asound/pcm
    each linux_proc_sys 0 $fixtures/*/proc/cpuinfo
    each linux_proc_sys 1 $fixtures/*/proc/meminfo
    each linux_proc_sys 2 $fixtures/*/proc/loadavg
    each linux_proc_sys 3 $fixtures/*/proc/uptime
    each linux_proc_sys 4 $fixtures/*/proc/stat
    each linux_proc_sys 5 $fixtures/*/proc/bus/input/devices
    each linux_proc_sys 6 $fixtures/*/run/systemd/sessions/*
    each linux_proc_sys 7 $fixtures/*/var/run/utmp
    # A power supply's attribute files as `name=value` lines.
    for dir in $fixtures/*/sys/class/power_supply/*; do
        mkdir -p "$corpus/linux_proc_sys"
        {
            printf '\010'
            for file in "$dir"/*; do
                [[ -f $file ]] && printf '%s=%s\n' "$(basename "$file")" "$(cat "$file")"
            done
        } >"$corpus/linux_proc_sys/power_supply-$(basename "$dir")"
    done

    for machine in laptop desktop; do
        each windows_wmi 0 $windows/$machine/Win32_LogicalDisk.json
        [[ -f $windows/$machine/Win32_Processor.json ]] &&
            seed windows_wmi hardware-$machine 1 $windows/$machine/{Win32_Processor,Win32_OperatingSystem}.json
    done
    seed windows_wmi network 2 $windows/laptop/{Win32_NetworkAdapter,Win32_NetworkAdapterConfiguration,InternetSettings}.json
    seed windows_wmi os 3 $windows/laptop/{Win32_OperatingSystem,Win32_QuickFixEngineering,Win32_ComputerSystem,CurrentVersion}.json
    seed windows_wmi audio 4 $windows/laptop/Win32_SoundDevice.json
    seed windows_wmi displays 5 $windows/laptop/{WmiMonitorID,WmiMonitorConnectionParams}.json
    seed windows_wmi pnp 6 $windows/laptop/Win32_PnPEntity.json
    seed windows_wmi power 7 $windows/laptop/{Win32_Battery,BatteryStaticData,BatteryFullChargedCapacity,BatteryCycleCount}.json
    seed windows_wmi printers 8 $windows/laptop/{Win32_Service-Spooler,Win32_Printer,Win32_PrintJob}.json
    seed windows_wmi ipconfig 9 $windows/laptop/ipconfig-all.txt

    echo /var/db/timezone/zoneinfo/Europe/Berlin >"$corpus/localtime-link"
    seed macos os 0 $macos/{sw_vers,sysctl-os,who}.txt "$corpus/localtime-link"
    rm "$corpus/localtime-link"
    seed macos hardware 1 $macos/{sysctl-hardware,vm_stat}.txt
    seed macos disks 2 $macos/{df-kP,mount}.txt
    seed macos interfaces 3 $macos/{ifconfig,networksetup-listallhardwareports}.txt
    each macos 4 $macos/route-get-*.txt
    seed macos dns 5 $macos/scutil-dns.txt
    seed macos proxy 6 $macos/scutil-proxy.txt
    seed macos usb 7 $macos/SPUSBDataType.json
    seed macos displays 8 $macos/SPDisplaysDataType.json
    seed macos power 9 $macos/SPPowerDataType.json
    seed macos audio 10 $macos/SPAudioDataType.json
    seed macos bluetooth 11 $macos/SPBluetoothDataType.json
    seed macos cameras 12 $macos/SPCameraDataType.json

    each cups_ipp - $fixtures/cups/*/*.request
    each cups_http - $fixtures/cups/*/*.response
    mkdir -p "$corpus/cups_ipp" "$corpus/cups_http"
    for file in $fixtures/cups/*/*.response; do
        # The IPP body alone, and the same answer in chunked transfer coding.
        name=$(basename "$(dirname "$file")")-$(basename "$file")
        length=$(grep -a -i '^content-length:' "$file" | tr -dc 0-9)
        tail -c "$length" "$file" >"$corpus/cups_ipp/$name"
        {
            printf 'HTTP/1.1 200 OK\r\nServer: CUPS/2.4\r\nTransfer-Encoding: chunked\r\n\r\n'
            printf '%x\r\n' "$length"
            cat "$corpus/cups_ipp/$name"
            printf '\r\n0\r\n\r\n'
        } >"$corpus/cups_http/chunked-$name"
    done

    for file in crates/collector/tests/data/*.json crates/collector/tests/fixtures/snapshot.json; do
        each snapshot - "$file"
        seed ingest "identity-$(basename "$file")" 0 "$file"
        zstd -q -c "$file" >"$corpus/compressed"
        seed ingest "zstd-$(basename "$file")" 1 "$corpus/compressed"
        gzip -c "$file" >"$corpus/compressed"
        seed ingest "gzip-$(basename "$file")" 2 "$corpus/compressed"
        rm "$corpus/compressed"
    done
}
seed_corpora

# Bounded: no input may take more than 10 s or 2 GiB, the run stops after its time.
run_flags=(-rss_limit_mb=2048 -timeout=10)
for target in "${targets[@]}"; do
    if [[ -d fuzz/regressions/$target ]]; then
        echo "== fuzz $target: replaying fuzz/regressions/$target"
        "${fuzz[@]}" run "${build_flags[@]}" "$target" fuzz/regressions/"$target"/* -- "${run_flags[@]}"
    fi
    echo "== fuzz $target: ${seconds}s from $(find "$corpus/$target" -type f | wc -l) seeds"
    log=$corpus/$target.log
    if ! "${fuzz[@]}" run "${build_flags[@]}" "$target" "$corpus/$target" -- \
        "${run_flags[@]}" -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1; then
        tail -n 60 "$log"
        echo "fuzz-smoke.sh: $target failed; the input is under fuzz/artifacts/$target/" >&2
        exit 1
    fi
    grep -E '^stat::(number_of_executed_units|peak_rss_mb)|DONE' "$log"
done
