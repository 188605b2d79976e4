//! Summary statistics of a series of per-second values: how steady the throughput was and
//! how precisely its mean is known.

use super::model::SampleStats;

/// Two-sided 95% critical values of Student's t by degrees of freedom, as printed in any
/// t table (e.g. NIST/SEMATECH e-Handbook of Statistical Methods §1.3.6.7.2).
const T_95: [(usize, f64); 34] = [
    (1, 12.706),
    (2, 4.303),
    (3, 3.182),
    (4, 2.776),
    (5, 2.571),
    (6, 2.447),
    (7, 2.365),
    (8, 2.306),
    (9, 2.262),
    (10, 2.228),
    (11, 2.201),
    (12, 2.179),
    (13, 2.160),
    (14, 2.145),
    (15, 2.131),
    (16, 2.120),
    (17, 2.110),
    (18, 2.101),
    (19, 2.093),
    (20, 2.086),
    (21, 2.080),
    (22, 2.074),
    (23, 2.069),
    (24, 2.064),
    (25, 2.060),
    (26, 2.056),
    (27, 2.052),
    (28, 2.048),
    (29, 2.045),
    (30, 2.042),
    (40, 2.021),
    (60, 2.000),
    (120, 1.980),
    (1000, 1.962),
];

/// Fewer values than this and quartiles say nothing about what is unusual.
const MIN_FOR_OUTLIERS: usize = 4;

impl SampleStats {
    /// Statistics of `values`; `None` when there are none.
    ///
    /// With a single value there is no spread to measure: `stddev` and `cv_pct` are 0 and
    /// the confidence interval collapses to the value, so readers must look at `n` before
    /// trusting the interval. Outliers are only flagged from four values on. Values are
    /// expected to be finite rates; a NaN would spread into the figures but never panics.
    pub fn from_values(values: &[f64]) -> Option<SampleStats> {
        let n = values.len();
        if n == 0 {
            return None;
        }
        let mean = mean(values);
        let stddev = stddev(values);
        let half_width = if n < 2 {
            0.0
        } else {
            t_critical_95(n - 1) * stddev / (n as f64).sqrt()
        };
        Some(SampleStats {
            n,
            mean,
            median: quantile(&sorted(values), 0.5),
            stddev,
            cv_pct: if mean == 0.0 {
                0.0
            } else {
                stddev / mean.abs() * 100.0
            },
            ci95_low: mean - half_width,
            ci95_high: mean + half_width,
            outliers: tukey_outliers(values),
        })
    }
}

/// Arithmetic mean; 0 for no values.
pub fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.iter().sum::<f64>() / values.len() as f64
}

/// Sample standard deviation (n - 1 in the denominator: the values are a sample of the
/// machine's behaviour, not all of it); 0 for fewer than two values.
pub fn stddev(values: &[f64]) -> f64 {
    let n = values.len();
    if n < 2 {
        return 0.0;
    }
    let mean = mean(values);
    let squares: f64 = values.iter().map(|v| (v - mean).powi(2)).sum();
    (squares / (n - 1) as f64).sqrt()
}

/// The two-sided 95% critical value of Student's t for `df` degrees of freedom. Between
/// rows of the table the smaller `df` is used, which widens the interval slightly rather
/// than overstating precision; from 1000 on it is the normal distribution's ~1.96.
pub fn t_critical_95(df: usize) -> f64 {
    T_95.iter()
        .rev()
        .find(|(row, _)| *row <= df.max(1))
        .map_or(T_95[0].1, |(_, t)| *t)
}

/// Indices of the values outside Tukey's fences, 1.5 interquartile ranges beyond the
/// quartiles (quartiles by linear interpolation, Python's `method="inclusive"`).
pub fn tukey_outliers(values: &[f64]) -> Vec<usize> {
    if values.len() < MIN_FOR_OUTLIERS {
        return Vec::new();
    }
    let sorted = sorted(values);
    let (q1, q3) = (quantile(&sorted, 0.25), quantile(&sorted, 0.75));
    let iqr = q3 - q1;
    let (low, high) = (q1 - 1.5 * iqr, q3 + 1.5 * iqr);
    values
        .iter()
        .enumerate()
        .filter(|(_, v)| **v < low || **v > high)
        .map(|(i, _)| i)
        .collect()
}

fn sorted(values: &[f64]) -> Vec<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted
}

/// The `p` quantile of non-empty sorted values, interpolating linearly between ranks.
fn quantile(sorted: &[f64], p: f64) -> f64 {
    let rank = p * (sorted.len() - 1) as f64;
    let (below, above) = (rank.floor() as usize, rank.ceil() as usize);
    sorted[below] + (sorted[above] - sorted[below]) * (rank - below as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    /// Expected values from Python 3's `statistics` module: mean, median, stdev,
    /// quantiles(n=4, method="inclusive"); the interval as mean ± t·s/√n with t(7) = 2.365.
    #[test]
    fn known_sample() {
        let s =
            SampleStats::from_values(&[10.0, 12.0, 23.0, 23.0, 16.0, 23.0, 21.0, 16.0]).unwrap();
        assert_eq!(s.n, 8);
        assert!(close(s.mean, 18.0));
        assert!(close(s.median, 18.5));
        assert!(close(s.stddev, 5.237229365663818), "{}", s.stddev);
        assert!(close(s.cv_pct, 29.095718698132323), "{}", s.cv_pct);
        assert!(close(s.ci95_low, 13.620870928075831), "{}", s.ci95_low);
        assert!(close(s.ci95_high, 22.37912907192417), "{}", s.ci95_high);
        assert!(s.outliers.is_empty());
    }

    /// Python 3: quartiles (inclusive) 98.25 and 101.75, fences 93 and 107, so 150 and 2
    /// are out; stdev 36.36481816261426, t(9) = 2.262.
    #[test]
    fn outliers_on_both_sides() {
        let values = [
            100.0, 102.0, 98.0, 101.0, 99.0, 150.0, 100.0, 97.0, 103.0, 2.0,
        ];
        let s = SampleStats::from_values(&values).unwrap();
        assert_eq!(s.outliers, vec![5, 9]);
        assert!(close(s.mean, 95.2));
        assert!(close(s.median, 100.0));
        assert!(close(s.stddev, 36.36481816261426));
        assert!(close(s.ci95_low, 69.18798349685285), "{}", s.ci95_low);
        assert!(close(s.ci95_high, 121.21201650314715), "{}", s.ci95_high);
    }

    #[test]
    fn no_values_no_stats() {
        assert_eq!(SampleStats::from_values(&[]), None);
        assert_eq!(mean(&[]), 0.0);
        assert_eq!(stddev(&[]), 0.0);
    }

    #[test]
    fn one_value_has_no_spread_and_no_nan() {
        let s = SampleStats::from_values(&[42.0]).unwrap();
        assert_eq!((s.n, s.mean, s.median), (1, 42.0, 42.0));
        assert_eq!((s.stddev, s.cv_pct), (0.0, 0.0));
        assert_eq!((s.ci95_low, s.ci95_high), (42.0, 42.0));
        assert!(s.outliers.is_empty());
    }

    #[test]
    fn zero_mean_has_zero_cv() {
        let s = SampleStats::from_values(&[0.0, 0.0, 0.0]).unwrap();
        assert_eq!(s.cv_pct, 0.0);
    }

    #[test]
    fn constant_values_are_not_outliers() {
        let s = SampleStats::from_values(&[5.0; 10]).unwrap();
        assert!(s.outliers.is_empty());
        assert_eq!((s.ci95_low, s.ci95_high), (5.0, 5.0));
    }

    #[test]
    fn t_values_from_the_table_and_between_rows() {
        assert_eq!(t_critical_95(0), 12.706);
        assert_eq!(t_critical_95(1), 12.706);
        assert_eq!(t_critical_95(7), 2.365);
        assert_eq!(t_critical_95(30), 2.042);
        // Between 40 and 60: the 40 row, the wider interval.
        assert_eq!(t_critical_95(59), 2.021);
        assert_eq!(t_critical_95(999), 1.980);
        assert_eq!(t_critical_95(usize::MAX), 1.962);
    }

    #[test]
    fn median_of_odd_count_is_the_middle_value() {
        let s = SampleStats::from_values(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!(s.median, 2.0);
    }
}
