//! Cameras from /sys/class/video4linux: one per device, with all its video nodes (a UVC webcam
//! has a capture node and a metadata node).

use std::fs;
use std::path::PathBuf;

use sitrep_snapshot::{Camera, Section};

use super::{attribute, class_entries, link_name};
use crate::{Ctx, ReadError};

const SYS_CLASS_VIDEO4LINUX: &str = "/sys/class/video4linux";

/// Gathers the cameras.
pub fn gather(ctx: &Ctx) -> Section<Vec<Camera>> {
    read_cameras(ctx).into()
}

fn read_cameras(ctx: &Ctx) -> Result<Vec<Camera>, ReadError> {
    // Each camera with the device its nodes hang off (a USB interface such as `1-4:1.0`).
    let mut cameras: Vec<(Option<PathBuf>, Camera)> = Vec::new();
    let mut nodes = class_entries(ctx, SYS_CLASS_VIDEO4LINUX)?;
    nodes.retain(|(name, _)| name.starts_with("video"));
    // video2 before video10.
    nodes.sort_by_key(|(name, _)| name["video".len()..].parse::<u32>().unwrap_or(u32::MAX));
    for (node, dir) in nodes {
        let device = dir.join("device");
        let parent = fs::canonicalize(&device).ok();
        let path = format!("/dev/{node}");
        if let Some((_, camera)) = cameras
            .iter_mut()
            .find(|(owner, _)| owner.is_some() && *owner == parent)
        {
            camera.devices.push(path);
            continue;
        }
        let on_usb = link_name(&device, "subsystem").as_deref() == Some("usb");
        let usb_path = parent
            .as_deref()
            .filter(|_| on_usb)
            .and_then(|interface| interface.file_name()?.to_str())
            .and_then(|interface| Some(interface.split_once(':')?.0.to_owned()));
        cameras.push((
            parent,
            Camera {
                name: attribute(&dir, "name").unwrap_or_else(|| node.clone()),
                devices: vec![path],
                driver: link_name(&device, "driver"),
                usb_path,
            },
        ));
    }
    Ok(cameras.into_iter().map(|(_, camera)| camera).collect())
}
