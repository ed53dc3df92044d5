//! Reports (`lvs`, `vgs`, `pvs`, `*display`): LVM2's field names, columns,
//! attribute strings, units and JSON shape.
