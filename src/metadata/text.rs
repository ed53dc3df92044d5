//! Text metadata import/export. Owner: text helper.
