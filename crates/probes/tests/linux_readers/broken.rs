//! Broken, missing and unreadable files: clear errors that name the file, never a panic.

use expect_test::expect;
use std::fs;

use sitrep_probes::{Ctx, disks, hardware, network, os, peripherals};

use crate::{check, fixture};

#[test]
fn broken_files_give_errors_that_name_them() {
    let root = fixture("broken-files");
    let ctx = Ctx::at(&root);
    check(
        expect![[r#"
        Error(
            SectionError {
                kind: Parse,
                message: "cannot parse <root>/etc/os-release: line 1: expected KEY=value, found \"<!DOCTYPE html>\"; cannot read <root>/proc/sys/kernel/osrelease: No such file or directory (os error 2)",
            },
        )
    "#]],
        &root,
        &os::gather(&ctx),
    );
    check(
        expect![[r#"
        Error(
            SectionError {
                kind: Parse,
                message: "cannot parse <root>/proc/meminfo: line 2: expected \"Key: number [kB]\", found \"MemFree:  \\0\\0\\0\\0 kB\"",
            },
        )
    "#]],
        &root,
        &hardware::gather(&ctx),
    );
    check(
        expect![[r#"
        Error(
            SectionError {
                kind: Parse,
                message: "cannot parse <root>/proc/self/mountinfo: line 3: expected 3 fields after \" - \" in \"100 30 259:1 / /boot/efi rw,relatime shared:56 - vf\"",
            },
        )
    "#]],
        &root,
        &disks::gather(&ctx),
    );
    check(
        expect![[r#"
        Ok(
            Network {
                interfaces: Error(
                    SectionError {
                        kind: Io,
                        message: "cannot read <root>/sys/class/net: No such file or directory (os error 2)",
                    },
                ),
                routing: Error(
                    SectionError {
                        kind: Parse,
                        message: "cannot parse <root>/proc/net/route: line 2: expected at least 8 fields, found \"wlp0s20f3\\t00000000\\t01B2\"",
                    },
                ),
                dns: Error(
                    SectionError {
                        kind: Io,
                        message: "cannot read <root>/etc/resolv.conf: No such file or directory (os error 2)",
                    },
                ),
                proxy: Ok(
                    Proxy {
                        settings: [],
                    },
                ),
            },
        )
    "#]],
        &root,
        &network::gather(&ctx),
    );
}

#[test]
fn an_empty_root_gives_errors_and_no_panic() {
    let root = tempfile::tempdir().expect("temporary directory");
    let ctx = Ctx::at(root.path());
    check(
        expect![[r#"
            Error(
                SectionError {
                    kind: Io,
                    message: "cannot read <root>/etc/os-release: No such file or directory (os error 2); cannot read <root>/proc/sys/kernel/osrelease: No such file or directory (os error 2)",
                },
            )
        "#]],
        root.path(),
        &os::gather(&ctx),
    );
    check(
        expect![[r#"
        Error(
            SectionError {
                kind: Io,
                message: "cannot read <root>/proc/cpuinfo: No such file or directory (os error 2)",
            },
        )
    "#]],
        root.path(),
        &hardware::gather(&ctx),
    );
    check(
        expect![[r#"
        Error(
            SectionError {
                kind: Io,
                message: "cannot read <root>/proc/self/mountinfo: No such file or directory (os error 2)",
            },
        )
    "#]],
        root.path(),
        &disks::gather(&ctx),
    );
    check(
        expect![[r#"
        Ok(
            Network {
                interfaces: Error(
                    SectionError {
                        kind: Io,
                        message: "cannot read <root>/sys/class/net: No such file or directory (os error 2)",
                    },
                ),
                routing: Error(
                    SectionError {
                        kind: Io,
                        message: "cannot read <root>/proc/net/route: No such file or directory (os error 2)",
                    },
                ),
                dns: Error(
                    SectionError {
                        kind: Io,
                        message: "cannot read <root>/etc/resolv.conf: No such file or directory (os error 2)",
                    },
                ),
                proxy: Ok(
                    Proxy {
                        settings: [],
                    },
                ),
            },
        )
    "#]],
        root.path(),
        &network::gather(&ctx),
    );
}

#[test]
fn an_unreadable_meminfo_is_an_io_error() {
    let root = tempfile::tempdir().expect("temporary directory");
    let proc = root.path().join("proc");
    fs::create_dir_all(proc.join("meminfo")).expect("create proc/meminfo as a directory");
    fs::copy(
        fixture("laptop-ubuntu").join("proc/cpuinfo"),
        proc.join("cpuinfo"),
    )
    .expect("copy cpuinfo");
    check(
        expect![[r#"
        Error(
            SectionError {
                kind: Io,
                message: "cannot read <root>/proc/meminfo: Is a directory (os error 21)",
            },
        )
    "#]],
        root.path(),
        &hardware::gather(&Ctx::at(root.path())),
    );
}

#[test]
fn broken_peripheral_files_cost_only_their_own_kind() {
    let root = fixture("broken-files");
    let all = peripherals::gather(&Ctx::at(&root));
    check(
        expect![[r#"
        Error(
            SectionError {
                kind: Parse,
                message: "cannot parse <root>/proc/asound/cards: line 1: expected \"N [id]: driver - name\", found \" 0 [PCH            ]: HDA-Intel\"",
            },
        )
    "#]],
        &root,
        &all.audio,
    );
    check(
        expect![[r#"
        Error(
            SectionError {
                kind: Parse,
                message: "cannot parse <root>/proc/bus/input/devices: line 2: expected \"X: value\" in \"N Name=\\\"Logitech USB Receiver\\\"\"",
            },
        )
    "#]],
        &root,
        &all.input,
    );
    check(
        expect![[r#"
        Ok(
            [
                Display {
                    connector: "card0-HDMI-A-1",
                    internal: false,
                    connected: true,
                    enabled: true,
                    modes: [
                        "1920x1200",
                    ],
                    preferred_mode: Some(
                        "1920x1200",
                    ),
                    monitor: None,
                    edid_error: Some(
                        "EDID base block checksum is wrong (bytes sum to 0x40 mod 256, not 0)",
                    ),
                },
            ],
        )
    "#]],
        &root,
        &all.displays,
    );
    check(
        expect![[r#"
        Ok(
            [],
        )
    "#]],
        &root,
        &all.usb,
    );
}

#[test]
fn a_class_that_is_not_a_directory_is_an_io_error() {
    let root = tempfile::tempdir().expect("temporary directory");
    let usb = root.path().join("sys/bus/usb");
    fs::create_dir_all(&usb).expect("create sys/bus/usb");
    fs::write(usb.join("devices"), "").expect("devices as a file");
    check(
        expect![[r#"
            Error(
                SectionError {
                    kind: Io,
                    message: "cannot read <root>/sys/bus/usb/devices: Not a directory (os error 20)",
                },
            )
        "#]],
        root.path(),
        &peripherals::usb(&Ctx::at(root.path())),
    );
}
