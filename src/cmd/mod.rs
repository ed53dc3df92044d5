//! The commands: each parses its arguments into a request, loads metadata,
//! plans and executes. Owner: lead.

/// Entry point used by `main`; returns the process exit code.
pub fn main_with_args(_args: Vec<std::ffi::OsString>) -> i32 {
    3
}
