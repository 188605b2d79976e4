//! The hosts a run spans, from `--host URL` (repeatable) or `--hosts FILE`, and where each
//! container goes on them (`--placement spread|pack`). Pure: the URLs are reached, and the
//! hosts' cores read, elsewhere ([`crate::engine::docker::connect`], [`crate::facts`]).

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::InputError;
use crate::origin::Origin;
use crate::topology::format_cpu_list;

/// The local engine's address when none is given.
pub const LOCAL_SOCKET: &str = "unix:///var/run/docker.sock";

/// One host, as the user named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostSpec {
    /// How the host is called in messages and reports.
    pub name: String,
    /// `unix://PATH`, `tcp://HOST:PORT`, `https://HOST:PORT`, `ssh://USER@HOST`, or the
    /// name of a docker context.
    pub url: String,
    /// The cores this host may use (a CPU list); all online ones when `None`.
    pub cpus: Option<String>,
    /// Where the corpus is on that host; `--data-dir` when `None`.
    pub data_dir: Option<PathBuf>,
    /// Where it was named, for messages: `--host`, or `FILE: hosts[i]`.
    pub origin: Origin,
}

/// How containers are spread over the hosts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Placement {
    /// Round-robin over the hosts: container 1 on the first, 2 on the second ... (the
    /// default), so every step uses as many hosts as it can.
    #[default]
    Spread,
    /// Fill the first host's cores, then the next host's.
    Pack,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HostsFile {
    hosts: Vec<HostEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HostEntry {
    name: Option<String>,
    url: String,
    cpus: Option<String>,
    data_dir: Option<PathBuf>,
}

/// A name for a host from its URL: the host part of a network address, `local` for the
/// default socket, the socket's path otherwise, or the context's name.
pub fn name_from_url(url: &str) -> String {
    if url == LOCAL_SOCKET {
        return "local".to_string();
    }
    match url.split_once("://") {
        Some(("unix", path)) => path.to_string(),
        Some((_, rest)) => {
            let authority = rest.split('/').next().unwrap_or(rest);
            authority
                .rsplit('@')
                .next()
                .unwrap_or(authority)
                .to_string()
        }
        None => url.to_string(),
    }
}

/// The hosts of `--host` flags.
pub fn from_flags(urls: &[String]) -> Result<Vec<HostSpec>, InputError> {
    let hosts: Vec<HostSpec> = urls
        .iter()
        .map(|url| HostSpec {
            name: name_from_url(url),
            url: url.clone(),
            cpus: None,
            data_dir: None,
            origin: Origin::Flag("--host"),
        })
        .collect();
    check_unique(&hosts)?;
    Ok(hosts)
}

/// The hosts of a hosts file; relative data folders are relative to the file's folder.
pub fn load(path: &Path) -> Result<Vec<HostSpec>, InputError> {
    let text = fs::read_to_string(path).map_err(|e| {
        InputError(format!(
            "cannot read hosts file {} (--hosts): {e}. Check the path.",
            path.display()
        ))
    })?;
    parse(&text, path)
}

/// Parses a hosts file's text (see [`load`]).
pub fn parse(text: &str, path: &Path) -> Result<Vec<HostSpec>, InputError> {
    let file: HostsFile = serde_yaml::from_str(text).map_err(|e| {
        InputError(format!(
            "{}: {e}. A hosts file is `hosts:` and a list of entries with url (and optionally \
             name, cpus, data_dir); see the README's \"Several hosts\".",
            path.display()
        ))
    })?;
    if file.hosts.is_empty() {
        return Err(InputError(format!(
            "{}: hosts is empty; list at least one host",
            path.display()
        )));
    }
    let base = path.parent().unwrap_or(Path::new(""));
    let key = |i: usize| Origin::File {
        file: path.display().to_string(),
        key: hosts_key(i),
    };
    let hosts = file
        .hosts
        .into_iter()
        .enumerate()
        .map(|(i, e)| {
            if e.url.trim().is_empty() {
                return Err(InputError(format!("{}.url is empty", key(i))));
            }
            if let Some(cpus) = &e.cpus
                && worker::usage::parse_cpu_list(cpus).is_none_or(|c| c.is_empty())
            {
                return Err(InputError(format!(
                    "{}.cpus {cpus:?} is not a CPU list: use numbers and ranges, e.g. \"0,2-3\"",
                    key(i)
                )));
            }
            Ok(HostSpec {
                name: e.name.unwrap_or_else(|| name_from_url(&e.url)),
                url: e.url,
                cpus: e.cpus,
                data_dir: e
                    .data_dir
                    .map(|d| if d.is_relative() { base.join(d) } else { d }),
                origin: key(i),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    check_unique(&hosts)?;
    Ok(hosts)
}

/// `hosts[i]` as a static key (errors name the entry).
fn hosts_key(i: usize) -> &'static str {
    const KEYS: [&str; 16] = [
        "hosts[0]",
        "hosts[1]",
        "hosts[2]",
        "hosts[3]",
        "hosts[4]",
        "hosts[5]",
        "hosts[6]",
        "hosts[7]",
        "hosts[8]",
        "hosts[9]",
        "hosts[10]",
        "hosts[11]",
        "hosts[12]",
        "hosts[13]",
        "hosts[14]",
        "hosts[15]",
    ];
    KEYS.get(i).copied().unwrap_or("hosts[...]")
}

fn check_unique(hosts: &[HostSpec]) -> Result<(), InputError> {
    for (i, h) in hosts.iter().enumerate() {
        if let Some(first) = hosts[..i].iter().find(|o| o.name == h.name) {
            return Err(InputError(format!(
                "{} names host {:?} a second time (first at {}): give each host its own name",
                h.origin, h.name, first.origin
            )));
        }
    }
    Ok(())
}

/// A host's usable cores, in the order containers go to them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostCores {
    pub name: String,
    pub cores: Vec<usize>,
}

/// Where each of `n` containers goes: (host index, core). Spread: round-robin over the
/// hosts that still have a free core; pack: one host's cores after the other's. More
/// containers than cores in all is refused, naming each host's cores, unless
/// `oversubscribe` (then the cores are used again in the same order).
pub fn place(
    n: usize,
    hosts: &[HostCores],
    placement: Placement,
    oversubscribe: bool,
    flag: &str,
) -> Result<Vec<(usize, usize)>, InputError> {
    let capacity: usize = hosts.iter().map(|h| h.cores.len()).sum();
    if capacity == 0 {
        return Err(InputError(
            "no host has a core to pin a container to".to_string(),
        ));
    }
    if n > capacity && !oversubscribe {
        let each: Vec<String> = hosts
            .iter()
            .map(|h| {
                format!(
                    "{} has {} ({})",
                    h.name,
                    h.cores.len(),
                    format_cpu_list(&h.cores)
                )
            })
            .collect();
        return Err(InputError(format!(
            "{flag} asks for {n} containers but there are only {capacity} core(s) to pin them \
             to: {}. Use {flag} {capacity} or fewer, give more hosts or cores, or add \
             --oversubscribe to let containers share cores (efficiency will drop).",
            each.join("; ")
        )));
    }
    // One pass over the cores in placement order; repeated when oversubscribed.
    let mut order: Vec<(usize, usize)> = Vec::new();
    match placement {
        Placement::Pack => {
            for (h, host) in hosts.iter().enumerate() {
                order.extend(host.cores.iter().map(|&c| (h, c)));
            }
        }
        Placement::Spread => {
            let depth = hosts.iter().map(|h| h.cores.len()).max().unwrap_or(0);
            for k in 0..depth {
                for (h, host) in hosts.iter().enumerate() {
                    if let Some(&c) = host.cores.get(k) {
                        order.push((h, c));
                    }
                }
            }
        }
    }
    Ok(order.iter().cycle().take(n).copied().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cores(name: &str, cores: &[usize]) -> HostCores {
        HostCores {
            name: name.to_string(),
            cores: cores.to_vec(),
        }
    }

    #[test]
    fn names_come_from_urls() {
        assert_eq!(name_from_url(LOCAL_SOCKET), "local");
        assert_eq!(name_from_url("tcp://127.0.0.1:23750"), "127.0.0.1:23750");
        assert_eq!(name_from_url("ssh://bench@box-7"), "box-7");
        assert_eq!(name_from_url("https://h:2376/"), "h:2376");
        assert_eq!(name_from_url("unix:///tmp/x.sock"), "/tmp/x.sock");
        assert_eq!(name_from_url("my-context"), "my-context");
    }

    #[test]
    fn a_hosts_file_with_options_and_its_errors_named_by_entry() {
        let path = Path::new("/etc/bench/hosts.yaml");
        let hosts = parse(
            "hosts:\n  - name: local\n    url: unix:///var/run/docker.sock\n    cpus: \"0\"\n  \
             - name: second\n    url: tcp://127.0.0.1:23750\n    cpus: \"1\"\n    data_dir: pdfs\n",
            path,
        )
        .unwrap();
        assert_eq!(hosts.len(), 2);
        assert_eq!(hosts[1].data_dir, Some(PathBuf::from("/etc/bench/pdfs")));
        assert_eq!(hosts[0].cpus.as_deref(), Some("0"));
        let e = parse("hosts:\n  - url: tcp://a:1\n    cpus: \"0,x\"\n", path)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("/etc/bench/hosts.yaml: hosts[0].cpus"), "{e}");
        let e = parse("hosts:\n  - url: tcp://a:1\n    core: 3\n", path)
            .unwrap_err()
            .to_string();
        assert!(e.contains("core") && e.contains("hosts.yaml"), "{e}");
        let e = parse("hosts:\n  - url: tcp://a:1\n  - url: tcp://a:1\n", path)
            .unwrap_err()
            .to_string();
        assert!(e.contains("second time") && e.contains("hosts[1]"), "{e}");
        assert!(parse("hosts: []\n", path).is_err());
    }

    #[test]
    fn spread_takes_turns_and_pack_fills_a_host_first() {
        let hosts = [cores("a", &[0, 1]), cores("b", &[4, 5, 6])];
        assert_eq!(
            place(4, &hosts, Placement::Spread, false, "--containers").unwrap(),
            [(0, 0), (1, 4), (0, 1), (1, 5)]
        );
        assert_eq!(
            place(5, &hosts, Placement::Spread, false, "--containers").unwrap(),
            [(0, 0), (1, 4), (0, 1), (1, 5), (1, 6)],
            "a full host is skipped"
        );
        assert_eq!(
            place(3, &hosts, Placement::Pack, false, "--containers").unwrap(),
            [(0, 0), (0, 1), (1, 4)]
        );
    }

    #[test]
    fn more_containers_than_cores_is_refused_naming_each_host() {
        let hosts = [cores("local", &[0]), cores("second", &[1])];
        let e = place(3, &hosts, Placement::Spread, false, "--containers")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("local has 1 (0)") && e.contains("second has 1 (1)"),
            "{e}"
        );
        assert!(e.contains("--oversubscribe"), "{e}");
        assert_eq!(
            place(3, &hosts, Placement::Spread, true, "--containers").unwrap(),
            [(0, 0), (1, 1), (0, 0)]
        );
    }
}
