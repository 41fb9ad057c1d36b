//! Fuzzes `parse_os_release` (os-release(5)): any text parses or fails without panicking, a
//! parsed field is never empty, and any one-line value quoted as the spec says reads back as
//! itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sitrep_probes::linux::os::release::parse_os_release;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(release) = parse_os_release(&text) {
        for field in [
            &release.name,
            &release.id,
            &release.version_id,
            &release.pretty_name,
        ] {
            assert_ne!(field.as_deref(), Some(""));
        }
    }
    // The same text as a value: inside double quotes only `$`, `"`, `\` and `` ` `` are escaped.
    if !text.contains('\n') {
        let mut quoted = String::from("NAME=\"");
        for c in text.chars() {
            if matches!(c, '$' | '"' | '\\' | '`') {
                quoted.push('\\');
            }
            quoted.push(c);
        }
        quoted.push('"');
        let release = parse_os_release(&quoted).expect("a quoted value parses");
        assert_eq!(
            release.name.as_deref(),
            Some(&*text).filter(|text| !text.is_empty())
        );
    }
});
