//! Fuzzes the macOS parsers, picked by the first byte, on what the tools print (several tools'
//! outputs cut apart by the marker line): `sw_vers` with `sysctl`, `who` and the localtime
//! link; `sysctl` with `vm_stat`; `df -kP` with `mount` (`disks_of` parses both); `ifconfig`
//! with `networksetup -listallhardwareports`; `route -n get`; `scutil --dns`; `scutil
//! --proxy`; and `system_profiler -json` of each peripheral kind. Never a panic; every section
//! part they make survives the wire.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sitrep_fuzz::{documents, now, survives_the_wire};
use sitrep_probes::parse::macos::disks::disks_of;
use sitrep_probes::parse::macos::hardware::hardware_of;
use sitrep_probes::parse::macos::network::{
    dns_of, interfaces_of, parse_route_get, parse_scutil_dns, proxy_of, wifi_devices,
};
use sitrep_probes::parse::macos::os::{OsOutputs, os_of};
use sitrep_probes::parse::macos::peripherals;

fuzz_target!(|data: &[u8]| {
    let Some((parser, rest)) = sitrep_fuzz::choice(data, 13) else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    match parser {
        0 => {
            let [sw_vers, sysctl, who, localtime_link] = documents(&text);
            let outputs = OsOutputs {
                sw_vers,
                sysctl,
                who,
                localtime_link: Some(localtime_link.trim()).filter(|link| !link.is_empty()),
            };
            if let Ok(os) = os_of(outputs, now()) {
                survives_the_wire(&os);
            }
        }
        1 => {
            let [sysctl, vm_stat] = documents(&text);
            if let Ok(hardware) = hardware_of(sysctl, vm_stat) {
                survives_the_wire(&hardware);
            }
        }
        2 => {
            let [df, mount] = documents(&text);
            if let Ok(disks) = disks_of(df, mount) {
                survives_the_wire(&disks);
            }
        }
        3 => {
            let [ifconfig, hardware_ports] = documents(&text);
            let _ = wifi_devices(hardware_ports);
            if let Ok(interfaces) = interfaces_of(ifconfig, hardware_ports) {
                survives_the_wire(&interfaces);
            }
        }
        4 => {
            if let Some(route) = parse_route_get(&text) {
                assert!(route.prefix_len <= if route.destination.is_ipv6() { 128 } else { 32 });
                survives_the_wire(&route);
            }
        }
        5 => {
            if let Ok(resolvers) = parse_scutil_dns(&text) {
                survives_the_wire(&dns_of(&resolvers));
            }
        }
        6 => survives_the_wire(&proxy_of(&text)),
        7 => {
            if let Ok(devices) = peripherals::usb_devices(&text) {
                survives_the_wire(&devices);
            }
        }
        8 => {
            if let Ok(displays) = peripherals::displays(&text) {
                survives_the_wire(&displays);
            }
        }
        9 => {
            if let Ok(power) = peripherals::power(&text) {
                survives_the_wire(&power);
            }
        }
        10 => {
            if let Ok(audio) = peripherals::audio(&text) {
                survives_the_wire(&audio);
            }
        }
        11 => {
            if let Ok(bluetooth) = peripherals::bluetooth(&text) {
                survives_the_wire(&bluetooth);
            }
        }
        _ => {
            if let Ok(cameras) = peripherals::cameras(&text) {
                survives_the_wire(&cameras);
            }
        }
    }
});
