//! What a host is, probed once before anything is planned: its CPUs (online, usable by
//! the workers, in placement order), topology, CPU model, memory, kernel, and its engine.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::cli::Runtime;
use crate::topology::{Topology, TopologySummary};

/// The engine a host's workers run under, for the report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EngineInfo {
    /// `docker` or `process`.
    pub kind: String,
    pub version: Option<String>,
    pub api_version: Option<String>,
}

/// One host's facts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostFacts {
    /// How the host is called in messages and reports.
    pub name: String,
    pub hostname: Option<String>,
    /// Online logical CPUs.
    pub online_cpus: Vec<usize>,
    /// The CPUs workers may be pinned to: the online ones for containers; for local
    /// processes, those of this process's affinity mask too.
    pub usable_cpus: Vec<usize>,
    /// The usable CPUs in the order workers are placed: distinct physical cores first,
    /// SMT siblings after (see [`Topology::placement`]).
    pub placement: Vec<usize>,
    /// The CPUs this orchestrator process may run on.
    pub affinity: Vec<usize>,
    pub numa_nodes: usize,
    /// CPU -> NUMA node, when there are several nodes.
    pub numa: BTreeMap<usize, usize>,
    pub topology: Option<TopologySummary>,
    pub cpu_model: Option<String>,
    pub memory_bytes: Option<u64>,
    pub kernel: Option<String>,
    pub engine: EngineInfo,
    /// The host is the machine this program runs on (its files and processes are ours to
    /// read): local processes, or an engine on this machine's socket.
    #[serde(default)]
    pub this_machine: bool,
}

impl HostFacts {
    /// This machine, read from /sys and /proc.
    pub fn local(runtime: Runtime) -> HostFacts {
        let topology = Topology::read(Path::new("/sys")).ok();
        let online: Vec<usize> = match &topology {
            Some(t) => t.cpus.iter().map(|c| c.cpu).collect(),
            None => {
                let n = std::thread::available_parallelism().map_or(1, |n| n.get());
                (0..n).collect()
            }
        };
        let affinity = worker::usage::cpus_allowed();
        let usable: Vec<usize> = match runtime {
            // Local processes inherit (and may only narrow) our affinity mask.
            Runtime::Process if !affinity.is_empty() => online
                .iter()
                .copied()
                .filter(|c| affinity.contains(c))
                .collect(),
            _ => online.clone(),
        };
        let placement = match &topology {
            Some(t) => t
                .placement(t.cpus.len())
                .iter()
                .map(|p| p.cpu)
                .filter(|c| usable.contains(c))
                .collect(),
            None => usable.clone(),
        };
        let summary = topology.as_ref().map(Topology::describe);
        let numa = topology
            .as_ref()
            .map(|t| t.cpus.iter().map(|c| (c.cpu, c.numa_node)).collect())
            .unwrap_or_default();
        let read = |path: &str| fs::read_to_string(path).ok().map(|s| s.trim().to_string());
        HostFacts {
            name: "local".to_string(),
            hostname: read("/proc/sys/kernel/hostname"),
            online_cpus: online,
            usable_cpus: usable,
            placement,
            affinity,
            numa_nodes: summary.as_ref().map_or(1, |s| s.numa_nodes),
            numa,
            topology: summary,
            cpu_model: fs::read_to_string("/proc/cpuinfo").ok().and_then(|info| {
                info.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_string())
            }),
            memory_bytes: fs::read_to_string("/proc/meminfo")
                .ok()
                .and_then(|info| worker::usage::kb_field(&info, "MemTotal:")),
            kernel: read("/proc/sys/kernel/osrelease"),
            engine: EngineInfo {
                kind: match runtime {
                    Runtime::Docker => "docker",
                    Runtime::Process => "process",
                }
                .to_string(),
                ..EngineInfo::default()
            },
            // Read here; an engine that asked a probe container on another machine for
            // them says otherwise.
            this_machine: true,
        }
    }

    /// The NUMA node of `cpu`, when known.
    pub fn numa_node_of(&self, cpu: usize) -> Option<usize> {
        self.numa.get(&cpu).copied()
    }

    /// A host of `cpus` with nothing else known.
    #[cfg(test)]
    pub fn for_tests(name: &str, cpus: &[usize]) -> HostFacts {
        HostFacts {
            name: name.to_string(),
            hostname: None,
            online_cpus: cpus.to_vec(),
            usable_cpus: cpus.to_vec(),
            placement: cpus.to_vec(),
            affinity: cpus.to_vec(),
            numa_nodes: 1,
            numa: BTreeMap::new(),
            topology: None,
            cpu_model: None,
            memory_bytes: None,
            kernel: None,
            engine: EngineInfo::default(),
            this_machine: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_machine_has_usable_cpus_in_placement_order() {
        let facts = HostFacts::local(Runtime::Process);
        assert!(!facts.usable_cpus.is_empty());
        let mut placed = facts.placement.clone();
        placed.sort_unstable();
        let mut usable = facts.usable_cpus.clone();
        usable.sort_unstable();
        assert_eq!(placed, usable, "every usable CPU is placed once");
        assert!(facts.usable_cpus.iter().all(|c| facts.affinity.contains(c)));
    }
}
