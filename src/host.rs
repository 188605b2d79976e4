//! What machine this is, for the report.

use std::fs;

use crate::docker::EngineInfo;
use crate::report::model::HostInfo;

pub fn describe(engine: &EngineInfo, cores: usize) -> HostInfo {
    let read = |path: &str| fs::read_to_string(path).ok().map(|s| s.trim().to_string());
    let cpu_model = fs::read_to_string("/proc/cpuinfo").ok().and_then(|info| {
        info.lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
    });
    let memory_bytes = fs::read_to_string("/proc/meminfo").ok().and_then(|info| {
        let kb = info
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse::<u64>()
            .ok()?;
        Some(kb * 1024)
    });
    HostInfo {
        hostname: read("/proc/sys/kernel/hostname"),
        cpu_model,
        cores,
        memory_bytes,
        kernel: read("/proc/sys/kernel/osrelease"),
        docker_version: engine.version.clone(),
        docker_api_version: engine.api_version.clone(),
    }
}
