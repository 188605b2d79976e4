//! End to end: the real binary against the real engines (the Docker Engine, local
//! processes). These tests fail (never skip) when no Docker Engine is reachable: the engine
//! is the test bed. One test binary, so that the Docker tests share one lock (they pin
//! containers to the same cores) and one set of helpers ([`util`]).

mod hosts;
mod interrupt;
mod run;
mod util;
