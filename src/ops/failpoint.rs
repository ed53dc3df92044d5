//! Test-only failpoints: named places in the operations where a test can
//! make rlvm die as if the power went out (SIGKILL to itself) or fail with
//! an error. Compiled in only with the `failpoints` cargo feature; without
//! it `hit` is an empty inline function.
//!
//! `RLVM_FAILPOINT=<name>` picks the place (names are
//! `<operation>:<step>`, e.g. `merge-start:suspended`, printed by
//! `RLVM_FAILPOINT=list`); `RLVM_FAILPOINT_MODE=error` returns an error
//! there instead of dying.

use super::OpsError;

#[cfg(feature = "failpoints")]
pub fn hit(name: &str) -> Result<(), OpsError> {
    let Ok(want) = std::env::var("RLVM_FAILPOINT") else {
        return Ok(());
    };
    if want == "list" {
        eprintln!("failpoint: {name}");
        return Ok(());
    }
    if want != name {
        return Ok(());
    }
    if std::env::var("RLVM_FAILPOINT_MODE").as_deref() == Ok("error") {
        return Err(OpsError::Failpoint(name.to_string()));
    }
    eprintln!("failpoint: {name}: killing rlvm");
    let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
    Ok(())
}

#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn hit(_name: &str) -> Result<(), OpsError> {
    Ok(())
}
