//! The multi-call binary: dispatches on argv[0] or the first argument.
fn main() {
    std::process::exit(rlvm::cmd::main_with_args(std::env::args_os().collect()));
}
