//! Efficiency in words, never more certain than its interval: a band is named only when
//! the whole 95% interval lies inside it, a figure is printed with no more digits than
//! the interval allows, and a figure above 100% is explained rather than called perfect.

use super::model::Band;
use super::stats::Estimate;

/// A judged efficiency.
#[derive(Debug, Clone, PartialEq)]
pub struct Judged {
    /// The band the whole interval lies in.
    pub band: Option<Band>,
    pub text: String,
}

/// Band edges, ascending: failed | 50 | poor | 70 | good | 85 | excellent | 95 | perfect.
const EDGES: [f64; 4] = [50.0, 70.0, 85.0, 95.0];

/// Digits after the point that an interval of half-width `half` supports.
pub fn decimals_for(half: f64) -> usize {
    if !(half.is_finite()) || half >= 1.0 {
        0
    } else if half >= 0.1 {
        1
    } else {
        2
    }
}

/// `94% (95% CI 86-102%)`, with the digits the interval supports.
pub fn with_interval(value: f64, ci: Option<(f64, f64)>) -> String {
    match ci {
        Some((lo, hi)) => {
            let d = decimals_for((hi - lo) / 2.0);
            format!("{value:.d$}% (95% CI {lo:.d$}-{hi:.d$}%)")
        }
        None => format!("{value:.0}% (no interval)"),
    }
}

/// The efficiency `e` (percent) of `n` containers, in words.
pub fn judge(e: &Estimate, n: usize) -> Judged {
    let value = e.value;
    let Some((lo, hi)) = e.ci95 else {
        return Judged {
            band: None,
            text: format!(
                "{value:.0}% (no interval: fewer than two rounds were measured, so the noise \
                 of the machine is unknown; measure longer)"
            ),
        };
    };
    let figure = with_interval(value, Some((lo, hi)));
    if value > 100.0 {
        let why = if lo <= 100.0 {
            "above 100% but within noise of it (the interval includes 100%): no sign that \
             the containers lost anything by running together"
                .to_string()
        } else {
            format!(
                "above 100%: {n} containers ran faster than {n} times one alone. That happens \
                 when the solo slots were slowed (see what the loss says about them) or when \
                 running together helps (turbo, a shared cache warmed by the others); it is \
                 not a band"
            )
        };
        return Judged {
            band: None,
            text: format!("{figure}: {why}"),
        };
    }
    let (low_band, high_band) = (Band::of(lo), Band::of(hi));
    if low_band == high_band {
        return Judged {
            band: Some(low_band),
            text: format!("{figure}: {}", low_band.label()),
        };
    }
    // The half-width that would fit the interval into the band of the point estimate.
    let band = Band::of(value);
    let room = EDGES
        .iter()
        .map(|edge| (value - edge).abs())
        .fold(f64::INFINITY, f64::min);
    let target = (room.floor()).clamp(1.0, 10.0);
    let narrower = if band == Band::of(value - room * 0.5) && band == Band::of(value + room * 0.5) {
        format!(
            "a longer run, or --target-precision {target:.0}, would narrow it (the interval \
             shrinks with the square root of the time measured)"
        )
    } else {
        "a longer run, or --target-precision, would narrow it".to_string()
    };
    Judged {
        band: None,
        text: format!(
            "{figure}: between {} and {}; the machine was too noisy to tell. {}",
            low_band.label(),
            high_band.label(),
            capitalize(&narrower)
        ),
    }
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().collect::<String>() + chars.as_str(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn est(value: f64, lo: f64, hi: f64) -> Estimate {
        Estimate {
            value,
            ci95: Some((lo, hi)),
            batches: 6,
        }
    }

    #[test]
    fn a_band_only_when_the_whole_interval_is_in_it() {
        let j = judge(&est(96.4, 95.8, 97.0), 2);
        assert_eq!(j.band, Some(Band::Perfect));
        assert_eq!(j.text, "96.4% (95% CI 95.8-97.0%): perfect");
        let j = judge(&est(96.4, 95.2, 97.6), 2);
        assert_eq!(
            j.text, "96% (95% CI 95-98%): perfect",
            "±1.2 points: no tenths"
        );
        let j = judge(&est(80.0, 72.0, 84.0), 2);
        assert_eq!(j.band, Some(Band::Good));
        let j = judge(&est(94.1, 86.0, 102.0), 2);
        assert_eq!(j.band, None);
        assert!(
            j.text.starts_with(
                "94% (95% CI 86-102%): between excellent and perfect; the machine was too noisy to tell."
            ),
            "{}",
            j.text
        );
        assert!(j.text.contains("--target-precision"), "{}", j.text);
    }

    #[test]
    fn above_100_is_explained_not_labelled() {
        let j = judge(&est(104.2, 98.0, 110.0), 2);
        assert_eq!(j.band, None);
        assert!(j.text.contains("within noise of it"), "{}", j.text);
        let j = judge(&est(120.0, 110.0, 130.0), 4);
        assert_eq!(j.band, None);
        assert!(
            j.text
                .contains("4 containers ran faster than 4 times one alone")
        );
    }

    #[test]
    fn no_interval_no_band() {
        let j = judge(
            &Estimate {
                value: 97.0,
                ci95: None,
                batches: 1,
            },
            2,
        );
        assert_eq!(j.band, None);
        assert!(j.text.contains("no interval"));
    }

    #[test]
    fn digits_follow_the_interval() {
        assert_eq!(
            with_interval(94.1234, Some((86.0, 102.2))),
            "94% (95% CI 86-102%)"
        );
        assert_eq!(
            with_interval(94.1234, Some((93.5, 94.7))),
            "94.1% (95% CI 93.5-94.7%)"
        );
        assert_eq!(
            with_interval(94.1234, Some((94.1, 94.15))),
            "94.12% (95% CI 94.10-94.15%)"
        );
    }
}
