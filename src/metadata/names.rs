//! VG/LV name rules. Owner: rules helper.
