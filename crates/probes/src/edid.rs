//! EDID (VESA E-EDID 1.3/1.4) base block decoding: who made the monitor, its name, serial,
//! size and age. Every platform hands over the same bytes (sysfs, the Windows registry, IOKit),
//! so this parser is shared.

use sitrep_snapshot::Monitor;

const BLOCK: usize = 128;
const HEADER: [u8; 8] = [0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00];
/// Monitors without a real serial fill the field with this pattern.
const PLACEHOLDER_SERIAL: u32 = 0x0101_0101;
const DESCRIPTOR_OFFSETS: [usize; 4] = [54, 72, 90, 108];
const TAG_SERIAL: u8 = 0xff;
const TAG_TEXT: u8 = 0xfe;
const TAG_NAME: u8 = 0xfc;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EdidError {
    #[error("EDID has {length} bytes, less than one 128-byte block")]
    TooShort { length: usize },
    #[error("EDID does not start with the 00 ff ff ff ff ff ff 00 header")]
    BadHeader,
    #[error("EDID base block checksum is wrong (bytes sum to {sum:#04x} mod 256, not 0)")]
    BadChecksum { sum: u8 },
}

/// Decodes the base block of an EDID (extension blocks, if any, are ignored).
pub fn parse(bytes: &[u8]) -> Result<Monitor, EdidError> {
    let block = bytes.get(..BLOCK).ok_or(EdidError::TooShort {
        length: bytes.len(),
    })?;
    if block[..8] != HEADER {
        return Err(EdidError::BadHeader);
    }
    let sum = block.iter().fold(0u8, |sum, byte| sum.wrapping_add(*byte));
    if sum != 0 {
        return Err(EdidError::BadChecksum { sum });
    }
    let pnp_id = pnp_id(u16::from_be_bytes([block[8], block[9]]));
    let numeric_serial = u32::from_le_bytes([block[12], block[13], block[14], block[15]]);
    let descriptors: Vec<(u8, String)> = DESCRIPTOR_OFFSETS
        .iter()
        .filter_map(|&offset| text_descriptor(&block[offset..offset + 18]))
        .collect();
    let text_of = |wanted: u8| {
        descriptors
            .iter()
            .filter(move |(tag, text)| *tag == wanted && !text.is_empty())
            .map(|(_, text)| text.clone())
    };
    // Laptop panels carry no name descriptor; their part number is the last text string
    // (after the panel maker's name, where there are two).
    let model = text_of(TAG_NAME)
        .next()
        .or_else(|| text_of(TAG_TEXT).next_back());
    let serial = text_of(TAG_SERIAL).next().or_else(|| {
        (numeric_serial != 0 && numeric_serial != PLACEHOLDER_SERIAL)
            .then(|| numeric_serial.to_string())
    });
    let (week, year) = (block[16], block[17]);
    let (width_mm, height_mm) = screen_size(block);
    Ok(Monitor {
        make: vendor_name(&pnp_id).map_or_else(|| pnp_id.clone(), str::to_owned),
        pnp_id,
        model,
        product_code: u16::from_le_bytes([block[10], block[11]]),
        serial,
        width_mm,
        height_mm,
        manufacture_year: (year != 0).then(|| 1990 + u16::from(year)),
        // Week 0xff marks the year as a model year rather than a date of manufacture.
        manufacture_week: (week != 0 && week != 0xff).then_some(week),
    })
}

/// Three letters, five bits each, `A` = 1.
fn pnp_id(packed: u16) -> String {
    [10u16, 5, 0]
        .iter()
        .map(|shift| {
            let code = ((packed >> shift) & 0x1f) as u8;
            if (1..=26).contains(&code) {
                char::from(b'A' + code - 1)
            } else {
                '?'
            }
        })
        .collect()
}

/// A display descriptor's tag and text (name, serial or free text), blank padding removed.
fn text_descriptor(descriptor: &[u8]) -> Option<(u8, String)> {
    // Display descriptors start with a zero pixel clock; detailed timings do not.
    if descriptor[0] != 0 || descriptor[1] != 0 {
        return None;
    }
    let tag = descriptor[3];
    if ![TAG_NAME, TAG_SERIAL, TAG_TEXT].contains(&tag) {
        return None;
    }
    let text = &descriptor[5..18];
    let end = text.iter().position(|&b| b == 0x0a).unwrap_or(text.len());
    let text: String = text[..end]
        .iter()
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                char::from(b)
            } else {
                '?'
            }
        })
        .collect();
    Some((tag, text.trim().to_owned()))
}

/// The screen size in millimetres: the preferred timing's figures where they agree with the
/// basic block's centimetres (some monitors put an aspect ratio such as 16 x 9 there instead),
/// else the centimetres; nothing for projectors and other sizeless displays.
fn screen_size(block: &[u8]) -> (Option<u32>, Option<u32>) {
    let (width_cm, height_cm) = (u32::from(block[21]), u32::from(block[22]));
    if width_cm == 0 || height_cm == 0 {
        return (None, None);
    }
    let timing = &block[54..72];
    let timing_mm = (timing[0] != 0 || timing[1] != 0).then(|| {
        (
            u32::from(timing[12]) | (u32::from(timing[14] >> 4) << 8),
            u32::from(timing[13]) | (u32::from(timing[14] & 0x0f) << 8),
        )
    });
    let agrees = |mm: u32, cm: u32| mm.abs_diff(cm * 10) < 10;
    match timing_mm {
        Some((width, height)) if agrees(width, width_cm) && agrees(height, height_cm) => {
            (Some(width), Some(height))
        }
        _ => (Some(width_cm * 10), Some(height_cm * 10)),
    }
}

/// Names for the PNP ids of common monitor and laptop panel makers (the UEFI PNP id registry).
pub fn vendor_name(pnp_id: &str) -> Option<&'static str> {
    Some(match pnp_id {
        "ACI" => "ASUS",
        "ACR" => "Acer",
        "AOC" => "AOC",
        "APP" => "Apple",
        "AUO" => "AU Optronics",
        "AUS" => "ASUS",
        "BNQ" => "BenQ",
        "BOE" => "BOE",
        "CMN" => "Chimei Innolux",
        "CMO" => "Chi Mei Optoelectronics",
        "CSO" => "CSOT",
        "DEL" => "Dell",
        "EIZ" | "ENC" => "EIZO",
        "FUS" => "Fujitsu Siemens",
        "GBT" => "Gigabyte",
        "GSM" => "LG",
        "HPN" | "HWP" => "HP",
        "HSD" => "HannStar",
        "HKC" => "HKC",
        "IVM" => "iiyama",
        "IVO" => "InfoVision",
        "LEN" => "Lenovo",
        "LGD" => "LG Display",
        "LPL" => "LG Philips",
        "MEI" => "Panasonic",
        "MSI" => "MSI",
        "NEC" => "NEC",
        "PHL" => "Philips",
        "SAM" => "Samsung",
        "SDC" => "Samsung Display",
        "SEC" => "Seiko Epson",
        "SHP" => "Sharp",
        "SNY" => "Sony",
        "TSB" => "Toshiba",
        "VSC" => "ViewSonic",
        "XMI" => "Xiaomi",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;

    fn hex(text: &str) -> Vec<u8> {
        let digits: Vec<char> = text.chars().filter(|c| !c.is_whitespace()).collect();
        digits
            .chunks(2)
            .map(|pair| {
                let pair: String = pair.iter().collect();
                u8::from_str_radix(&pair, 16).expect("hex digits")
            })
            .collect()
    }

    /// Dell U2412M, base block only (128 bytes), as published in an autorandr configuration;
    /// `edid-decode` reads: DEL, model 41083, week 53 of 2011, 52 cm x 32 cm, name
    /// 'DELL U2412M', serial 'M2GCR1CS0T1L'.
    const DELL_U2412M: &str = "
        00ffffffffffff0010ac7ba04c31543035150104a53420783aee95a3544c99260f5054a108008140
        8180a940b300d1c0010101010101283c80a070b023403020360006442100001a000000ff004d3247
        4352314353305431 4c0a000000fc0044454c4c2055323431324d0a20000000fd00323d1e5311000a
        2020202020200096";

    /// ASUS PA248QV with its CTA-861 extension (256 bytes); `edid-decode`: AUS, model 9351,
    /// serial number field 16843009 (0x01010101), week 2 of 2021, 52 cm x 32 cm.
    const ASUS_PA248QV: &str = "
        00FFFFFFFFFFFF0006B3872401010101021F010380342078EA6DB5A7564EA0250D5054BF6F00714F
        8180814081C0A9409500B300D1C0283C80A070B023403020360006442100001A000000FD00314B1E
        5F19000A202020202020000000FC00504132343851560A2020202020000000FF004D314C4D515330
        35323135370A014D02032AF14B900504030201111213141F230907078301000065030C001000681A
        00000101314BE6E2006A023A801871382D40582C450006442100001ECD5F80B072B0374088D03600
        06442100001C011D007251D01E206E28550006442100001E8C0AD08A20E02D10103E960006442100
        001800000000000000000000000000DC";

    /// A Chimei Innolux N140HCA-EAB laptop panel: no name descriptor, three text strings.
    const CMN_N140HCA: &str = "
        00ffffffffffff000daec91400000000081a0104951f11780228659759548e271e50540000000101
        0101010101010101010101010101b43b804a71383440503c680035ad10000018000000fe004e3134
        304843412d4541420a20000000fe00434d4e0a202020202020202020000000fe004e313430484341
        2d4541420a20003e";

    #[test]
    fn real_monitors_decode() {
        let decoded: Vec<Monitor> = [DELL_U2412M, ASUS_PA248QV, CMN_N140HCA]
            .iter()
            .map(|text| parse(&hex(text)).expect("valid EDID"))
            .collect();
        expect![[r#"
            [
                Monitor {
                    pnp_id: "DEL",
                    make: "Dell",
                    model: Some(
                        "DELL U2412M",
                    ),
                    product_code: 41083,
                    serial: Some(
                        "M2GCR1CS0T1L",
                    ),
                    width_mm: Some(
                        518,
                    ),
                    height_mm: Some(
                        324,
                    ),
                    manufacture_year: Some(
                        2011,
                    ),
                    manufacture_week: Some(
                        53,
                    ),
                },
                Monitor {
                    pnp_id: "AUS",
                    make: "ASUS",
                    model: Some(
                        "PA248QV",
                    ),
                    product_code: 9351,
                    serial: Some(
                        "M1LMQS052157",
                    ),
                    width_mm: Some(
                        518,
                    ),
                    height_mm: Some(
                        324,
                    ),
                    manufacture_year: Some(
                        2021,
                    ),
                    manufacture_week: Some(
                        2,
                    ),
                },
                Monitor {
                    pnp_id: "CMN",
                    make: "Chimei Innolux",
                    model: Some(
                        "N140HCA-EAB",
                    ),
                    product_code: 5321,
                    serial: None,
                    width_mm: Some(
                        309,
                    ),
                    height_mm: Some(
                        173,
                    ),
                    manufacture_year: Some(
                        2016,
                    ),
                    manufacture_week: Some(
                        8,
                    ),
                },
            ]
        "#]]
        .assert_debug_eq(&decoded);
    }

    #[test]
    fn damaged_edids_are_refused_with_the_reason() {
        let good = hex(DELL_U2412M);
        assert_eq!(
            parse(&good[..100]),
            Err(EdidError::TooShort { length: 100 })
        );
        let mut flipped = good.clone();
        flipped[20] ^= 0x01;
        assert_eq!(parse(&flipped), Err(EdidError::BadChecksum { sum: 0xff }));
        let mut headless = good;
        headless[0] = 0x20;
        assert_eq!(parse(&headless), Err(EdidError::BadHeader));
        assert_eq!(parse(&[]), Err(EdidError::TooShort { length: 0 }));
    }

    #[test]
    fn pnp_ids_unpack_five_bit_letters() {
        assert_eq!(pnp_id(0x10ac), "DEL");
        assert_eq!(pnp_id(0x1e6d), "GSM");
        assert_eq!(pnp_id(0x0000), "???");
    }
}
