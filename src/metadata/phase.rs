//! Step timestamps for finding where a command's time goes: with
//! `RLVM_PHASES` set (non-empty), each [`mark`] prints `PHASE <seconds
//! since the epoch> <step>` on stderr; otherwise a mark costs one load of
//! a flag. `BENCH_PHASES=1 scripts/bench-commands.sh` runs `lvcreate`
//! and `lvcreate -s` so in the test VM and prints the median time between
//! each two marks.
//! Here, at the bottom layer, so that every layer may mark its steps.

use std::sync::OnceLock;

/// Prints the step `name` with the time, when `RLVM_PHASES` is set.
pub fn mark(name: &str) {
    static ON: OnceLock<bool> = OnceLock::new();
    if *ON.get_or_init(|| std::env::var_os("RLVM_PHASES").is_some_and(|v| !v.is_empty())) {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        eprintln!("PHASE {t:.6} {name}");
    }
}
