//! LVM2's CRC-32 variant. Owner: disk helper.
