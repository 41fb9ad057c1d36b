//! The spool on a temp dir: order, bounds, damage and crash leftovers.

use super::*;

fn spool(dir: &Path, max_items: u32, max_bytes: u64) -> Spool {
    Spool::new(
        &StateDir::new(Some(dir)),
        SpoolLimits {
            max_bytes,
            max_items,
        },
    )
}

fn meta(n: u128) -> EntryMeta {
    EntryMeta {
        snapshot_id: Uuid::from_u128(n),
        agent_id: Some(Uuid::from_u128(7)),
        taken_at: Utc::now(),
        trigger: Trigger::Scheduled,
        request_id: None,
        ticket: None,
        note: None,
    }
}

fn ids(listing: &Listing) -> Vec<u128> {
    listing
        .entries
        .iter()
        .map(|entry| entry.meta.snapshot_id.as_u128())
        .collect()
}

#[test]
fn entries_come_back_oldest_first_with_their_bodies() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spool = spool(dir.path(), 10, 1 << 20);
    for n in 1..=5 {
        spool
            .push(meta(n), format!("body {n}").as_bytes())
            .expect("push");
    }
    let listing = spool.list().expect("list");
    assert_eq!(ids(&listing), [1, 2, 3, 4, 5]);
    let oldest = spool.oldest().expect("oldest").expect("an entry");
    assert_eq!(oldest.body, b"body 1");
    spool.acknowledge(&oldest.entry, 0).expect("acknowledge");
    assert_eq!(ids(&spool.list().expect("list")), [2, 3, 4, 5]);
    let counters = spool.counters().expect("counters");
    assert_eq!(
        counters.last_upload.map(|upload| upload.snapshot_id),
        Some(Uuid::from_u128(1))
    );
}

#[test]
fn a_full_spool_drops_the_oldest_and_counts_them_until_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spool = spool(dir.path(), 3, 1 << 20);
    let mut dropped = 0;
    for n in 1..=5 {
        dropped += spool.push(meta(n), b"body").expect("push").dropped;
    }
    assert_eq!(dropped, 2);
    assert_eq!(ids(&spool.list().expect("list")), [3, 4, 5]);
    let counters = spool.counters().expect("counters");
    assert_eq!(
        (counters.dropped_total, counters.dropped_unreported),
        (2, 2)
    );

    // An upload that reported the two drops clears them; one dropped meanwhile stays.
    spool.push(meta(6), b"body").expect("push");
    let oldest = spool.oldest().expect("oldest").expect("an entry");
    spool.acknowledge(&oldest.entry, 2).expect("acknowledge");
    let counters = spool.counters().expect("counters");
    assert_eq!(
        (counters.dropped_total, counters.dropped_unreported),
        (3, 1)
    );
}

#[test]
fn the_byte_bound_holds_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    let body = vec![b'x'; 1000];
    let spool = spool(dir.path(), 100, 3000);
    for n in 1..=10 {
        spool.push(meta(n), &body).expect("push");
    }
    let listing = spool.list().expect("list");
    assert!(listing.bytes() <= 3000, "{} bytes", listing.bytes());
    assert_eq!(ids(&listing).last(), Some(&10));
    assert_eq!(listing.entries.len(), 2, "each entry is over 1000 bytes");

    let error = spool
        .push(meta(11), &vec![b'x'; 5000])
        .expect_err("too large");
    assert!(
        error.to_string().contains("does not fit in the spool"),
        "{error}"
    );
}

#[test]
fn damaged_entries_are_moved_aside_with_a_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spool = spool(dir.path(), 10, 1 << 20);
    let first = spool.push(meta(1), b"first body").expect("push").name;
    let second = spool.push(meta(2), b"second body").expect("push").name;
    let third = spool.push(meta(3), b"third body").expect("push").name;
    // A flipped byte in the body, and a file cut short.
    let path = spool.dir().join(&first);
    let mut bytes = fs::read(&path).expect("read");
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    fs::write(&path, bytes).expect("write");
    fs::write(spool.dir().join(&second), b"{\"snapshot_id\":").expect("write");

    let listing = spool.list().expect("list never fails on damage");
    assert_eq!(ids(&listing), [3]);
    assert_eq!(listing.damaged.len(), 2);
    assert!(
        listing.damaged[0].contains("does not match its checksum"),
        "{:?}",
        listing.damaged
    );
    assert!(
        listing.damaged[1].contains("no header line"),
        "{:?}",
        listing.damaged
    );
    assert_eq!(listing.aside, 2);
    let reason = fs::read_to_string(spool.dir().join("aside").join(format!("{first}.reason")))
        .expect("reason file");
    assert!(reason.starts_with("damaged: "), "{reason}");
    assert_eq!(
        spool
            .oldest()
            .expect("oldest")
            .map(|loaded| loaded.entry.name),
        Some(third)
    );
}

#[test]
fn crash_leftovers_are_removed_and_entries_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spool = spool(dir.path(), 10, 1 << 20);
    spool.push(meta(1), b"body").expect("push");
    // What a crash between write and rename leaves: a temp file, never an entry.
    fs::write(
        spool.dir().join(".00000000000000000001.snap.4242.tmp"),
        b"half",
    )
    .expect("write");
    assert_eq!(spool.remove_leftovers().expect("clean"), 1);
    assert_eq!(ids(&spool.list().expect("list")), [1]);
}

#[test]
fn names_sort_in_push_order_even_when_the_clock_stands_still() {
    let later = next_name(Some("09999999999999999998.snap"));
    assert_eq!(later, "09999999999999999999.snap");
    assert!(next_name(Some("00000000000000000001.snap")).as_str() > "00000000000000000001.snap");
    assert!(is_entry_name(&next_name(None)));
    assert!(!is_entry_name("counters.json"));
    assert!(!is_entry_name(".00000000000000000001.snap.1.tmp"));
}

#[test]
fn an_unwritable_spool_dir_names_the_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A file where the spool dir belongs fails for root too, unlike mode bits.
    fs::write(dir.path().join("spool"), b"").expect("write");
    let spool = spool(dir.path(), 10, 1 << 20);
    let error = spool.push(meta(1), b"body").expect_err("no dir");
    assert!(
        error.to_string().starts_with(&format!(
            "cannot create the directory {}",
            spool.dir().display()
        )),
        "{error}"
    );
    let error = spool.check_writable().expect_err("no dir");
    assert!(error.to_string().contains("spool"), "{error}");
}
