//! `scaling.svg`: total throughput against the container count (with its 95% interval,
//! and the ideal N x 1-container line) above the scaling efficiency in percent (with its
//! interval, and the 100% line).

use anyhow::{Result, anyhow};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::Exporter;
use crate::report::model::{Report, StepResult};

pub const SVG_FILE_NAME: &str = "scaling.svg";

pub struct Svg;

impl Exporter for Svg {
    fn file_name(&self, _report: &Report) -> String {
        SVG_FILE_NAME.to_string()
    }

    fn render(&self, report: &Report, _existing: Option<&[u8]>) -> Result<Vec<u8>> {
        Ok(render_svg(report)?.into_bytes())
    }
}

const SIZE: (u32, u32) = (800, 640);
/// The measured series, in both panels.
const MEASURED: RGBColor = RGBColor(31, 119, 180);
const IDEAL: RGBColor = RGBColor(150, 150, 150);

/// The chart as an SVG document. Fails only if plotters does (it draws into a String).
pub fn render_svg(report: &Report) -> Result<String> {
    let aggregates = &report.steps;
    let baseline = report.baseline.as_ref().map(|b| b.pages_per_sec);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(drawing)?;
        let (top, bottom) = root.split_vertically(SIZE.1 * 3 / 5);
        throughput_panel(&top, aggregates, baseline)?;
        efficiency_panel(&bottom, aggregates)?;
        root.present().map_err(drawing)?;
    }
    Ok(svg)
}

fn drawing(err: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("drawing {SVG_FILE_NAME}: {err}")
}

/// A series of `(containers, value, (low, high))`.
type Points = Vec<(f64, f64, (f64, f64))>;

fn throughput_panel(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    aggregates: &[StepResult],
    baseline: Option<f64>,
) -> Result<()> {
    let points: Points = aggregates
        .iter()
        .map(|a| {
            let n = a.containers as f64;
            let [lo, hi] = a
                .total_pages_per_sec_ci95
                .unwrap_or([a.total_pages_per_sec; 2]);
            (n, a.total_pages_per_sec, (lo, hi))
        })
        .collect();
    let ideal: Vec<(f64, f64)> = baseline
        .map(|b| points.iter().map(|&(n, _, _)| (n, n * b)).collect())
        .unwrap_or_default();
    let y_max = points
        .iter()
        .map(|p| p.2.1)
        .chain(ideal.iter().map(|p| p.1))
        .fold(0.0, f64::max);
    panel(
        area,
        "Total throughput",
        "pages/s",
        &points,
        y_max,
        (!ideal.is_empty()).then_some(("ideal: N x 1 container", ideal)),
        SeriesLabelPosition::UpperLeft,
    )
}

fn efficiency_panel(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    aggregates: &[StepResult],
) -> Result<()> {
    let points: Points = aggregates
        .iter()
        .filter_map(|a| {
            let pct = a.efficiency_pct?;
            let [lo, hi] = a.efficiency_ci95_pct.unwrap_or([pct, pct]);
            Some((a.containers as f64, pct, (lo, hi)))
        })
        .collect();
    let full: Vec<(f64, f64)> = aggregates
        .iter()
        .map(|a| (a.containers as f64, 100.0))
        .collect();
    let y_max = points.iter().map(|p| p.2.1).fold(100.0, f64::max);
    panel(
        area,
        "Scaling efficiency",
        "efficiency %",
        &points,
        y_max,
        (!full.is_empty()).then_some(("100%", full)),
        // Efficiency starts near 100% on the left: keep the legend below it.
        SeriesLabelPosition::LowerLeft,
    )
}

/// One panel: the measured points joined by a line, a vertical bar with caps for each
/// interval, and a grey reference line.
fn panel(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    caption: &str,
    y_desc: &str,
    points: &Points,
    y_max: f64,
    reference: Option<(&str, Vec<(f64, f64)>)>,
    legend: SeriesLabelPosition,
) -> Result<()> {
    let x_max = points.iter().map(|p| p.0).fold(1.0, f64::max) + 1.0;
    let y_max = if y_max.is_finite() && y_max > 0.0 {
        y_max * 1.1
    } else {
        1.0
    };
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 20))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..x_max, 0.0..y_max)
        .map_err(drawing)?;
    // Container counts are whole numbers; at most about 20 labels.
    let x_labels = (x_max as usize + 1).min(20);
    chart
        .configure_mesh()
        .light_line_style(WHITE)
        .x_labels(x_labels)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .x_desc("containers")
        .y_desc(y_desc)
        .draw()
        .map_err(drawing)?;

    if let Some((label, line)) = reference {
        chart
            .draw_series(LineSeries::new(line, IDEAL.stroke_width(2)))
            .map_err(drawing)?
            .label(label)
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], IDEAL.stroke_width(2)));
    }
    chart
        .draw_series(LineSeries::new(
            points.iter().map(|&(x, y, _)| (x, y)),
            MEASURED.stroke_width(2),
        ))
        .map_err(drawing)?
        .label("measured (95% CI)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], MEASURED.stroke_width(2)));
    chart
        .draw_series(PointSeries::<_, _, Circle<_, _>, _>::new(
            points.iter().map(|&(x, y, _)| (x, y)),
            4,
            MEASURED.filled(),
        ))
        .map_err(drawing)?;
    let cap = x_max / 80.0;
    chart
        .draw_series(points.iter().flat_map(|&(x, _, (low, high))| {
            [
                vec![(x, low), (x, high)],
                vec![(x - cap, low), (x + cap, low)],
                vec![(x - cap, high), (x + cap, high)],
            ]
            .map(|path| PathElement::new(path, MEASURED))
        }))
        .map_err(drawing)?;
    chart
        .configure_series_labels()
        .position(legend)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(drawing)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures;

    /// Every tag is closed in order (a small check, not a full XML parser).
    fn assert_well_formed(svg: &str) {
        let mut open: Vec<&str> = Vec::new();
        let mut rest = svg;
        while let Some(start) = rest.find('<') {
            let end = start + rest[start..].find('>').expect("an unterminated tag");
            let tag = &rest[start + 1..end];
            rest = &rest[end + 1..];
            if tag.starts_with('?') || tag.starts_with('!') || tag.ends_with('/') {
                continue;
            }
            let name = |t: &'_ str| -> String {
                t.split(|c: char| c.is_whitespace())
                    .next()
                    .unwrap()
                    .to_string()
            };
            if let Some(closing) = tag.strip_prefix('/') {
                assert_eq!(open.pop().map(name), Some(name(closing)), "unbalanced");
            } else {
                open.push(tag);
            }
        }
        assert!(open.is_empty(), "unclosed: {open:?}");
        assert!(svg.trim_start().starts_with("<svg"), "{}", &svg[..80]);
        assert!(svg.trim_end().ends_with("</svg>"));
    }

    #[test]
    fn two_panels_with_points_bars_and_reference_lines() {
        let svg = render_svg(&fixtures::report_of(&[
            "--scaling-test",
            "--duration",
            "60",
        ]))
        .unwrap();
        assert_well_formed(&svg);
        // Three container counts, one point each in the throughput panel, and the two
        // steps above 1 in the efficiency panel.
        let points = svg
            .split("<circle")
            .skip(1)
            .filter(|rest| rest[..rest.find('>').unwrap()].contains("#1F77B4"))
            .count();
        assert_eq!(points, 5, "{svg}");
        for text in [
            "Total throughput",
            "Scaling efficiency",
            "ideal: N x 1 container",
            "100%",
            "measured (95% CI)",
            "containers",
            "pages/s",
        ] {
            assert!(svg.contains(text), "{text} missing");
        }
    }

    #[test]
    fn a_run_without_steps_still_draws_a_valid_document() {
        let mut report = fixtures::report();
        report.steps.clear();
        report.baseline = None;
        let svg = render_svg(&report).unwrap();
        assert_well_formed(&svg);
        assert!(!svg.contains("<circle"));
    }
}
