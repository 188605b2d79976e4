//! Where a setting's value came from, for messages that name it: the flag, the file and
//! key, or the default. Shared by the config, the hosts and the commands, so that none of
//! them imports another for it.

use std::fmt;

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Flag(&'static str),
    File { file: String, key: &'static str },
    Default,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Flag(flag) => f.write_str(flag),
            Origin::File { file, key } => write!(f, "{file}: {key}"),
            Origin::Default => f.write_str("the default"),
        }
    }
}
