//! Fuzzes the Windows parsers, picked by the first byte, on what PowerShell prints: the CIM
//! instances of each section's queries as `ConvertTo-Json` documents cut apart by the marker
//! line (logical disks, processors, network adapters with their configurations and proxy
//! settings, operating system, sound devices, monitors, Plug and Play entities, batteries,
//! printers) and `ipconfig /all`. Never a panic; every section part they make survives the
//! wire, and the default gateways are among the routes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sitrep_fuzz::{documents, now, survives_the_wire};
use sitrep_probes::parse::windows::network::{Adapters, proxy_of};
use sitrep_probes::parse::windows::os::{OsDocuments, os_of};
use sitrep_probes::parse::windows::peripherals::{
    audio::audio_of, displays::displays_of, pnp, power::power_of, printers::printers_of,
    problems::device_problems,
};
use sitrep_probes::parse::windows::{disks::disks_of, hardware::hardware_of, ipconfig};

fuzz_target!(|data: &[u8]| {
    let Some((parser, rest)) = sitrep_fuzz::choice(data, 10) else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    match parser {
        0 => {
            if let Ok(disks) = disks_of(&text) {
                survives_the_wire(&disks);
            }
        }
        1 => {
            let [processors, system] = documents(&text);
            if let Ok(hardware) = hardware_of(processors, system) {
                survives_the_wire(&hardware);
            }
        }
        2 => {
            let [adapters, configurations, internet_settings] = documents(&text);
            if let Ok(adapters) = Adapters::parse(adapters, configurations) {
                survives_the_wire(&adapters.interfaces());
                let routing = adapters.routing();
                assert!(
                    routing
                        .default_gateways
                        .iter()
                        .all(|gateway| routing.routes.contains(gateway))
                );
                survives_the_wire(&routing);
                survives_the_wire(&adapters.dns());
            }
            if let Ok(proxy) = proxy_of(internet_settings) {
                survives_the_wire(&proxy);
            }
        }
        3 => {
            let [operating_system, hotfixes, computer_system, current_version] = documents(&text);
            let documents = OsDocuments {
                operating_system,
                hotfixes,
                computer_system,
                current_version,
            };
            if let Ok(os) = os_of(documents, now()) {
                survives_the_wire(&os);
            }
        }
        4 => {
            if let Ok(audio) = audio_of(&text) {
                survives_the_wire(&audio);
            }
        }
        5 => {
            let [monitor_ids, connections] = documents(&text);
            if let Ok(displays) = displays_of(monitor_ids, connections) {
                survives_the_wire(&displays);
            }
        }
        6 => {
            if let Ok(entities) = pnp::parse_pnp_entities(&text) {
                survives_the_wire(&pnp::usb_devices(&entities));
                survives_the_wire(&pnp::bluetooth_adapters(&entities));
                survives_the_wire(&pnp::cameras(&entities));
                survives_the_wire(&pnp::input_devices(&entities));
                survives_the_wire(&device_problems(&entities));
            }
        }
        7 => {
            let [batteries, static_data, full_charge, cycle_counts] = documents(&text);
            if let Ok(power) = power_of(batteries, static_data, full_charge, cycle_counts) {
                survives_the_wire(&power);
            }
        }
        8 => {
            let [spooler, printers, jobs] = documents(&text);
            if let Ok(printers) = printers_of(spooler, printers, jobs, now()) {
                survives_the_wire(&printers);
            }
        }
        _ => {
            if let Ok(config) = ipconfig::parse_ipconfig(&text) {
                let dns = ipconfig::dns_of(&config);
                let mut servers = dns.servers.clone();
                servers.dedup();
                assert_eq!(servers.len(), dns.servers.len(), "servers are listed once");
                survives_the_wire(&dns);
            }
        }
    }
});
