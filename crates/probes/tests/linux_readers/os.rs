//! The `os` reader on the Ubuntu laptop and the Debian desktop.

use expect_test::expect;
use sitrep_probes::{Ctx, os};

use crate::{check, fixture, section_of};

#[test]
fn laptop_ubuntu_os() {
    let root = fixture("laptop-ubuntu");
    let mut os = section_of(os::gather(&Ctx::at(&root)));
    assert_eq!(os.arch, std::env::consts::ARCH);
    os.arch = "<host arch>".to_owned();
    check(
        expect![[r#"
            Os {
                family: "linux",
                name: "Ubuntu",
                id: Some(
                    "ubuntu",
                ),
                version: Some(
                    "24.04",
                ),
                pretty_name: Some(
                    "Ubuntu 24.04.1 LTS",
                ),
                patch_level: None,
                kernel: Some(
                    "6.8.0-48-generic",
                ),
                hostname: Some(
                    "thinkpad-alice",
                ),
                arch: "<host arch>",
                uptime_seconds: Some(
                    350735,
                ),
                boot_time: Some(
                    2024-11-25T07:20:12Z,
                ),
                timezone: Some(
                    "Europe/Berlin",
                ),
                reboot_required: true,
                reboot_required_by: [
                    "linux-image-6.8.0-49-generic",
                    "linux-base",
                ],
                users: Some(
                    [
                        "alice",
                    ],
                ),
            }
        "#]],
        &root,
        &os,
    );
}

#[test]
fn desktop_debian_os_uses_fallback_files_and_utmp() {
    let root = fixture("desktop-debian");
    let mut os = section_of(os::gather(&Ctx::at(&root)));
    os.arch = "<host arch>".to_owned();
    check(
        expect![[r#"
            Os {
                family: "linux",
                name: "Debian GNU/Linux",
                id: Some(
                    "debian",
                ),
                version: Some(
                    "12",
                ),
                pretty_name: Some(
                    "Debian GNU/Linux 12 (bookworm)",
                ),
                patch_level: None,
                kernel: Some(
                    "6.1.0-26-amd64",
                ),
                hostname: Some(
                    "desk-42",
                ),
                arch: "<host arch>",
                uptime_seconds: Some(
                    8123,
                ),
                boot_time: Some(
                    2024-11-26T06:45:40Z,
                ),
                timezone: Some(
                    "Europe/Vienna",
                ),
                reboot_required: false,
                reboot_required_by: [],
                users: Some(
                    [
                        "bob",
                        "carol",
                    ],
                ),
            }
        "#]],
        &root,
        &os,
    );
}
