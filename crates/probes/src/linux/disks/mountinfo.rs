//! Parser for /proc/self/mountinfo (proc(5)): one line per mount, with its device, root,
//! mount point, options and filesystem type.

use crate::ParseError;

/// One line of mountinfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// `major:minor` of the filesystem's device; bind mounts share it with their origin.
    pub device_number: (u32, u32),
    /// The directory of the filesystem that is mounted: `/` for a whole filesystem, the
    /// subdirectory for a bind mount (or a btrfs subvolume).
    pub root: String,
    pub mount_point: String,
    /// Per-mount options, e.g. `rw,relatime`.
    pub mount_options: String,
    pub fs_type: String,
    /// The device or network source, e.g. `/dev/nvme0n1p2` or `server:/export`.
    pub source: String,
    /// Per-superblock options, e.g. `rw,errors=remount-ro`.
    pub super_options: String,
}

impl Mount {
    /// Read-only either for this mount or for the whole filesystem.
    pub fn read_only(&self) -> bool {
        let has_ro = |options: &str| options.split(',').any(|option| option == "ro");
        has_ro(&self.mount_options) || has_ro(&self.super_options)
    }
}

/// Parses mountinfo: `36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw`,
/// where any number of optional fields stand before the ` - ` separator.
pub fn parse_mountinfo(text: &str) -> Result<Vec<Mount>, ParseError> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(index, line)| {
            parse_line(line).map_err(|message| ParseError::new(index + 1, message))
        })
        .collect()
}

fn parse_line(line: &str) -> Result<Mount, String> {
    // Spaces inside paths are escaped as \040, so " - " can only be the separator. Fields are
    // split at single spaces, as the kernel joins them: it escapes only space, tab, newline and
    // backslash, so a path may hold any other whitespace (a vertical tab, a no-break space).
    let (mount_part, filesystem_part) = line
        .split_once(" - ")
        .ok_or_else(|| format!("no \" - \" separator in {line:?}"))?;
    let mount_fields: Vec<&str> = mount_part.split(' ').collect();
    let [
        _mount_id,
        _parent_id,
        device_number,
        root,
        mount_point,
        mount_options,
        ..,
    ] = mount_fields[..]
    else {
        return Err(format!(
            "expected at least 6 fields before \" - \" in {line:?}"
        ));
    };
    let filesystem_fields: Vec<&str> = filesystem_part.split(' ').collect();
    let [fs_type, source, super_options, ..] = filesystem_fields[..] else {
        return Err(format!("expected 3 fields after \" - \" in {line:?}"));
    };
    Ok(Mount {
        device_number: parse_device_number(device_number)
            .ok_or_else(|| format!("invalid major:minor {device_number:?}"))?,
        root: unescape(root),
        mount_point: unescape(mount_point),
        mount_options: mount_options.to_owned(),
        fs_type: fs_type.to_owned(),
        source: unescape(source),
        super_options: super_options.to_owned(),
    })
}

fn parse_device_number(field: &str) -> Option<(u32, u32)> {
    let (major, minor) = field.split_once(':')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// Undoes the kernel's octal escapes (`\040` space, `\011` tab, `\012` newline, `\134`
/// backslash) in paths and sources.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut unescaped = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        let octal = bytes.get(index + 1..index + 4).and_then(|digits| {
            let digits = std::str::from_utf8(digits).ok()?;
            u8::from_str_radix(digits, 8)
                .ok()
                .filter(|_| digits.bytes().all(|d| d.is_ascii_digit()))
        });
        match (byte, octal) {
            (b'\\', Some(escaped)) => {
                unescaped.push(escaped);
                index += 4;
            }
            _ => {
                unescaped.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&unescaped).into_owned()
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;

    #[test]
    fn escapes_in_paths() {
        assert_eq!(
            unescape(r"/media/alice/My\040Passport"),
            "/media/alice/My Passport"
        );
        assert_eq!(
            unescape(r"/mnt/tab\011and\134backslash"),
            "/mnt/tab\tand\\backslash"
        );
        assert_eq!(unescape(r"/mnt/not\08escape\"), r"/mnt/not\08escape\");
        assert_eq!(unescape("/mnt/ünïcode"), "/mnt/ünïcode");
    }

    /// Found by the `mountinfo` fuzz target (fuzz/regressions/mountinfo/).
    #[test]
    fn paths_keep_whitespace_the_kernel_does_not_escape() {
        let text = "25 30 0:23 / /media/a\u{b}b\u{a0}c rw,nosuid - vfat /dev/sd\u{85}b1 rw\n";
        let mounts = parse_mountinfo(text).expect("valid mountinfo");
        assert_eq!(mounts[0].mount_point, "/media/a\u{b}b\u{a0}c");
        assert_eq!(mounts[0].mount_options, "rw,nosuid");
        assert_eq!(mounts[0].source, "/dev/sd\u{85}b1");
    }

    #[test]
    fn optional_fields_and_read_only() {
        let text = "\
36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 shared:7 - ext3 /dev/root rw,errors=continue
37 35 8:17 / /srv/archive ro,relatime - ext4 /dev/sdb1 rw
38 35 8:18 / /srv/frozen rw,relatime - ext4 /dev/sdb2 ro
";
        let mounts = parse_mountinfo(text).expect("valid mountinfo");
        expect![[r#"
            Mount {
                device_number: (
                    98,
                    0,
                ),
                root: "/mnt1",
                mount_point: "/mnt/parent",
                mount_options: "rw,noatime",
                fs_type: "ext3",
                source: "/dev/root",
                super_options: "rw,errors=continue",
            }
        "#]]
        .assert_debug_eq(&mounts[0]);
        let read_only: Vec<bool> = mounts.iter().map(Mount::read_only).collect();
        assert_eq!(read_only, [false, true, true]);
    }

    #[test]
    fn truncated_lines_name_their_line() {
        let text = "\
30 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw,errors=remount-ro
31 30 259:1 / /boot/efi rw,relatime shared:56 - vfat
32 30 259:1 / /bo";
        expect![[r#"
            Err(
                ParseError {
                    line: 2,
                    message: "expected 3 fields after \" - \" in \"31 30 259:1 / /boot/efi rw,relatime shared:56 - vfat\"",
                },
            )
        "#]]
        .assert_debug_eq(&parse_mountinfo(text));
        expect![[r#"
            Err(
                ParseError {
                    line: 1,
                    message: "no \" - \" separator in \"32 30 259:1 / /bo\"",
                },
            )
        "#]]
        .assert_debug_eq(&parse_mountinfo("32 30 259:1 / /bo"));
        expect![[r#"
            Err(
                ParseError {
                    line: 1,
                    message: "invalid major:minor \"259\"",
                },
            )
        "#]]
        .assert_debug_eq(&parse_mountinfo("30 1 259 / / rw - ext4 /dev/x rw"));
    }
}
