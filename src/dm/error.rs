//! The planner's error: why an activation, deactivation or rename cannot
//! be planned. Shared by `tree.rs` (building the desired stack) and
//! `plan.rs` (diffing it against the kernel), so it sits below both.
//! Messages are LVM2's wording. Pure.

/// Why a plan could not be made; LVM2's messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("Failed to find logical volume \"{vg}/{lv}\"")]
    NoSuchLv { vg: String, lv: String },
    #[error(
        "Refusing activation of partial LV {vg}/{lv}.  Use '--activationmode partial' to override."
    )]
    Partial { vg: String, lv: String },
    #[error("Can't activate {vg}/{lv}: segment type {what} is not supported.")]
    Unsupported {
        vg: String,
        lv: String,
        what: String,
    },
    #[error("Can't activate internal logical volume {vg}/{lv}.")]
    Internal { vg: String, lv: String },
    #[error("Logical volume {vg}/{lv} in use.")]
    InUse { vg: String, lv: String },
    #[error("Can't deactivate volume group \"{vg}\" with {count} open logical volume(s)")]
    VgInUse { vg: String, count: usize },
    #[error("Device {name} already exists with UUID {found:?}, expected {expected}.")]
    UuidConflict {
        name: String,
        found: Option<String>,
        expected: String,
    },
    #[error("Table of {user} references device {name}, which is neither planned nor present.")]
    MissingDevice { name: String, user: String },
}
