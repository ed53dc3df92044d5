//! Reports (`lvs`, `vgs`, `pvs`, `*display`): LVM2's field names, columns,
//! attribute strings, units and JSON shape.
//!
//! Pure: callers hand in records (metadata plus what the kernel and the
//! device scan said) and get the exact text LVM2 would print. No I/O.

pub mod attr;
pub mod units;

#[cfg(test)]
mod fixture;
