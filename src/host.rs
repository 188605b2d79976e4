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
    let memory_bytes = fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| worker::run::kb_field(&info, "MemTotal:"));
    HostInfo {
        hostname: read("/proc/sys/kernel/hostname"),
        cpu_model,
        cores,
        memory_bytes,
        kernel: read("/proc/sys/kernel/osrelease"),
        docker_version: engine.version.clone(),
        docker_api_version: engine.api_version.clone(),
        busy_pct_before_run: None,
        topology: None,
    }
}

/// CPU time used by anything on the machine over `window`, as a percentage of all cores,
/// from /proc/stat. Measured before a run: a busy machine makes every figure lower and
/// noisier, and the report says so.
pub async fn busy_pct(window: std::time::Duration) -> Option<f64> {
    let before = cpu_times()?;
    tokio::time::sleep(window).await;
    let after = cpu_times()?;
    let total = after.0.saturating_sub(before.0);
    let idle = after.1.saturating_sub(before.1);
    (total > 0).then(|| 100.0 * (total - idle) as f64 / total as f64)
}

/// (total, idle) jiffies over all CPUs; idle includes iowait.
fn cpu_times() -> Option<(u64, u64)> {
    let stat = fs::read_to_string("/proc/stat").ok()?;
    parse_cpu_line(stat.lines().next()?)
}

fn parse_cpu_line(line: &str) -> Option<(u64, u64)> {
    let mut fields = line.split_whitespace();
    if fields.next()? != "cpu" {
        return None;
    }
    let values: Vec<u64> = fields.filter_map(|f| f.parse().ok()).collect();
    // user nice system idle iowait irq softirq steal (guest time is inside user).
    let total: u64 = values.iter().take(8).sum();
    let idle = values.get(3)? + values.get(4).unwrap_or(&0);
    Some((total, idle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_line_gives_total_and_idle() {
        let line = "cpu  100 5 50 800 20 3 2 10 7 0";
        assert_eq!(parse_cpu_line(line), Some((990, 820)));
        assert_eq!(parse_cpu_line("cpu0 1 2 3 4"), None);
        assert_eq!(parse_cpu_line("cpu"), None);
    }
}
