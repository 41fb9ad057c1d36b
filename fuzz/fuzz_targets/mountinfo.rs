//! Fuzzes `parse_mountinfo` (/proc/self/mountinfo): one mount per non-blank line, and any path
//! escaped as the kernel escapes it (space, tab, newline and backslash as octal) reads back as
//! itself, as root, mount point (both absolute) and source.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sitrep_probes::linux::disks::mountinfo::parse_mountinfo;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(mounts) = parse_mountinfo(&text) {
        let lines = text.lines().filter(|line| !line.trim().is_empty()).count();
        assert_eq!(mounts.len(), lines);
    }
    // The kernel's mangle(): only these four are escaped, every other byte is printed as it is.
    let mut escaped = String::new();
    for c in text.chars() {
        match c {
            ' ' => escaped.push_str("\\040"),
            '\t' => escaped.push_str("\\011"),
            '\n' => escaped.push_str("\\012"),
            '\\' => escaped.push_str("\\134"),
            c => escaped.push(c),
        }
    }
    if escaped.is_empty() {
        return;
    }
    // Roots and mount points are absolute paths; the source can be anything.
    let line =
        format!("36 35 8:1 /{escaped} /{escaped} rw,relatime shared:1 - ext4 {escaped} rw\n");
    let mounts = parse_mountinfo(&line).expect("a well-formed line parses");
    let [mount] = &mounts[..] else {
        panic!("one line, {} mounts", mounts.len());
    };
    assert_eq!(mount.device_number, (8, 1));
    assert_eq!(mount.root, format!("/{text}"));
    assert_eq!(mount.mount_point, format!("/{text}"));
    assert_eq!(mount.source, text);
    assert_eq!(
        (
            &*mount.mount_options,
            &*mount.fs_type,
            &*mount.super_options
        ),
        ("rw,relatime", "ext4", "rw")
    );
});
