//! PV label and pv_header. Owner: disk helper.
