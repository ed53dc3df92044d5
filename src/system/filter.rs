//! Owner: system helper.
