//! A small terminal chart of total throughput against the container count, with the ideal
//! (N x the 1-container figure) beside it, for a study's last lines on the terminal.

use crate::report::model::Report;

/// Rows of the plotting area.
const ROWS: usize = 10;
/// Characters between two container counts.
const COLUMN_GAP: usize = 6;
/// Width of the value labels left of the axis.
const LABEL_WIDTH: usize = 8;

/// The chart, ending with a newline: one column per container count (equally spaced, so
/// 1, 2, 4, 8 read as doubling steps), `*` for the measured mean total, `.` for the ideal
/// line drawn between counts, `#` where they meet. Empty when the study has no step.
pub fn render_ascii(report: &Report) -> String {
    let aggregates = &report.steps;
    if aggregates.is_empty() {
        return String::new();
    }
    let base = report.baseline.as_ref().map(|b| b.pages_per_sec);
    let ideal: Vec<Option<f64>> = aggregates
        .iter()
        .map(|a| base.map(|b| a.containers as f64 * b))
        .collect();
    let top = aggregates
        .iter()
        .map(|a| a.total_pages_per_sec)
        .chain(ideal.iter().flatten().copied())
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    let top = if top > 0.0 { top } else { 1.0 };
    let row_of = |v: f64| {
        ((v / top) * (ROWS - 1) as f64)
            .round()
            .clamp(0.0, (ROWS - 1) as f64) as usize
    };

    let width = (aggregates.len() - 1) * COLUMN_GAP + 1;
    // grid[row][col], row 0 at the bottom.
    let mut grid = vec![vec![' '; width]; ROWS];
    for (i, pair) in ideal.windows(2).enumerate() {
        if let [Some(a), Some(b)] = pair {
            for step in 0..=COLUMN_GAP {
                let v = a + (b - a) * step as f64 / COLUMN_GAP as f64;
                grid[row_of(v)][i * COLUMN_GAP + step] = '.';
            }
        }
    }
    if let [Some(only)] = ideal.as_slice() {
        grid[row_of(*only)][0] = '.';
    }
    for (i, a) in aggregates.iter().enumerate() {
        let cell = &mut grid[row_of(a.total_pages_per_sec)][i * COLUMN_GAP];
        *cell = if *cell == '.' { '#' } else { '*' };
    }

    let mut lines = vec!["pages/s".to_string()];
    for (r, row) in grid.iter().enumerate().rev() {
        let label = match r {
            r if r == ROWS - 1 => format!("{top:.1}"),
            r if r == (ROWS - 1) / 2 => format!("{:.1}", top * r as f64 / (ROWS - 1) as f64),
            _ => String::new(),
        };
        let line: String = row.iter().collect();
        lines.push(
            format!("{label:>LABEL_WIDTH$} | {line}")
                .trim_end()
                .to_string(),
        );
    }
    lines.push(format!(
        "{:>LABEL_WIDTH$} +-{}",
        "0.0",
        "-".repeat(width + 1)
    ));
    let counts: String = aggregates
        .iter()
        .map(|a| format!("{:<COLUMN_GAP$}", a.containers))
        .collect();
    lines.push(format!("{:LABEL_WIDTH$}   {}", "", counts.trim_end()));
    lines.push(format!("{:LABEL_WIDTH$}   containers", ""));
    lines.push(match base {
        Some(b) => format!("* measured   . ideal (N x {b:.1} pages/s)   # both"),
        None => "* measured (no 1-container figure: no ideal line)".to_string(),
    });
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures;

    /// A made-up study: ideal 100, 200, 400 and measured 100, 190, 360 on a 0..400 scale
    /// of 10 rows, at rows round(v / 400 x 9): the solo point meets the ideal (row 2,
    /// `#`), 190 sits at row 4 under the ideal's 200 (row 5), 360 at row 8 under 400
    /// (row 9); between counts the ideal is interpolated every column.
    #[test]
    fn measured_against_ideal() {
        let mut report = fixtures::report_of(&["--scaling-test", "--duration", "60"]);
        report.baseline.as_mut().unwrap().pages_per_sec = 100.0;
        for (step, total) in report.steps.iter_mut().zip([100.0, 190.0, 360.0]) {
            step.total_pages_per_sec = total;
        }
        let expected = "\
pages/s
   400.0 |             .
         |           ..*
         |          .
         |         .
         |       ..
   177.8 |     ..*
         |  ...
         | #
         |
         |
     0.0 +---------------
           1     2     4
           containers
* measured   . ideal (N x 100.0 pages/s)   # both
";
        let chart = render_ascii(&report);
        assert_eq!(chart, expected, "\n{chart}");
    }

    #[test]
    fn no_baseline_no_ideal_line_and_no_step_no_chart() {
        let mut report = fixtures::report();
        report.baseline = None;
        let chart = render_ascii(&report);
        assert!(chart.ends_with("* measured (no 1-container figure: no ideal line)\n"));
        report.steps.clear();
        assert_eq!(render_ascii(&report), "");
    }
}
