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
            // An efficiency is never negative: an interval of a few rounds reaching below
            // 0 is shown from 0 (the results JSON keeps the interval as computed).
            let lo = lo.max(0.0);
            format!("{value:.d$}% (95% CI {lo:.d$}-{hi:.d$}%)")
        }
        None => format!("{value:.0}% (no interval)"),
    }
}

/// Why an efficiency may have no interval, for the words that say so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Against {
    /// Each core's own solo slots of this run.
    SoloSlots,
    /// `--baseline FILE`: an earlier run's figure.
    File {
        /// The file's figure came with an interval.
        with_interval: bool,
    },
}

/// The efficiency `e` (percent) of `n` containers, measured against `against`, in words.
pub fn judge(e: &Estimate, n: usize, against: Against) -> Judged {
    let value = e.value;
    let file_caveat = match against {
        Against::File { .. } => {
            " (against --baseline: the interval leaves out how the machine drifted between \
             that run and this one)"
        }
        Against::SoloSlots => "",
    };
    let Some((lo, hi)) = e.ci95 else {
        let why = match against {
            Against::File {
                with_interval: false,
            } => "the --baseline file gives its figure without one",
            _ => {
                "fewer than two rounds were measured, so the noise of the machine is \
                 unknown; measure longer"
            }
        };
        let above = if value > 100.0 {
            format!(
                ": above 100%, which is not a band: {n} containers did more than {n} times \
                 one alone, or the figure is noise"
            )
        } else {
            String::new()
        };
        return Judged {
            band: None,
            text: format!("{value:.0}% (no interval: {why}){above}{file_caveat}"),
        };
    };
    let figure = with_interval(value, Some((lo, hi)));
    let (low_band, high_band) = (Band::of(lo), Band::of(hi));
    // Above 100% as printed: 100.2% of an interval of ±9 points is shown as "100%", and
    // is not called above it.
    let scale = 10f64.powi(decimals_for((hi - lo) / 2.0) as i32);
    if (value * scale).round() / scale > 100.0 {
        let why = if lo > 100.0 {
            format!(
                "above 100%: {n} containers ran faster than {n} times one alone. That happens \
                 when the solo slots were slowed (see what the loss says about them) or when \
                 running together helps (turbo, a shared cache warmed by the others); it is \
                 not a band"
            )
        } else if low_band == Band::Perfect {
            "above 100% but within noise of it (the interval includes 100%): no sign that \
             the containers lost anything by running together"
                .to_string()
        } else {
            format!(
                "above 100%, but the interval reaches down to {}; the machine was too noisy \
                 to tell. {}",
                low_band.label(),
                capitalize(&narrower(value, lo))
            )
        };
        return Judged {
            band: None,
            text: format!("{figure}: {why}{file_caveat}"),
        };
    }
    if low_band == high_band {
        return Judged {
            band: Some(low_band),
            text: format!("{figure}: {}{file_caveat}", low_band.label()),
        };
    }
    Judged {
        band: None,
        text: format!(
            "{figure}: between {} and {}; the machine was too noisy to tell. {}{file_caveat}",
            low_band.label(),
            high_band.label(),
            capitalize(&narrower(value, value))
        ),
    }
}

/// What would narrow an interval enough to name the band of `value`: the half-width that
/// fits within the distance from `value` to the nearest band edge (from `from` for a
/// figure above 100%, whose edge that matters is 95%).
fn narrower(value: f64, from: f64) -> String {
    let room = if value > 100.0 {
        value - EDGES[3]
    } else {
        EDGES
            .iter()
            .map(|edge| (from - edge).abs())
            .fold(f64::INFINITY, f64::min)
    };
    // Below 2 points, a target asks for more than slots on a noisy machine can promise
    // (the slot length's own bias is of that order: see the README).
    if room >= 2.0 {
        format!(
            "a longer run, or --target-precision {:.0}, would narrow it (the interval shrinks \
             with the square root of the time measured)",
            room.floor().min(10.0)
        )
    } else {
        "a longer run would narrow it, though the figure lies within 2 points of a band's \
         edge, so its band may stay out of reach"
            .to_string()
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
        let j = judge(&est(96.4, 95.8, 97.0), 2, Against::SoloSlots);
        assert_eq!(j.band, Some(Band::Perfect));
        assert_eq!(j.text, "96.4% (95% CI 95.8-97.0%): perfect");
        let j = judge(&est(96.4, 95.2, 97.6), 2, Against::SoloSlots);
        assert_eq!(
            j.text, "96% (95% CI 95-98%): perfect",
            "±1.2 points: no tenths"
        );
        let j = judge(&est(80.0, 72.0, 84.0), 2, Against::SoloSlots);
        assert_eq!(j.band, Some(Band::Good));
        let j = judge(&est(94.1, 86.0, 102.0), 2, Against::SoloSlots);
        assert_eq!(j.band, None);
        assert!(
            j.text.starts_with(
                "94% (95% CI 86-102%): between excellent and perfect; the machine was too noisy to tell."
            ),
            "{}",
            j.text
        );
        // 0.9 points from the edge at 95: no precision would surely name a band.
        assert!(j.text.contains("may stay out of reach"), "{}", j.text);
    }

    #[test]
    fn above_100_is_explained_not_labelled() {
        let j = judge(&est(104.2, 98.0, 110.0), 2, Against::SoloSlots);
        assert_eq!(j.band, None);
        assert!(j.text.contains("within noise of it"), "{}", j.text);
        let j = judge(&est(120.0, 110.0, 130.0), 4, Against::SoloSlots);
        assert_eq!(j.band, None);
        assert!(
            j.text
                .contains("4 containers ran faster than 4 times one alone")
        );
        // Above 100%, but an interval reaching down into another band: too noisy to
        // tell, not "no sign of a loss".
        let j = judge(&est(104.0, 80.0, 128.0), 2, Against::SoloSlots);
        assert_eq!(j.band, None);
        assert!(
            j.text.contains("the interval reaches down to good")
                && j.text.contains("too noisy")
                && !j.text.contains("no sign"),
            "{}",
            j.text
        );
        assert!(j.text.contains("--target-precision 9"), "{}", j.text);
    }

    #[test]
    fn no_interval_no_band_and_the_reason() {
        let none = |value| Estimate {
            value,
            ci95: None,
            batches: 1,
        };
        let j = judge(&none(97.0), 2, Against::SoloSlots);
        assert_eq!(j.band, None);
        assert!(
            j.text
                .starts_with("97% (no interval: fewer than two rounds were measured"),
            "{}",
            j.text
        );
        // A --baseline file without an interval: that is the reason, and a figure above
        // 100% is still explained.
        let j = judge(
            &none(121.0),
            2,
            Against::File {
                with_interval: false,
            },
        );
        assert_eq!(j.band, None);
        assert!(
            j.text.starts_with(
                "121% (no interval: the --baseline file gives its figure without one): above 100%"
            ),
            "{}",
            j.text
        );
        assert!(j.text.contains("drifted between that run and this one"));
    }

    #[test]
    fn a_figure_printed_as_100_is_not_called_above_it() {
        let j = judge(&est(100.2, 91.0, 109.4), 2, Against::SoloSlots);
        assert!(
            j.text
                .starts_with("100% (95% CI 91-109%): between excellent and perfect"),
            "{}",
            j.text
        );
    }

    #[test]
    fn a_figure_on_a_band_edge_is_not_promised_a_band() {
        let j = judge(&est(95.3, 88.0, 102.6), 2, Against::SoloSlots);
        assert!(j.text.contains("may stay out of reach"), "{}", j.text);
        // 1.8 points from 85%: no target below 2 points is offered.
        let j = judge(&est(86.8, 77.0, 96.0), 2, Against::SoloSlots);
        assert!(
            j.text.contains("may stay out of reach") && !j.text.contains("--target-precision"),
            "{}",
            j.text
        );
        let j = judge(&est(90.0, 82.0, 98.0), 2, Against::SoloSlots);
        assert!(j.text.contains("--target-precision 5"), "{}", j.text);
    }

    #[test]
    fn digits_follow_the_interval() {
        assert_eq!(
            with_interval(88.0, Some((-18.0, 194.0))),
            "88% (95% CI 0-194%)"
        );
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
