//! Fuzzes `parse_cards` and `parse_pcm` (/proc/asound/cards and pcm, picked by the first byte):
//! never a panic, and what they parse survives the wire.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sitrep_probes::linux::peripherals::audio::{parse_cards, parse_pcm};

fuzz_target!(|data: &[u8]| {
    let Some((file, rest)) = sitrep_fuzz::choice(data, 2) else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    match file {
        0 => {
            if let Ok(cards) = parse_cards(&text) {
                assert!(cards.iter().all(|card| card.id == card.id.trim()));
                sitrep_fuzz::survives_the_wire(&cards);
            }
        }
        _ => {
            if let Ok(devices) = parse_pcm(&text) {
                let devices: Vec<_> = devices.into_iter().map(|(_, device)| device).collect();
                sitrep_fuzz::survives_the_wire(&devices);
            }
        }
    }
});
