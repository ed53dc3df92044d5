//! Extent allocation (linear, striped). Owner: rules helper.
