//! LVM2's vg_validate invariants. Owner: text helper.
