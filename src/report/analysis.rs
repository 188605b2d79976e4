//! From what the workers reported to the figures of a run: throughput per second, total
//! throughput, start skew and scaling efficiency.

use super::model::{ContainerResult, RunResult, Sample, SampleStats, Totals};

/// A word for a scaling efficiency, so a reader need not know what "87%" means.
///
/// Bands: 95 and above perfect (super-linear results included), 85 excellent, 70 good,
/// 50 poor, below 50 (or not a number) failed.
pub fn efficiency_label(pct: f64) -> &'static str {
    match pct {
        p if p >= 95.0 => "perfect",
        p if p >= 85.0 => "excellent",
        p if p >= 70.0 => "good",
        p if p >= 50.0 => "poor",
        _ => "failed",
    }
}

/// Pages per second over each interval between consecutive cumulative samples, the first
/// interval measured from the start of the window (elapsed 0, pages 0).
///
/// A sample that does not move time forward (a repeated or reordered line) is folded into
/// the next interval instead of producing an infinite or negative rate.
pub fn per_second_rates(samples: &[Sample]) -> Vec<f64> {
    let mut rates = Vec::with_capacity(samples.len());
    let (mut last_s, mut last_pages) = (0.0, 0);
    for sample in samples {
        let dt = sample.elapsed_s - last_s;
        if dt <= 0.0 || !dt.is_finite() {
            continue;
        }
        rates.push(sample.pages.saturating_sub(last_pages) as f64 / dt);
        (last_s, last_pages) = (sample.elapsed_s, sample.pages);
    }
    rates
}

/// The machine's total pages/sec in each interval: the sum across containers of their
/// k-th interval rate. The windows open together (one go instant for all workers), so
/// intervals are aligned by index; the series stops at the shortest container's.
pub fn total_throughput_series(containers: &[ContainerResult]) -> Vec<f64> {
    let per_container: Vec<Vec<f64>> = containers
        .iter()
        .map(|c| per_second_rates(&c.samples))
        .collect();
    let len = per_container.iter().map(Vec::len).min().unwrap_or(0);
    (0..len)
        .map(|k| per_container.iter().map(|rates| rates[k]).sum())
        .collect()
}

/// Latest window start minus earliest, in milliseconds, among the containers that reported
/// one; `None` when none did. A large skew means the containers did not really run
/// together and the total overstates the concurrent throughput.
pub fn start_skew_ms(containers: &[ContainerResult]) -> Option<f64> {
    let starts = containers.iter().filter_map(|c| c.window_start_unix_ns);
    let (min, max) = starts.fold(None, |acc, t| match acc {
        None => Some((t, t)),
        Some((lo, hi)) => Some((lo.min(t), hi.max(t))),
    })?;
    Some((max - min) as f64 / 1e6)
}

/// How close `n` containers came to `n` times one container's throughput, in percent;
/// `None` when there is nothing meaningful to divide by.
pub fn scaling_efficiency_pct(total_pps: f64, n: usize, baseline_pps: f64) -> Option<f64> {
    let ideal = n as f64 * baseline_pps;
    (ideal > 0.0 && ideal.is_finite() && total_pps.is_finite()).then(|| total_pps / ideal * 100.0)
}

/// Fills every derived figure of `result` from its containers and baseline: totals,
/// total and average pages/sec, start skew, scaling efficiency with its label, and the
/// statistics of the total throughput per interval. Idempotent.
///
/// Only containers whose status is `ok` (they delivered their result) count towards the
/// figures; the others keep their partial samples in the JSON. When any container failed,
/// no efficiency is given: N containers did not run together for the whole window.
pub fn finish(result: &mut RunResult) {
    let ok: Vec<ContainerResult> = result
        .containers
        .iter()
        .filter(|c| c.status == "ok")
        .cloned()
        .collect();
    let n = ok.len();
    result.totals = totals(&ok);
    // A fold from +0.0: `Sum` of no f64 is -0.0, which would print as "-0.000".
    result.total_pages_per_sec = ok.iter().fold(0.0, |sum, c| sum + c.pages_per_sec);
    result.avg_pages_per_sec_per_container = if n == 0 {
        0.0
    } else {
        result.total_pages_per_sec / n as f64
    };
    result.start_skew_ms = start_skew_ms(&result.containers);
    let all_ok = n > 0 && n == result.containers.len();
    result.scaling_efficiency_pct = result
        .baseline
        .as_ref()
        .filter(|_| all_ok)
        .and_then(|b| scaling_efficiency_pct(result.total_pages_per_sec, n, b.pages_per_sec));
    result.efficiency_label = result
        .scaling_efficiency_pct
        .map(|pct| efficiency_label(pct).to_string());
    result.throughput_stats = SampleStats::from_values(&total_throughput_series(&ok));
}

fn totals(containers: &[ContainerResult]) -> Totals {
    containers.iter().fold(Totals::default(), |t, c| Totals {
        pages: t.pages + c.pages,
        files: t.files + c.files,
        errors: t.errors + c.errors,
        skipped: t.skipped + c.skipped,
        chars: t.chars + c.chars,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::{container, run, sample};

    #[test]
    fn labels_follow_the_bands() {
        let cases = [
            (120.0, "perfect"),
            (95.0, "perfect"),
            (94.9, "excellent"),
            (85.0, "excellent"),
            (84.9, "good"),
            (70.0, "good"),
            (69.9, "poor"),
            (50.0, "poor"),
            (49.9, "failed"),
            (0.0, "failed"),
            (f64::NAN, "failed"),
        ];
        for (pct, label) in cases {
            assert_eq!(efficiency_label(pct), label, "{pct}");
        }
    }

    #[test]
    fn rates_start_from_zero_and_use_each_interval() {
        let samples = [sample(1.0, 50), sample(2.0, 110), sample(4.0, 150)];
        assert_eq!(per_second_rates(&samples), vec![50.0, 60.0, 20.0]);
        assert!(per_second_rates(&[]).is_empty());
    }

    #[test]
    fn a_sample_that_does_not_advance_time_is_folded_into_the_next() {
        let samples = [sample(1.0, 50), sample(1.0, 60), sample(2.0, 100)];
        assert_eq!(per_second_rates(&samples), vec![50.0, 50.0]);
    }

    #[test]
    fn total_series_sums_by_index_and_stops_at_the_shortest() {
        let a = container(
            0,
            0.0,
            vec![sample(1.0, 10), sample(2.0, 30), sample(3.0, 60)],
        );
        let b = container(1, 0.0, vec![sample(1.0, 5), sample(2.0, 10)]);
        assert_eq!(total_throughput_series(&[a, b]), vec![15.0, 25.0]);
        assert!(total_throughput_series(&[]).is_empty());
    }

    #[test]
    fn skew_ignores_containers_without_a_start() {
        let mut cs = vec![container(0, 0.0, vec![]), container(4, 0.0, vec![])];
        assert_eq!(start_skew_ms(&cs), Some(5.0));
        cs[1].window_start_unix_ns = None;
        assert_eq!(start_skew_ms(&cs), Some(0.0));
        cs[0].window_start_unix_ns = None;
        assert_eq!(start_skew_ms(&cs), None);
    }

    #[test]
    fn efficiency_against_the_baseline() {
        assert_eq!(scaling_efficiency_pct(380.0, 4, 100.0), Some(95.0));
        assert_eq!(scaling_efficiency_pct(380.0, 0, 100.0), None);
        assert_eq!(scaling_efficiency_pct(380.0, 4, 0.0), None);
        assert_eq!(scaling_efficiency_pct(f64::NAN, 4, 100.0), None);
    }

    #[test]
    fn finish_fills_every_derived_figure() {
        let mut result = run();
        finish(&mut result);
        assert_eq!(result.totals.pages, 570);
        assert_eq!(result.totals.files, 56);
        assert_eq!(result.totals.errors, 1);
        assert_eq!(result.totals.chars, 570_000);
        assert_eq!(result.total_pages_per_sec, 190.0);
        assert_eq!(result.avg_pages_per_sec_per_container, 95.0);
        assert_eq!(result.start_skew_ms, Some(1.25));
        assert_eq!(result.scaling_efficiency_pct, Some(95.0));
        assert_eq!(result.efficiency_label.as_deref(), Some("perfect"));
        // Per-interval totals: 95+90, 97+96, 96+96.
        let stats = result.throughput_stats.clone().unwrap();
        assert_eq!(stats.n, 3);
        assert_eq!(stats.mean, 190.0);
        assert_eq!(stats.median, 192.0);

        let again = result.clone();
        finish(&mut result);
        assert_eq!(result, again);
    }

    #[test]
    fn finish_without_baseline_or_containers() {
        let mut result = run();
        result.baseline = None;
        result.containers.clear();
        finish(&mut result);
        assert_eq!(result.avg_pages_per_sec_per_container, 0.0);
        assert_eq!(result.scaling_efficiency_pct, None);
        assert_eq!(result.efficiency_label, None);
        assert_eq!(result.start_skew_ms, None);
        assert_eq!(result.throughput_stats, None);
    }

    #[test]
    fn a_failed_container_counts_for_nothing_and_voids_the_efficiency() {
        let mut result = run();
        result.containers[1].status = "oom_killed".to_string();
        finish(&mut result);
        // Only bench-0 (96 pages/sec, 288 pages) counts.
        assert_eq!(result.total_pages_per_sec, 96.0);
        assert_eq!(result.totals.pages, 288);
        assert_eq!(result.avg_pages_per_sec_per_container, 96.0);
        assert_eq!(
            result.scaling_efficiency_pct, None,
            "N containers did not all run"
        );
        assert_eq!(result.throughput_stats.unwrap().mean, 96.0);
        // The skew still describes every window that opened.
        assert_eq!(result.start_skew_ms, Some(1.25));
    }
}
