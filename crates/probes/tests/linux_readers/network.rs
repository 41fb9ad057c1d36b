//! The `network` reader: interfaces, routes, DNS and proxies on fixture trees.

use expect_test::expect;
use sitrep_probes::{Ctx, network};
use sitrep_snapshot::Network;

use crate::{check, fixture, section_of};

#[test]
fn laptop_ubuntu_network() {
    let root = fixture("laptop-ubuntu");
    let mut ctx = Ctx::at(&root);
    ctx.env.insert(
        "https_proxy".to_owned(),
        "http://alice:hunter2@proxy.fritz.box:3128".to_owned(),
    );
    ctx.env.insert(
        "SSH_AUTH_SOCK".to_owned(),
        "/run/user/1000/keyring/ssh".to_owned(),
    );
    let Network {
        interfaces,
        routing,
        dns,
        proxy,
    } = section_of(network::gather(&ctx));
    check(
        expect![[r#"
        Ok(
            [
                Interface {
                    name: "br-5e2a9c1f0d3b",
                    mac: Some(
                        "02:42:c1:7e:90:44",
                    ),
                    mtu: Some(
                        1500,
                    ),
                    oper_state: Down,
                    speed_mbps: None,
                    loopback: false,
                    wireless: false,
                    addresses: [],
                    ipv4_link_local_only: false,
                },
                Interface {
                    name: "docker0",
                    mac: Some(
                        "02:42:5f:8a:3b:1c",
                    ),
                    mtu: Some(
                        1500,
                    ),
                    oper_state: Up,
                    speed_mbps: None,
                    loopback: false,
                    wireless: false,
                    addresses: [],
                    ipv4_link_local_only: false,
                },
                Interface {
                    name: "enp0s31f6",
                    mac: Some(
                        "8c:16:45:9e:21:d0",
                    ),
                    mtu: Some(
                        1500,
                    ),
                    oper_state: Down,
                    speed_mbps: None,
                    loopback: false,
                    wireless: false,
                    addresses: [],
                    ipv4_link_local_only: false,
                },
                Interface {
                    name: "lo",
                    mac: None,
                    mtu: Some(
                        65536,
                    ),
                    oper_state: Unknown,
                    speed_mbps: None,
                    loopback: true,
                    wireless: false,
                    addresses: [],
                    ipv4_link_local_only: false,
                },
                Interface {
                    name: "veth3c1d2e4",
                    mac: Some(
                        "9a:4e:7b:21:c0:f3",
                    ),
                    mtu: Some(
                        1500,
                    ),
                    oper_state: Up,
                    speed_mbps: Some(
                        10000,
                    ),
                    loopback: false,
                    wireless: false,
                    addresses: [],
                    ipv4_link_local_only: false,
                },
                Interface {
                    name: "wlp0s20f3",
                    mac: Some(
                        "3c:a9:f4:12:7b:5e",
                    ),
                    mtu: Some(
                        1500,
                    ),
                    oper_state: Up,
                    speed_mbps: None,
                    loopback: false,
                    wireless: true,
                    addresses: [],
                    ipv4_link_local_only: false,
                },
            ],
        )
    "#]],
        &root,
        &interfaces,
    );
    check(
        expect![[r#"
        Ok(
            Routing {
                routes: [
                    Route {
                        destination: 0.0.0.0,
                        prefix_len: 0,
                        gateway: Some(
                            192.168.178.1,
                        ),
                        interface: "wlp0s20f3",
                        metric: 600,
                    },
                    Route {
                        destination: 172.17.0.0,
                        prefix_len: 16,
                        gateway: None,
                        interface: "docker0",
                        metric: 0,
                    },
                    Route {
                        destination: 172.18.0.0,
                        prefix_len: 16,
                        gateway: None,
                        interface: "br-5e2a9c1f0d3b",
                        metric: 0,
                    },
                    Route {
                        destination: 169.254.0.0,
                        prefix_len: 16,
                        gateway: None,
                        interface: "wlp0s20f3",
                        metric: 1000,
                    },
                    Route {
                        destination: 192.168.178.0,
                        prefix_len: 24,
                        gateway: None,
                        interface: "wlp0s20f3",
                        metric: 600,
                    },
                    Route {
                        destination: 2a02:170:8c00:2b00::,
                        prefix_len: 64,
                        gateway: None,
                        interface: "wlp0s20f3",
                        metric: 600,
                    },
                    Route {
                        destination: fd00::,
                        prefix_len: 64,
                        gateway: None,
                        interface: "wlp0s20f3",
                        metric: 600,
                    },
                    Route {
                        destination: fe80::,
                        prefix_len: 64,
                        gateway: None,
                        interface: "docker0",
                        metric: 256,
                    },
                    Route {
                        destination: fe80::,
                        prefix_len: 64,
                        gateway: None,
                        interface: "wlp0s20f3",
                        metric: 1024,
                    },
                    Route {
                        destination: ::,
                        prefix_len: 0,
                        gateway: Some(
                            fe80::3a10:d5ff:fe6b:1c2e,
                        ),
                        interface: "wlp0s20f3",
                        metric: 600,
                    },
                ],
                default_gateways: [
                    Route {
                        destination: 0.0.0.0,
                        prefix_len: 0,
                        gateway: Some(
                            192.168.178.1,
                        ),
                        interface: "wlp0s20f3",
                        metric: 600,
                    },
                    Route {
                        destination: ::,
                        prefix_len: 0,
                        gateway: Some(
                            fe80::3a10:d5ff:fe6b:1c2e,
                        ),
                        interface: "wlp0s20f3",
                        metric: 600,
                    },
                ],
            },
        )
    "#]],
        &root,
        &routing,
    );
    check(
        expect![[r#"
        Ok(
            DnsConfig {
                servers: [
                    192.168.178.1,
                    fd00::3a10:d5ff:fe6b:1c2e,
                ],
                search_domains: [
                    "fritz.box",
                ],
                local_stub: Some(
                    127.0.0.53,
                ),
                source: "/run/systemd/resolve/resolv.conf",
            },
        )
    "#]],
        &root,
        &dns,
    );
    check(
        expect![[r#"
        Ok(
            Proxy {
                settings: [
                    ProxySetting {
                        name: "https_proxy",
                        value: "http://proxy.fritz.box:3128",
                        source: "environment",
                    },
                ],
            },
        )
    "#]],
        &root,
        &proxy,
    );
}

#[test]
fn desktop_debian_network() {
    let root = fixture("desktop-debian");
    let Network {
        interfaces,
        routing,
        dns,
        proxy,
    } = section_of(network::gather(&Ctx::at(&root)));
    let names: Vec<String> = section_of(interfaces)
        .into_iter()
        .map(|interface| interface.name)
        .collect();
    assert_eq!(names, ["enp5s0", "lo", "virbr0"]);
    check(
        expect![[r#"
        [
            Route {
                destination: 0.0.0.0,
                prefix_len: 0,
                gateway: Some(
                    192.168.1.1,
                ),
                interface: "enp5s0",
                metric: 100,
            },
            Route {
                destination: ::,
                prefix_len: 0,
                gateway: Some(
                    fe80::1,
                ),
                interface: "enp5s0",
                metric: 100,
            },
        ]
    "#]],
        &root,
        &section_of(routing).default_gateways,
    );
    check(
        expect![[r#"
        Ok(
            DnsConfig {
                servers: [
                    192.168.1.1,
                    2a02:8071:8c0:2b00::1,
                ],
                search_domains: [
                    "home.arpa",
                ],
                local_stub: None,
                source: "/etc/resolv.conf",
            },
        )
    "#]],
        &root,
        &dns,
    );
    check(
        expect![[r#"
        Ok(
            Proxy {
                settings: [
                    ProxySetting {
                        name: "http_proxy",
                        value: "http://proxy.corp.example:3128/",
                        source: "/etc/environment",
                    },
                    ProxySetting {
                        name: "https_proxy",
                        value: "http://proxy.corp.example:3128/",
                        source: "/etc/environment",
                    },
                    ProxySetting {
                        name: "no_proxy",
                        value: "localhost,127.0.0.1,.corp.example",
                        source: "/etc/environment",
                    },
                ],
            },
        )
    "#]],
        &root,
        &proxy,
    );
}
