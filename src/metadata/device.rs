//! Block-device trait and its file/memory implementations. Owner: disk helper.
