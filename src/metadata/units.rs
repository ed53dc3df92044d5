//! Sizes and units. Owner: rules helper.
