//! The multi-call binary: dispatches on argv[0] or the first argument.
fn main() {
    rlvm::metadata::phase::mark("start");
    let rc = rlvm::cmd::main_with_args(std::env::args_os().collect());
    rlvm::metadata::phase::mark("exit");
    std::process::exit(rc);
}
