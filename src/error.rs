//! Errors the user can act on, and the exit code of every way the program ends: the one
//! place they are mapped (documented in --help and the README).

use thiserror::Error;

/// Bad input: a flag, the config file, the data folder, the output folder. Exit code 2.
/// The message names where the value came from (the flag, or `file: key`) and what to do.
#[derive(Debug, Error)]
#[error("{0}")]
pub struct InputError(pub String);

/// A container engine cannot be reached. Exit code 3.
#[derive(Debug, Error)]
#[error("{0}")]
pub struct EngineUnreachable(pub String);

/// Ctrl-C or SIGTERM before any worker was started: there is no run to report, so no
/// results file is written (a run that started workers always saves one).
#[derive(Debug, Error)]
#[error(
    "interrupted during {during}, before any worker started: nothing was measured, no results written"
)]
pub struct Interrupted {
    /// The phase, e.g. "the image build".
    pub during: &'static str,
}

pub mod exit {
    pub const OK: u8 = 0;
    pub const FAILED: u8 = 1;
    pub const INPUT: u8 = 2;
    pub const ENGINE_UNREACHABLE: u8 = 3;
    pub const WORKER_FAILED: u8 = 4;
    /// `--fail-below` or `--compare`: efficiency or throughput below the threshold, or a
    /// regression beyond noise.
    pub const GATE_FAILED: u8 = 5;
    pub const INTERRUPTED: u8 = 130;
}

/// The exit code for an error that ended the program.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    if err.downcast_ref::<InputError>().is_some() {
        exit::INPUT
    } else if err.downcast_ref::<EngineUnreachable>().is_some() {
        exit::ENGINE_UNREACHABLE
    } else if err.downcast_ref::<Interrupted>().is_some() {
        exit::INTERRUPTED
    } else {
        exit::FAILED
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_has_its_code_even_under_context() {
        use anyhow::Context;
        let wrapped = |e: anyhow::Error| Err::<(), _>(e).context("while running").unwrap_err();
        assert_eq!(
            exit_code(&wrapped(InputError("x".into()).into())),
            exit::INPUT
        );
        assert_eq!(
            exit_code(&wrapped(EngineUnreachable("x".into()).into())),
            exit::ENGINE_UNREACHABLE
        );
        assert_eq!(
            exit_code(&wrapped(Interrupted { during: "x" }.into())),
            exit::INTERRUPTED
        );
        assert_eq!(exit_code(&anyhow::anyhow!("other")), exit::FAILED);
    }
}
