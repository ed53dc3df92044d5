//! Metadata area header and circular text buffer. Owner: disk helper.
