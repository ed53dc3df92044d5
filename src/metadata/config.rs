//! libdm config-tree grammar: parse and write. Owner: text helper.
