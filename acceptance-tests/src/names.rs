//! The names a logical volume's block device goes by: what a domain's disk may say to mean an LV.

/// Device-mapper doubles every `-` inside VG and LV names (`my-vg` → `my--vg`).
pub fn dm_escape(s: &str) -> String {
    s.replace('-', "--")
}

/// Every path naming LV `vg/lv`: `/dev/VG/LV`, `/dev/mapper/VG-LV` and `/dev/disk/by-id/dm-name-VG-LV`
/// (with device-mapper's escaping), and, given the VG's and the LV's UUIDs,
/// `/dev/disk/by-id/dm-uuid-LVM-<VG UUID><LV UUID>` (without their dashes), as udev names them.
pub fn lv_paths(vg: &str, lv: &str, uuids: Option<(&str, &str)>) -> Vec<String> {
    let dm = format!("{}-{}", dm_escape(vg), dm_escape(lv));
    let mut v = vec![
        format!("/dev/{vg}/{lv}"),
        format!("/dev/mapper/{dm}"),
        format!("/dev/disk/by-id/dm-name-{dm}"),
    ];
    if let Some((vg_uuid, lv_uuid)) = uuids {
        v.push(format!(
            "/dev/disk/by-id/dm-uuid-LVM-{}{}",
            vg_uuid.replace('-', ""),
            lv_uuid.replace('-', "")
        ));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_double_dashes_and_join_uuids() {
        assert_eq!(
            lv_paths("my-vg", "data-1", Some(("abc-def", "123-456"))),
            [
                "/dev/my-vg/data-1",
                "/dev/mapper/my--vg-data--1",
                "/dev/disk/by-id/dm-name-my--vg-data--1",
                "/dev/disk/by-id/dm-uuid-LVM-abcdef123456",
            ]
        );
        assert_eq!(lv_paths("vg", "lv", None).len(), 3);
    }
}
