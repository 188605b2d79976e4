//! Which logical CPUs share a physical core, a package and a NUMA node, read from sysfs
//! (Documentation/ABI/stable/sysfs-devices-system-cpu, Documentation/admin-guide/cputopology.rst),
//! so that a scaling study pins its containers to distinct physical cores before it ever
//! puts two of them on SMT siblings.
//!
//! Every file is optional except the list of CPUs: a VM or a container may hide the
//! topology, and then each CPU counts as its own core in package 0, node 0.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};
use worker::usage::parse_cpu_list;

/// One online logical CPU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cpu {
    pub cpu: usize,
    /// `topology/core_id`; the CPU number when unreadable.
    pub core_id: usize,
    /// `topology/physical_package_id`; 0 when unreadable.
    pub package: usize,
    pub numa_node: usize,
    /// The online CPUs sharing this CPU's physical core, itself included, ascending.
    pub siblings: Vec<usize>,
    pub governor: Option<String>,
    pub cur_freq_khz: Option<u64>,
    pub max_freq_khz: Option<u64>,
}

/// The online CPUs of a machine, ascending by CPU number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    pub cpus: Vec<Cpu>,
}

/// Where one container goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    pub cpu: usize,
    pub core_id: usize,
    pub package: usize,
    pub numa_node: usize,
}

/// The machine's shape, for the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopologySummary {
    pub cpus: usize,
    pub physical_cores: usize,
    pub packages: usize,
    pub numa_nodes: usize,
    /// More than one logical CPU on some physical core.
    pub smt: bool,
    /// The cpufreq governor; several joined by `/` when the CPUs differ.
    pub governor: Option<String>,
    /// Mean current frequency over the CPUs that report one.
    pub cur_freq_mhz: Option<f64>,
    /// Highest `cpuinfo_max_freq`.
    pub max_freq_mhz: Option<f64>,
}

impl Topology {
    /// Reads the topology under `sys_root` (`/sys` in production). Fails only when no
    /// online CPU can be found at all.
    pub fn read(sys_root: &Path) -> Result<Topology> {
        let cpu_dir = sys_root.join("devices/system/cpu");
        let online = match read_trimmed(&cpu_dir.join("online")) {
            Some(list) => parse_cpu_list(&list).unwrap_or_default(),
            None => numbered_entries(&cpu_dir, "cpu"),
        };
        if online.is_empty() {
            bail!(
                "no online CPU found under {}: is sysfs mounted?",
                cpu_dir.display()
            );
        }
        let nodes = numa_nodes(&sys_root.join("devices/system/node"));

        let mut cpus: Vec<Cpu> = online
            .iter()
            .map(|&cpu| {
                let dir = cpu_dir.join(format!("cpu{cpu}"));
                let number = |name: &str| read_trimmed(&dir.join(name))?.parse::<u64>().ok();
                let freq = |name: &str| number(&format!("cpufreq/{name}"));
                Cpu {
                    cpu,
                    core_id: number("topology/core_id").map_or(cpu, |v| v as usize),
                    package: number("topology/physical_package_id").map_or(0, |v| v as usize),
                    numa_node: nodes.get(&cpu).copied().unwrap_or(0),
                    siblings: ["topology/thread_siblings_list", "topology/core_cpus_list"]
                        .iter()
                        .find_map(|name| read_trimmed(&dir.join(name)))
                        .and_then(|list| parse_cpu_list(&list))
                        .unwrap_or_default(),
                    governor: read_trimmed(&dir.join("cpufreq/scaling_governor")),
                    cur_freq_khz: freq("scaling_cur_freq"),
                    max_freq_khz: freq("cpuinfo_max_freq"),
                }
            })
            .collect();
        cpus.sort_by_key(|c| c.cpu);
        cpus.dedup_by_key(|c| c.cpu);

        // Siblings: the listed ones that are online; without a list, the online CPUs with
        // the same package and core id.
        let online: BTreeSet<usize> = cpus.iter().map(|c| c.cpu).collect();
        let keys: Vec<(usize, usize, usize)> =
            cpus.iter().map(|c| (c.package, c.core_id, c.cpu)).collect();
        for cpu in &mut cpus {
            cpu.siblings.retain(|s| online.contains(s));
            if cpu.siblings.is_empty() {
                cpu.siblings = keys
                    .iter()
                    .filter(|(p, core, _)| (*p, *core) == (cpu.package, cpu.core_id))
                    .map(|(_, _, c)| *c)
                    .collect();
            }
            cpu.siblings.sort_unstable();
            cpu.siblings.dedup();
        }
        Ok(Topology { cpus })
    }

    /// The physical cores as lists of their online logical CPUs, ordered by package, then
    /// by their lowest CPU number.
    fn cores(&self) -> Vec<(usize, Vec<usize>)> {
        let set: BTreeSet<(usize, &[usize])> = self
            .cpus
            .iter()
            .map(|c| (c.package, c.siblings.as_slice()))
            .collect();
        set.into_iter().map(|(p, s)| (p, s.to_vec())).collect()
    }

    /// Where `n` containers go, one CPU each.
    ///
    /// The rule: first one CPU (the lowest-numbered) on each distinct physical core,
    /// filling package 0's cores before package 1's, and so on; then the second SMT sibling
    /// of each core in the same order, then the third. Keeping a small step inside one
    /// package keeps it on one memory controller and one shared cache, which is what a
    /// single-socket machine offers anyway. Beyond the number of CPUs the same order starts
    /// again (oversubscription: containers share CPUs).
    pub fn placement(&self, n: usize) -> Vec<Placement> {
        let cores = self.cores();
        let depth = cores.iter().map(|(_, s)| s.len()).max().unwrap_or(0);
        let order: Vec<usize> = (0..depth)
            .flat_map(|thread| {
                cores
                    .iter()
                    .filter_map(move |(_, s)| s.get(thread).copied())
            })
            .collect();
        order
            .iter()
            .cycle()
            .take(if order.is_empty() { 0 } else { n })
            .filter_map(|&cpu| self.cpus.iter().find(|c| c.cpu == cpu))
            .map(|c| Placement {
                cpu: c.cpu,
                core_id: c.core_id,
                package: c.package,
                numa_node: c.numa_node,
            })
            .collect()
    }

    /// Counts of CPUs, physical cores, packages and NUMA nodes, and the cpufreq state.
    pub fn describe(&self) -> TopologySummary {
        let cores = self.cores();
        let distinct = |f: fn(&Cpu) -> usize| self.cpus.iter().map(f).collect::<BTreeSet<_>>();
        let governors: BTreeSet<&str> = self
            .cpus
            .iter()
            .filter_map(|c| c.governor.as_deref())
            .collect();
        let cur: Vec<f64> = self
            .cpus
            .iter()
            .filter_map(|c| c.cur_freq_khz)
            .map(|khz| khz as f64 / 1000.0)
            .collect();
        TopologySummary {
            cpus: self.cpus.len(),
            physical_cores: cores.len(),
            packages: distinct(|c| c.package).len(),
            numa_nodes: distinct(|c| c.numa_node).len(),
            smt: cores.iter().any(|(_, s)| s.len() > 1),
            governor: (!governors.is_empty())
                .then(|| governors.into_iter().collect::<Vec<_>>().join("/")),
            cur_freq_mhz: (!cur.is_empty()).then(|| cur.iter().sum::<f64>() / cur.len() as f64),
            max_freq_mhz: self
                .cpus
                .iter()
                .filter_map(|c| c.max_freq_khz)
                .max()
                .map(|khz| khz as f64 / 1000.0),
        }
    }
}

fn read_trimmed(path: &Path) -> Option<String> {
    fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// The numbers N of the entries `<prefix>N` in `dir`, ascending; empty when unreadable.
fn numbered_entries(dir: &Path, prefix: &str) -> Vec<usize> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut numbers: Vec<usize> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.strip_prefix(prefix)?.parse().ok())
        .collect();
    numbers.sort_unstable();
    numbers
}

/// CPU -> NUMA node from `node*/cpulist`; empty (everything on node 0) without NUMA.
fn numa_nodes(node_dir: &Path) -> BTreeMap<usize, usize> {
    let mut map = BTreeMap::new();
    for node in numbered_entries(node_dir, "node") {
        let list = node_dir.join(format!("node{node}/cpulist"));
        if let Some(list) = read_trimmed(&list) {
            for cpu in parse_cpu_list(&list).unwrap_or_default() {
                map.entry(cpu).or_insert(node);
            }
        }
    }
    map
}

/// Makes a sysfs tree in a folder.
/// `0,2,5`: CPUs as a list the flags and messages use.
pub fn format_cpu_list(cpus: &[usize]) -> String {
    cpus.iter()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod fixture {
    use std::fs;
    use std::path::Path;

    pub fn write(root: &Path, rel: &str, content: &str) {
        let path = root.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, format!("{content}\n")).unwrap();
    }

    /// CPU `cpu` with its topology files.
    pub fn cpu(root: &Path, cpu: usize, core_id: usize, package: usize, siblings: &str) {
        let dir = format!("devices/system/cpu/cpu{cpu}/topology");
        write(root, &format!("{dir}/core_id"), &core_id.to_string());
        write(
            root,
            &format!("{dir}/physical_package_id"),
            &package.to_string(),
        );
        write(root, &format!("{dir}/thread_siblings_list"), siblings);
    }
}

#[cfg(test)]
mod tests {
    use super::fixture::{cpu, write};
    use super::*;

    fn cpus(placements: &[Placement]) -> Vec<usize> {
        placements.iter().map(|p| p.cpu).collect()
    }

    /// 4 CPUs, 2 cores x 2 threads, numbered the way Intel numbers them: 0 and 2 share
    /// core 0, 1 and 3 share core 1.
    fn smt_machine(root: &Path) {
        write(root, "devices/system/cpu/online", "0-3");
        cpu(root, 0, 0, 0, "0,2");
        cpu(root, 1, 1, 0, "1,3");
        cpu(root, 2, 0, 0, "0,2");
        cpu(root, 3, 1, 0, "1,3");
        for c in 0..4 {
            let dir = format!("devices/system/cpu/cpu{c}/cpufreq");
            write(root, &format!("{dir}/scaling_governor"), "performance");
            write(
                root,
                &format!("{dir}/scaling_cur_freq"),
                &(3_000_000 + c * 100_000).to_string(),
            );
            write(root, &format!("{dir}/cpuinfo_max_freq"), "3600000");
        }
    }

    #[test]
    fn smt_siblings_come_after_every_physical_core() {
        let dir = tempfile::tempdir().unwrap();
        smt_machine(dir.path());
        let topo = Topology::read(dir.path()).unwrap();
        assert_eq!(topo.cpus[2].siblings, vec![0, 2]);
        assert_eq!(cpus(&topo.placement(1)), vec![0]);
        assert_eq!(cpus(&topo.placement(2)), vec![0, 1]);
        assert_eq!(cpus(&topo.placement(4)), vec![0, 1, 2, 3]);
        assert_eq!(
            topo.placement(3)[2],
            Placement {
                cpu: 2,
                core_id: 0,
                package: 0,
                numa_node: 0
            }
        );
        // Oversubscribed: the same order again.
        assert_eq!(cpus(&topo.placement(6)), vec![0, 1, 2, 3, 0, 1]);
        assert_eq!(
            topo.describe(),
            TopologySummary {
                cpus: 4,
                physical_cores: 2,
                packages: 1,
                numa_nodes: 1,
                smt: true,
                governor: Some("performance".to_string()),
                cur_freq_mhz: Some(3150.0),
                max_freq_mhz: Some(3600.0),
            }
        );
    }

    /// 2 packages x 2 cores, no SMT, one NUMA node per package; core ids restart in each
    /// package, as they do on real two-socket machines.
    #[test]
    fn fills_one_package_then_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "devices/system/cpu/online", "0-3");
        cpu(root, 0, 0, 0, "0");
        cpu(root, 1, 0, 1, "1");
        cpu(root, 2, 1, 0, "2");
        cpu(root, 3, 1, 1, "3");
        write(root, "devices/system/node/node0/cpulist", "0,2");
        write(root, "devices/system/node/node1/cpulist", "1,3");
        write(root, "devices/system/node/online", "0-1");
        let topo = Topology::read(root).unwrap();
        let placed = topo.placement(4);
        assert_eq!(cpus(&placed), vec![0, 2, 1, 3]);
        assert_eq!(
            placed.iter().map(|p| p.numa_node).collect::<Vec<_>>(),
            vec![0, 0, 1, 1]
        );
        let summary = topo.describe();
        assert_eq!(
            (summary.physical_cores, summary.packages, summary.numa_nodes),
            (4, 2, 2)
        );
        assert!(!summary.smt);
        assert_eq!(summary.governor, None);
        assert_eq!(summary.cur_freq_mhz, None);
    }

    #[test]
    fn without_topology_files_every_cpu_is_its_own_core() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "devices/system/cpu/online", "0-2");
        let topo = Topology::read(dir.path()).unwrap();
        assert_eq!(cpus(&topo.placement(3)), vec![0, 1, 2]);
        assert!(topo.cpus.iter().all(|c| c.package == 0 && c.numa_node == 0));
        let summary = topo.describe();
        assert_eq!((summary.cpus, summary.physical_cores), (3, 3));
        assert!(!summary.smt);
    }

    #[test]
    fn without_sibling_lists_core_ids_group_the_threads() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "devices/system/cpu/online", "0-3");
        for (c, core) in [(0, 0), (1, 0), (2, 1), (3, 1)] {
            let d = format!("devices/system/cpu/cpu{c}/topology");
            write(root, &format!("{d}/core_id"), &core.to_string());
        }
        let topo = Topology::read(root).unwrap();
        assert_eq!(cpus(&topo.placement(4)), vec![0, 2, 1, 3]);
    }

    #[test]
    fn offline_siblings_are_not_placed() {
        let dir = tempfile::tempdir().unwrap();
        smt_machine(dir.path());
        write(dir.path(), "devices/system/cpu/online", "0-2");
        let topo = Topology::read(dir.path()).unwrap();
        assert_eq!(cpus(&topo.placement(3)), vec![0, 1, 2]);
        assert_eq!(topo.cpus[1].siblings, vec![1]);
    }

    #[test]
    fn without_an_online_list_the_cpu_folders_count() {
        let dir = tempfile::tempdir().unwrap();
        for c in [0, 1, 10] {
            fs::create_dir_all(dir.path().join(format!("devices/system/cpu/cpu{c}"))).unwrap();
        }
        fs::create_dir_all(dir.path().join("devices/system/cpu/cpufreq")).unwrap();
        let topo = Topology::read(dir.path()).unwrap();
        assert_eq!(cpus(&topo.placement(3)), vec![0, 1, 10]);
    }

    #[test]
    fn no_cpu_at_all_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = Topology::read(dir.path()).unwrap_err();
        assert!(err.to_string().contains("no online CPU"), "{err}");
        assert!(Topology { cpus: Vec::new() }.placement(2).is_empty());
    }

    /// This machine's own /sys: whatever it holds, it reads and places.
    #[test]
    fn reads_the_real_sysfs() {
        let topo = Topology::read(Path::new("/sys")).unwrap();
        let summary = topo.describe();
        assert!(summary.cpus >= 1 && summary.physical_cores >= 1);
        assert_eq!(topo.placement(summary.cpus).len(), summary.cpus);
    }
}
