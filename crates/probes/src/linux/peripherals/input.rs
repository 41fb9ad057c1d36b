//! Keyboards, mice, touchpads and other devices people type or point with, from
//! /proc/bus/input/devices, classified by their capability bitmaps the way udev's `input_id`
//! does; buttons, lid switches and audio jacks are left out.

use std::collections::BTreeMap;

use sitrep_snapshot::{InputDevice, InputKind, Section};

use crate::linux::read_optional_file;
use crate::{Ctx, ParseError, ReadError};

const INPUT_DEVICES: &str = "/proc/bus/input/devices";

// Event types and codes from <linux/input-event-codes.h>.
const EV_REL: u32 = 0x02;
const EV_ABS: u32 = 0x03;
const REL_X: u32 = 0x00;
const REL_Y: u32 = 0x01;
const ABS_X: u32 = 0x00;
const ABS_Y: u32 = 0x01;
const BTN_MOUSE: u32 = 0x110;
const BTN_JOYSTICK: u32 = 0x120;
const BTN_GAMEPAD: u32 = 0x130;
const BTN_TOOL_PEN: u32 = 0x140;
const BTN_TOOL_FINGER: u32 = 0x145;
const BTN_TOUCH: u32 = 0x14a;
const BTN_STYLUS: u32 = 0x14b;
const INPUT_PROP_DIRECT: u32 = 0x01;

/// Gathers the input devices; a kernel without the input layer has none.
pub fn gather(ctx: &Ctx) -> Section<Vec<InputDevice>> {
    read_input(ctx).into()
}

fn read_input(ctx: &Ctx) -> Result<Vec<InputDevice>, ReadError> {
    let Some(text) = read_optional_file(ctx, INPUT_DEVICES)? else {
        return Ok(Vec::new());
    };
    parse_input_devices(&text).map_err(|source| ReadError::parse(ctx.path(INPUT_DEVICES), source))
}

/// One block of /proc/bus/input/devices before classification.
#[derive(Default)]
struct Block {
    bus: u16,
    vendor: String,
    product: String,
    name: String,
    handlers: Vec<String>,
    /// `EV`, `KEY`, `REL`, `ABS`, `PROP`...: the words as printed, most significant first.
    bitmaps: BTreeMap<String, Vec<u64>>,
}

/// Parses /proc/bus/input/devices and keeps the devices people type or point with.
pub fn parse_input_devices(text: &str) -> Result<Vec<InputDevice>, ParseError> {
    let word_bits = word_bits(text);
    let mut devices = Vec::new();
    let mut block: Option<Block> = None;
    for (index, line) in text.lines().enumerate() {
        let line = line.trim_end();
        if line.is_empty() {
            devices.extend(block.take().and_then(|b| classify(b, word_bits)));
            continue;
        }
        let error = |what: &str| ParseError::new(index + 1, format!("{what} in {line:?}"));
        let (kind, value) = line
            .split_once(": ")
            .ok_or_else(|| error("expected \"X: value\""))?;
        let current = block.get_or_insert_with(Block::default);
        match kind {
            "I" => {
                for field in value.split_whitespace() {
                    let (key, hex) = field
                        .split_once('=')
                        .ok_or_else(|| error("expected KEY=hex"))?;
                    match key {
                        "Bus" => {
                            current.bus = u16::from_str_radix(hex, 16)
                                .map_err(|_| error("bad bus number"))?;
                        }
                        "Vendor" => current.vendor = hex.to_ascii_lowercase(),
                        "Product" => current.product = hex.to_ascii_lowercase(),
                        _ => {}
                    }
                }
            }
            "N" => {
                let name = value.strip_prefix("Name=").unwrap_or(value);
                current.name = name.trim_matches('"').to_owned();
            }
            "H" => {
                let handlers = value.strip_prefix("Handlers=").unwrap_or(value);
                current.handlers = handlers.split_whitespace().map(str::to_owned).collect();
            }
            "B" => {
                let (name, words) = value
                    .split_once('=')
                    .ok_or_else(|| error("expected NAME=bits"))?;
                let words = words
                    .split_whitespace()
                    .map(|word| u64::from_str_radix(word, 16))
                    .collect::<Result<Vec<u64>, _>>()
                    .map_err(|_| error("bad bitmap"))?;
                current.bitmaps.insert(name.to_owned(), words);
            }
            _ => {}
        }
    }
    devices.extend(block.take().and_then(|b| classify(b, word_bits)));
    Ok(devices)
}

/// Bitmap words are the kernel's `unsigned long`: 64 bits when any word is printed wider than
/// 32 bits (a keyboard always is), else this process's width (a 32-bit kernel runs 32-bit
/// programs).
fn word_bits(text: &str) -> u32 {
    let wide = text
        .lines()
        .filter_map(|line| line.strip_prefix("B: "))
        .filter_map(|line| line.split_once('=').map(|(_, words)| words))
        .flat_map(str::split_whitespace)
        .any(|word| word.len() > 8);
    if wide { 64 } else { usize::BITS }
}

fn has(words: Option<&Vec<u64>>, bit: u32, word_bits: u32) -> bool {
    let Some(words) = words else {
        return false;
    };
    let index = (bit / word_bits) as usize;
    // Words are printed most significant first.
    index < words.len() && words[words.len() - 1 - index] & (1u64 << (bit % word_bits)) != 0
}

fn classify(block: Block, word_bits: u32) -> Option<InputDevice> {
    let bit = |map: &str, bit: u32| has(block.bitmaps.get(map), bit, word_bits);
    let absolute = bit("EV", EV_ABS) && bit("ABS", ABS_X) && bit("ABS", ABS_Y);
    let relative = bit("EV", EV_REL) && bit("REL", REL_X) && bit("REL", REL_Y);
    let kind = if absolute && (bit("KEY", BTN_TOOL_PEN) || bit("KEY", BTN_STYLUS)) {
        InputKind::Tablet
    } else if absolute && bit("KEY", BTN_TOUCH) && bit("PROP", INPUT_PROP_DIRECT) {
        InputKind::Touchscreen
    } else if absolute && bit("KEY", BTN_TOOL_FINGER) {
        InputKind::Touchpad
    } else if absolute && (bit("KEY", BTN_JOYSTICK) || bit("KEY", BTN_GAMEPAD)) {
        InputKind::Joystick
    } else if relative && bit("KEY", BTN_MOUSE) {
        InputKind::Mouse
    } else if (1..32).all(|key| bit("KEY", key)) {
        // KEY_ESC through KEY_S: a real keyboard, not a power button or a volume knob.
        InputKind::Keyboard
    } else {
        return None;
    };
    Some(InputDevice {
        name: block.name,
        kind,
        bus: bus_name(block.bus).to_owned(),
        vendor_id: format!("{:0>4}", block.vendor),
        product_id: format!("{:0>4}", block.product),
        handlers: block.handlers,
    })
}

/// `BUS_*` from <linux/input.h>.
fn bus_name(bus: u16) -> &'static str {
    match bus {
        0x01 => "pci",
        0x03 => "usb",
        0x05 => "bluetooth",
        0x06 => "virtual",
        0x10 => "isa",
        0x11 => "i8042",
        0x13 => "rs232",
        0x18 => "i2c",
        0x19 => "host",
        0x1c => "spi",
        0x1d => "rmi",
        0x1f => "intel-ishtp",
        0x20 => "amd-sfh",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ThinkPad's /proc/bus/input/devices, abridged to one of each kind.
    const THINKPAD: &str = r#"I: Bus=0019 Vendor=0000 Product=0001 Version=0000
N: Name="Power Button"
P: Phys=PNP0C0C/button/input0
S: Sysfs=/devices/LNXSYSTM:00/LNXSYBUS:00/PNP0C0C:00/input/input0
U: Uniq=
H: Handlers=kbd event0 
B: PROP=0
B: EV=3
B: KEY=10000000000000 0

I: Bus=0011 Vendor=0001 Product=0001 Version=ab83
N: Name="AT Translated Set 2 keyboard"
P: Phys=isa0060/serio0/input0
S: Sysfs=/devices/platform/i8042/serio0/input/input3
U: Uniq=
H: Handlers=sysrq kbd leds event3 
B: PROP=0
B: EV=120013
B: KEY=402000000 3803078f800d001 feffffdfffefffff fffffffffffffffe
B: MSC=10
B: LED=7

I: Bus=0018 Vendor=04f3 Product=3187 Version=0100
N: Name="ELAN0672:00 04F3:3187 Touchpad"
P: Phys=i2c-ELAN0672:00
S: Sysfs=/devices/pci0000:00/0000:00:15.0/i2c_designware.0/i2c-1/i2c-ELAN0672:00/0018:04F3:3187.0002/input/input13
U: Uniq=
H: Handlers=mouse1 event8 
B: PROP=5
B: EV=1b
B: KEY=e520 10000 0 0 0 0
B: ABS=2e0800000000003
B: MSC=20

I: Bus=0011 Vendor=0002 Product=000a Version=0063
N: Name="TPPS/2 Elan TrackPoint"
P: Phys=isa0060/serio1/input0
S: Sysfs=/devices/platform/i8042/serio1/serio2/input/input6
U: Uniq=
H: Handlers=mouse0 event5 
B: PROP=21
B: EV=7
B: KEY=70000 0 0 0 0
B: REL=3

I: Bus=0003 Vendor=046d Product=c52b Version=0111
N: Name="Logitech USB Receiver Consumer Control"
P: Phys=usb-0000:00:14.0-1.1/input2
S: Sysfs=/devices/pci0000:00/0000:00:14.0/usb1/1-1/1-1.1/1-1.1:1.2/0003:046D:C52B.0006/input/input22
U: Uniq=
H: Handlers=kbd event14 
B: PROP=0
B: EV=1f
B: KEY=300ff 0 0 483ffff17aff32d bfd4444600000000 1 130ff38b17c000 677bfad9415fed 19ed68000004400 10000002
B: REL=1040
B: ABS=100000000
B: MSC=10
"#;

    #[test]
    fn classifies_by_capabilities() {
        let devices = parse_input_devices(THINKPAD).expect("parses");
        let summary: Vec<String> = devices
            .iter()
            .map(|d| {
                format!(
                    "{:?} {} {}:{} {} [{}]",
                    d.kind,
                    d.name,
                    d.vendor_id,
                    d.product_id,
                    d.bus,
                    d.handlers.join(" ")
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                "Keyboard AT Translated Set 2 keyboard 0001:0001 i8042 [sysrq kbd leds event3]",
                "Touchpad ELAN0672:00 04F3:3187 Touchpad 04f3:3187 i2c [mouse1 event8]",
                "Mouse TPPS/2 Elan TrackPoint 0002:000a i8042 [mouse0 event5]",
            ]
        );
    }

    #[test]
    fn bitmap_words_are_64_bits_when_printed_wide() {
        assert_eq!(word_bits(THINKPAD), 64);
        let words = vec![0x70000, 0, 0, 0, 0];
        assert!(has(Some(&words), BTN_MOUSE, 64));
        assert!(!has(Some(&words), BTN_MOUSE + 3, 64));
        assert!(has(
            Some(&vec![0x10000, 0, 0, 0, 0, 0, 0, 0, 0]),
            BTN_MOUSE,
            32
        ));
        assert!(!has(None, 0, 64));
    }

    #[test]
    fn lines_without_a_tag_are_errors() {
        assert_eq!(
            parse_input_devices("I: Bus=0003\nnonsense\n").map_err(|e| e.to_string()),
            Err("line 2: expected \"X: value\" in \"nonsense\"".to_owned())
        );
    }
}
