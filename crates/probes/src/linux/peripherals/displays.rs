//! Display connectors from /sys/class/drm: connected or not, enabled or not, the modes the
//! monitor offers, and the monitor itself from its EDID.

use std::fs;
use std::path::Path;

use sitrep_snapshot::{Display, Section};

use super::{attribute, class_entries};
use crate::{Ctx, ReadError, edid};

const SYS_CLASS_DRM: &str = "/sys/class/drm";
/// Connector types of panels built into the machine.
const INTERNAL_CONNECTORS: [&str; 3] = ["eDP", "LVDS", "DSI"];

/// Gathers every connector of every graphics card.
pub fn gather(ctx: &Ctx) -> Section<Vec<Display>> {
    read_displays(ctx).into()
}

fn read_displays(ctx: &Ctx) -> Result<Vec<Display>, ReadError> {
    Ok(class_entries(ctx, SYS_CLASS_DRM)?
        .into_iter()
        // Beside `card0-HDMI-A-1` the class holds the cards (`card0`), render nodes
        // (`renderD128`) and a `version` file.
        .filter(|(name, _)| connector_type(name).is_some())
        .map(|(name, dir)| read_connector(name, &dir))
        .collect())
}

fn read_connector(connector: String, dir: &Path) -> Display {
    let modes = attribute(dir, "modes")
        .map(|text| parse_modes(&text))
        .unwrap_or_default();
    // A disconnected connector's `edid` reads as empty.
    let edid = fs::read(dir.join("edid")).unwrap_or_default();
    let (monitor, edid_error) = if edid.is_empty() {
        (None, None)
    } else {
        match edid::parse(&edid) {
            Ok(monitor) => (Some(monitor), None),
            Err(error) => (None, Some(error.to_string())),
        }
    };
    Display {
        internal: connector_type(&connector)
            .is_some_and(|kind| INTERNAL_CONNECTORS.contains(&kind)),
        connected: attribute(dir, "status").as_deref() == Some("connected"),
        enabled: attribute(dir, "enabled").as_deref() == Some("enabled"),
        preferred_mode: modes.first().cloned(),
        modes,
        monitor,
        edid_error,
        connector,
    }
}

/// `eDP` for `card1-eDP-1`, `HDMI-A` for `card0-HDMI-A-1`; `None` for what is not a connector.
pub fn connector_type(name: &str) -> Option<&str> {
    let (card, connector) = name.split_once('-')?;
    card.strip_prefix("card")?.parse::<u32>().ok()?;
    let (kind, _index) = connector.rsplit_once('-')?;
    Some(kind)
}

/// The `modes` attribute: one `WIDTHxHEIGHT` per line, the preferred mode first (the kernel
/// sorts it there), repeated once per refresh rate; kept once each, in order.
pub fn parse_modes(text: &str) -> Vec<String> {
    let mut modes: Vec<String> = Vec::new();
    for mode in text.lines().map(str::trim).filter(|mode| !mode.is_empty()) {
        if !modes.iter().any(|seen| seen == mode) {
            modes.push(mode.to_owned());
        }
    }
    modes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connector_names() {
        assert_eq!(connector_type("card1-eDP-1"), Some("eDP"));
        assert_eq!(connector_type("card0-HDMI-A-1"), Some("HDMI-A"));
        assert_eq!(connector_type("card0-DP-10"), Some("DP"));
        assert_eq!(connector_type("card0"), None);
        assert_eq!(connector_type("renderD128"), None);
        assert_eq!(connector_type("version"), None);
    }

    #[test]
    fn modes_are_distinct_and_keep_the_preferred_first() {
        assert_eq!(
            parse_modes("2560x1440\n2560x1440\n1920x1080\n2560x1440\n1280x720\n"),
            ["2560x1440", "1920x1080", "1280x720"]
        );
        assert!(parse_modes("").is_empty());
    }
}
