//! Errors the user can act on, and the exit code each maps to (documented in --help and
//! the README).

use std::fmt;

/// Bad input: a flag, the config file, the data folder. Exit code 2.
#[derive(Debug)]
pub struct InputError(pub String);

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InputError {}

/// The Docker daemon cannot be reached. Exit code 3.
#[derive(Debug)]
pub struct DockerUnreachable(pub String);

impl fmt::Display for DockerUnreachable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DockerUnreachable {}

pub mod exit {
    pub const OK: u8 = 0;
    pub const FAILED: u8 = 1;
    pub const INPUT: u8 = 2;
    pub const DOCKER_UNREACHABLE: u8 = 3;
    pub const CONTAINER_FAILED: u8 = 4;
    /// `--fail-below` or `--compare`: efficiency or throughput below the threshold, or a
    /// regression beyond noise.
    pub const GATE_FAILED: u8 = 5;
    pub const INTERRUPTED: u8 = 130;
}

/// The exit code for an error that ended the program.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    if err.downcast_ref::<InputError>().is_some() {
        exit::INPUT
    } else if err.downcast_ref::<DockerUnreachable>().is_some() {
        exit::DOCKER_UNREACHABLE
    } else {
        exit::FAILED
    }
}
