//! Sound cards and their PCM devices from /proc/asound/cards and /proc/asound/pcm.

use sitrep_snapshot::{Audio, PcmDevice, Section, SoundCard};

use crate::linux::read_optional_file;
use crate::{Ctx, ParseError, ReadError};

const CARDS: &str = "/proc/asound/cards";
const PCM: &str = "/proc/asound/pcm";

/// Gathers the ALSA sound cards; a kernel without ALSA (no /proc/asound) has none.
pub fn gather(ctx: &Ctx) -> Section<Audio> {
    read_audio(ctx).into()
}

fn read_audio(ctx: &Ctx) -> Result<Audio, ReadError> {
    let mut cards = parse_optional(ctx, CARDS, parse_cards)?;
    for (card, device) in parse_optional(ctx, PCM, parse_pcm)? {
        if let Some(owner) = cards.iter_mut().find(|owner| owner.index == card) {
            owner.pcm_devices.push(device);
        }
    }
    Ok(Audio { cards })
}

/// `parse` applied to the file at `path`; an empty list when the file does not exist.
fn parse_optional<T>(
    ctx: &Ctx,
    path: &str,
    parse: fn(&str) -> Result<Vec<T>, ParseError>,
) -> Result<Vec<T>, ReadError> {
    match read_optional_file(ctx, path)? {
        Some(text) => parse(&text).map_err(|source| ReadError::parse(ctx.path(path), source)),
        None => Ok(Vec::new()),
    }
}

/// /proc/asound/cards: per card a line ` 0 [PCH            ]: HDA-Intel - HDA Intel PCH` and
/// an indented line with the long name.
pub fn parse_cards(text: &str) -> Result<Vec<SoundCard>, ParseError> {
    let mut cards: Vec<SoundCard> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed == "--- no soundcards ---" {
            continue;
        }
        let Some(card) = parse_card_line(trimmed) else {
            match cards.last_mut() {
                Some(card) if card.long_name.is_none() => {
                    card.long_name = Some(trimmed.to_owned());
                    continue;
                }
                _ => {
                    return Err(ParseError::new(
                        index + 1,
                        format!("expected \"N [id]: driver - name\", found {line:?}"),
                    ));
                }
            }
        };
        cards.push(card);
    }
    Ok(cards)
}

fn parse_card_line(line: &str) -> Option<SoundCard> {
    let (number, rest) = line.split_once(' ')?;
    let index = number.parse().ok()?;
    let rest = rest.trim_start().strip_prefix('[')?;
    let (id, rest) = rest.split_once("]:")?;
    let (driver, name) = rest.split_once(" - ")?;
    Some(SoundCard {
        index,
        id: id.trim().to_owned(),
        driver: driver.trim().to_owned(),
        name: name.trim().to_owned(),
        long_name: None,
        pcm_devices: Vec::new(),
    })
}

/// /proc/asound/pcm: `00-03: HDMI 0 : HDMI 0 : playback 1`, with the card index for each.
pub fn parse_pcm(text: &str) -> Result<Vec<(u32, PcmDevice)>, ParseError> {
    let mut devices = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let error = || {
            ParseError::new(
                index + 1,
                format!("expected \"CC-DD: id : name : playback N\", found {line:?}"),
            )
        };
        let (numbers, rest) = line.split_once(": ").ok_or_else(error)?;
        let (card, device) = numbers.split_once('-').ok_or_else(error)?;
        let (card, device) = (
            card.parse::<u32>().map_err(|_| error())?,
            device.parse::<u32>().map_err(|_| error())?,
        );
        let fields: Vec<&str> = rest.split(" : ").map(str::trim).collect();
        let streams = |kind: &str| {
            fields.iter().skip(2).any(|field| {
                field
                    .strip_prefix(kind)
                    .and_then(|count| count.trim().parse::<u32>().ok())
                    .is_some_and(|count| count > 0)
            })
        };
        devices.push((
            card,
            PcmDevice {
                device,
                name: fields
                    .get(1)
                    .or(fields.first())
                    .ok_or_else(error)?
                    .to_string(),
                playback: streams("playback"),
                capture: streams("capture"),
            },
        ));
    }
    Ok(devices)
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;

    #[test]
    fn cards_and_their_long_names() {
        let cards = parse_cards(
            " 0 [PCH            ]: HDA-Intel - HDA Intel PCH
                      HDA Intel PCH at 0xea230000 irq 147
 1 [Headset        ]: USB-Audio - Jabra Evolve2 65
                      GN Audio A/S Jabra Evolve2 65 at usb-0000:00:14.0-1.2, full speed
",
        )
        .expect("parses");
        let summary: Vec<String> = cards
            .iter()
            .map(|card| {
                format!(
                    "{} {} {} {:?} {:?}",
                    card.index, card.id, card.driver, card.name, card.long_name
                )
            })
            .collect();
        expect![[r#"
            [
                "0 PCH HDA-Intel \"HDA Intel PCH\" Some(\"HDA Intel PCH at 0xea230000 irq 147\")",
                "1 Headset USB-Audio \"Jabra Evolve2 65\" Some(\"GN Audio A/S Jabra Evolve2 65 at usb-0000:00:14.0-1.2, full speed\")",
            ]
        "#]]
        .assert_debug_eq(&summary);
        assert_eq!(parse_cards("--- no soundcards ---\n"), Ok(Vec::new()));
        assert_eq!(
            parse_cards("garbage\n").map_err(|e| e.to_string()),
            Err("line 1: expected \"N [id]: driver - name\", found \"garbage\"".to_owned())
        );
    }

    #[test]
    fn pcm_devices_with_their_streams() {
        let devices = parse_pcm(
            "00-00: ALC257 Analog : ALC257 Analog : playback 1 : capture 1
00-03: HDMI 0 : HDMI 0 : playback 1
01-00: USB Audio : USB Audio : playback 1 : capture 1
",
        )
        .expect("parses");
        let summary: Vec<String> = devices
            .iter()
            .map(|(card, d)| {
                format!(
                    "{card}-{} {} p={} c={}",
                    d.device, d.name, d.playback, d.capture
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                "0-0 ALC257 Analog p=true c=true",
                "0-3 HDMI 0 p=true c=false",
                "1-0 USB Audio p=true c=true"
            ]
        );
        assert!(parse_pcm("0x: nonsense\n").is_err());
    }
}
