//! Fuzzes `parse_resolv_conf` (resolv.conf(5)) and `dns_config`: parsing is total, printing
//! what was parsed as resolv.conf and parsing that again gives the same settings, and the DNS
//! settings made of them survive the wire.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sitrep_probes::linux::network::resolv::{dns_config, parse_resolv_conf};

fuzz_target!(|data: &[u8]| {
    let conf = parse_resolv_conf(&String::from_utf8_lossy(data));
    let mut printed = String::new();
    for server in &conf.nameservers {
        printed.push_str(&format!("nameserver {server}\n"));
    }
    if !conf.search_domains.is_empty() {
        printed.push_str(&format!("search {}\n", conf.search_domains.join(" ")));
    }
    assert_eq!(parse_resolv_conf(&printed), conf, "{printed:?}");
    // Read as /etc/resolv.conf, and again as resolved's upstream list behind its stub.
    sitrep_fuzz::survives_the_wire(&dns_config(conf.clone(), None));
    sitrep_fuzz::survives_the_wire(&dns_config(conf.clone(), Some(conf)));
});
