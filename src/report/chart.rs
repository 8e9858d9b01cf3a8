//! The trend charts of the audit report (`ecaudit report --history`): inline SVG drawn by the
//! binary from [`Trends`], so the report stays one self-contained file.
//!
//! The charts carry their own presentation attributes (no stylesheet needed, no inline `style`
//! the page's Content-Security-Policy would refuse, no `url(…)` reference) and tell series apart
//! by shade, stripes, position and labels as well as colour, so they read printed in black and
//! white. One column per night read, oldest left; a night with coverage gaps sits on a hatched
//! band under a dark strip (its counts miss what it could not read, so a drop there is not an
//! improvement) and its marks are faded or dashed; a night whose rule pack changed has a dashed
//! line and a triangle. Each night has an invisible column carrying its figures as `data-*`
//! attributes and a `<title>` (the tooltip); the per-night table beside the charts is the
//! accessible equivalent.

use std::fmt::Write as _;

use serde::Serialize;

use crate::history::trend::{Night, Trends};
use crate::rules::Severity;

/// The charts, each a complete `<svg>` element (every label escaped). Empty strings when the
/// history has no night.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Charts {
    /// Failing findings per night, stacked by severity.
    pub failing: String,
    /// Pass rate per night.
    pub pass_rate: String,
    /// Introduced and resolved per night.
    pub flow: String,
}

/// The charts of `trends`.
pub fn charts(trends: &Trends) -> Charts {
    if trends.nights.is_empty() {
        return Charts::default();
    }
    let frame = Frame::new(&trends.nights);
    Charts {
        failing: failing(&frame),
        pass_rate: pass_rate(&frame),
        flow: flow(&frame),
    }
}

// The drawing: a 720 × 250 view box; the plot between L and R, T and B.
const W: f64 = 720.0;
const H: f64 = 250.0;
const L: f64 = 56.0;
const R: f64 = 708.0;
const T: f64 = 22.0;
const B: f64 = 180.0;
/// At most this many dates on the x axis, whatever the number of nights.
const X_LABELS: usize = 8;
/// Nights up to this many get a dot per pass rate; beyond, only the line (and gap nights).
const DOTS: usize = 60;

const INK: &str = "#1c2430";
const GRID: &str = "#d9dee5";
const ACCENT: &str = "#1f4e8c";
const GAP_STRIP: &str = "#37474f";

/// How a series of bars is painted: a colour, and a dash pattern that stripes its bars.
struct Paint {
    colour: &'static str,
    dash: Option<&'static str>,
}

impl Paint {
    const fn solid(colour: &'static str) -> Self {
        Paint { colour, dash: None }
    }

    const fn striped(colour: &'static str, dash: &'static str) -> Self {
        Paint {
            colour,
            dash: Some(dash),
        }
    }

    /// `stroke` and, when striped, `stroke-dasharray` attributes.
    fn stroke(&self) -> String {
        let mut s = format!(" stroke=\"{}\"", self.colour);
        if let Some(dash) = self.dash {
            let _ = write!(s, " stroke-dasharray=\"{dash}\"");
        }
        s
    }
}

/// Stacked from the bottom, darkest first, every other one striped: the order, the shade and
/// the stripes tell severities apart without colour.
static STACK: [(Severity, Paint); 5] = [
    (Severity::Critical, Paint::solid("#4a148c")),
    (Severity::High, Paint::striped("#c62828", "4 1.5")),
    (Severity::Medium, Paint::solid("#ef6c00")),
    (Severity::Low, Paint::striped("#f9a825", "1.5 1.5")),
    (Severity::Info, Paint::solid("#cfd8dc")),
];

static INTRODUCED: Paint = Paint::solid("#c62828");
static RESOLVED: Paint = Paint::solid("#a5d6a7");

/// A coordinate with at most one decimal, without a trailing `.0`.
fn c(v: f64) -> String {
    let v = (v * 10.0).round() / 10.0;
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// Text from files (stamps, rule packs, account/region units) as SVG text or attribute value:
/// invisible characters shown as escapes, markup escaped, line breaks as references.
fn esc(s: &str) -> String {
    minijinja::HtmlEscape(&crate::text::markup(s))
        .to_string()
        .replace('\n', "&#10;")
        .replace('\r', "&#13;")
}

fn date(n: &Night) -> String {
    n.evaluated_at.format("%Y-%m-%d").to_string()
}

/// A tick step of 1, 2 or 5 × 10ⁿ (at least 1: counts are whole) giving about `ticks` ticks up
/// to `max`.
fn nice_step(max: usize, ticks: usize) -> usize {
    let raw = (max as f64 / ticks as f64).max(1.0);
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    (step.round() as usize).max(1)
}

/// `max` rounded up to a multiple of `step`, at least one step.
fn ceil_to(max: usize, step: usize) -> usize {
    max.div_ceil(step).max(1) * step
}

/// Where the nights go along the x axis, and what every chart draws around its marks.
struct Frame<'a> {
    nights: &'a [Night],
    /// Width of one night's column.
    band: f64,
    /// Width of a bar in that column.
    bar: f64,
    /// The first and last night of each run of nights with coverage gaps.
    gap_runs: Vec<(usize, usize)>,
}

impl<'a> Frame<'a> {
    fn new(nights: &'a [Night]) -> Self {
        let band = (R - L) / nights.len() as f64;
        let mut gap_runs: Vec<(usize, usize)> = Vec::new();
        for (i, n) in nights.iter().enumerate() {
            if n.gaps == 0 {
                continue;
            }
            match gap_runs.last_mut() {
                Some((_, end)) if *end + 1 == i => *end = i,
                _ => gap_runs.push((i, i)),
            }
        }
        Frame {
            nights,
            band,
            bar: (band * 0.78).min(32.0),
            gap_runs,
        }
    }

    /// Left edge of night `i`'s column.
    fn x(&self, i: usize) -> f64 {
        L + i as f64 * self.band
    }

    /// Centre of night `i`'s column.
    fn cx(&self, i: usize) -> f64 {
        self.x(i) + self.band / 2.0
    }

    fn span(&self) -> String {
        let (first, last) = (&self.nights[0], &self.nights[self.nights.len() - 1]);
        match self.nights.len() {
            1 => format!("{} (1 night)", date(first)),
            n => format!("{} to {} ({n} nights)", date(first), date(last)),
        }
    }

    /// `<svg>` with its accessible name.
    fn open(&self, out: &mut String, id: &str, what: &str) {
        let label = esc(&format!("{what}, {}", self.span()));
        let _ = write!(
            out,
            "<svg class=\"trend\" id=\"trend-{id}\" viewBox=\"0 0 {W} {H}\" width=\"{W}\" height=\"{H}\" role=\"img\" aria-label=\"{label}\" font-family=\"sans-serif\" font-size=\"10\" fill=\"{INK}\"><title>{label}</title>"
        );
    }

    /// Behind the marks: a hatched band over each run of gap nights, a dark strip above it.
    fn gap_bands(&self, out: &mut String) {
        if self.gap_runs.is_empty() {
            return;
        }
        let mut bands = String::new();
        let mut strips = String::new();
        let mut hatch = String::new();
        for &(first, last) in &self.gap_runs {
            let (x0, x1) = (self.x(first), self.x(last + 1));
            let w = x1 - x0;
            let _ = write!(bands, "M{} {}h{}V{}H{}z", c(x0), c(T), c(w), c(B), c(x0));
            let _ = write!(strips, "M{} {}h{}v4H{}z", c(x0), c(T - 6.0), c(w), c(x0));
            // A band too narrow to show hatching is the shade and the strip alone.
            if w >= 4.0 {
                hatch_lines(&mut hatch, x0, T, w, B - T, 6.0);
            }
        }
        let _ = write!(
            out,
            "<g class=\"gaps\"><path fill=\"#90a4ae\" fill-opacity=\".22\" d=\"{bands}\"/>"
        );
        if !hatch.is_empty() {
            let _ = write!(
                out,
                "<path fill=\"none\" stroke=\"#607d8b\" stroke-width=\".6\" d=\"{hatch}\"/>"
            );
        }
        let _ = write!(out, "<path fill=\"{GAP_STRIP}\" d=\"{strips}\"/></g>");
    }

    /// Horizontal grid lines and labelled ticks at `ticks` (value, label), and the axis title.
    fn y_axis(&self, out: &mut String, ticks: &[(f64, String)], title: &str) {
        let mut grid = String::new();
        let mut labels = String::new();
        for (y, label) in ticks {
            let _ = write!(grid, "M{} {}H{}", c(L - 4.0), c(*y), c(R));
            let _ = write!(
                labels,
                "<text x=\"{}\" y=\"{}\">{}</text>",
                c(L - 6.0),
                c(y + 3.5),
                esc(label)
            );
        }
        let _ = write!(
            out,
            "<path class=\"grid\" fill=\"none\" stroke=\"{GRID}\" stroke-width=\".8\" d=\"{grid}\"/><g text-anchor=\"end\">{labels}</g><text transform=\"translate(14 {}) rotate(-90)\" text-anchor=\"middle\">{}</text>",
            c((T + B) / 2.0),
            esc(title)
        );
    }

    /// The x axis: a baseline at `y`, at most [`X_LABELS`] dates with their ticks, the axis
    /// title, and the rule-pack markers.
    fn x_axis(&self, out: &mut String, y: f64) {
        let n = self.nights.len();
        let every = n.div_ceil(X_LABELS).max(1);
        let mut ticks = String::new();
        let mut labels = String::new();
        for i in (0..n).step_by(every) {
            let x = self.cx(i);
            let _ = write!(ticks, "M{} {}v5", c(x), c(B));
            let anchor = if x + 30.0 > W {
                " text-anchor=\"end\""
            } else if x - 30.0 < 0.0 {
                " text-anchor=\"start\""
            } else {
                ""
            };
            let _ = write!(
                labels,
                "<text x=\"{}\" y=\"{}\"{anchor}>{}</text>",
                c(x),
                c(B + 16.0),
                esc(&date(&self.nights[i]))
            );
        }
        let _ = write!(
            out,
            "<path class=\"axis\" fill=\"none\" stroke=\"{INK}\" d=\"M{} {}H{}{ticks}\"/><g text-anchor=\"middle\">{labels}</g><text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#5b6675\">date evaluated (UTC), one column per night read</text>",
            c(L),
            c(y),
            c(R),
            c((L + R) / 2.0),
            c(B + 31.0)
        );
        let mut lines = String::new();
        let mut marks = String::new();
        for (i, night) in self.nights.iter().enumerate() {
            if night.rule_pack_changed {
                let x = self.x(i);
                let _ = write!(lines, "M{} {}V{}", c(x), c(T), c(B));
                let _ = write!(marks, "M{} 5h7l-3.5 6z", c(x - 3.5));
            }
        }
        if !lines.is_empty() {
            let _ = write!(
                out,
                "<g class=\"rule-pack\"><path fill=\"none\" stroke=\"{ACCENT}\" stroke-dasharray=\"3 2\" d=\"{lines}\"/><path fill=\"{ACCENT}\" d=\"{marks}\"/></g>"
            );
        }
    }

    /// One invisible column per night on top of everything: its figures as `data-*`
    /// attributes (`attrs` gives them, escaped, after `data-night`) and its tooltip.
    fn nights(&self, out: &mut String, attrs: impl Fn(&Night) -> String, title: impl Fn(&Night) -> String) {
        out.push_str("<g class=\"nights\" fill=\"#000\" fill-opacity=\"0\">");
        for (i, n) in self.nights.iter().enumerate() {
            let mut tip = format!("{}: {}", date(n), title(n));
            if n.gaps > 0 {
                tip.push_str(&gap_note(n));
            }
            if n.rule_pack_changed {
                let _ = write!(tip, "; rule pack changed to {}", n.rule_pack);
            }
            let _ = write!(
                out,
                "<rect data-night=\"{}\"{}{}{} x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"><title>{}</title></rect>",
                esc(&n.stamp),
                attrs(n),
                if n.gaps > 0 { " data-gap=\"true\"" } else { "" },
                if n.rule_pack_changed {
                    " data-rule-pack-changed=\"true\""
                } else {
                    ""
                },
                c(self.x(i)),
                c(T),
                c(self.band),
                c(B - T),
                esc(&tip)
            );
        }
        out.push_str("</g>");
    }

    /// The legend along the bottom: (swatch markup at x, label) items, then the gap and rule
    /// pack entries when the chart has them.
    fn legend(&self, out: &mut String, items: Vec<(Swatch, &str)>) {
        let mut items = items;
        if !self.gap_runs.is_empty() {
            items.push((Swatch::Gap, "coverage gap: counts incomplete"));
        }
        if self.nights.iter().any(|n| n.rule_pack_changed) {
            items.push((Swatch::RulePack, "rule pack changed"));
        }
        let y = H - 14.0;
        let mut x = L;
        out.push_str("<g class=\"legend\">");
        for (swatch, label) in items {
            swatch.draw(out, x, y - 9.0);
            let _ = write!(
                out,
                "<text x=\"{}\" y=\"{}\">{}</text>",
                c(x + 14.0),
                c(y),
                esc(label)
            );
            x += 14.0 + label.chars().count() as f64 * 5.6 + 16.0;
        }
        out.push_str("</g>");
    }
}

/// 45° lines every `step` across the rectangle (`x`, `y`, `w`, `h`), clipped to it.
fn hatch_lines(out: &mut String, x: f64, y: f64, w: f64, h: f64, step: f64) {
    // A line is where (px − x) + (y + h − py) = t: from the left or bottom edge up to the
    // right or top edge.
    let mut t = step / 2.0;
    while t < w + h {
        let u0 = (t - h).max(0.0);
        let u1 = t.min(w);
        let _ = write!(
            out,
            "M{} {}L{} {}",
            c(x + u0),
            c(y + h - (t - u0)),
            c(x + u1),
            c(y + h - (t - u1))
        );
        t += step;
    }
}

/// A legend entry's mark.
enum Swatch {
    Bar(&'static Paint),
    Line { dashed: bool },
    Dot { hollow: bool },
    Gap,
    RulePack,
}

impl Swatch {
    fn draw(&self, out: &mut String, x: f64, y: f64) {
        let (x, y) = (c(x), c(y));
        let _ = match self {
            Swatch::Bar(paint) => write!(
                out,
                "<g transform=\"translate({x} {y})\"><path d=\"M5 10V0\" fill=\"none\" stroke-width=\"10\"{}/><rect width=\"10\" height=\"10\" fill=\"none\" stroke=\"{INK}\" stroke-width=\".5\"/></g>",
                paint.stroke()
            ),
            Swatch::Line { dashed } => write!(
                out,
                "<path d=\"M{x} {y}m0 5h10\" fill=\"none\" stroke=\"{ACCENT}\" stroke-width=\"1.5\"{}/>",
                if *dashed { " stroke-dasharray=\"3 2\"" } else { "" }
            ),
            Swatch::Dot { hollow } => write!(
                out,
                "<circle cx=\"{x}\" cy=\"{y}\" r=\"2.5\" transform=\"translate(5 5)\" fill=\"{}\" stroke=\"{ACCENT}\"/>",
                if *hollow { "#fff" } else { ACCENT }
            ),
            Swatch::Gap => write!(
                out,
                "<g transform=\"translate({x} {y})\"><rect y=\"3\" width=\"10\" height=\"7\" fill=\"#90a4ae\" fill-opacity=\".22\"/><path d=\"M0 3l7 7M5 3l5 5\" stroke=\"#607d8b\" stroke-width=\".6\"/><rect width=\"10\" height=\"2.5\" fill=\"{GAP_STRIP}\"/></g>"
            ),
            Swatch::RulePack => write!(
                out,
                "<g transform=\"translate({x} {y})\"><path d=\"M1.5 0h7L5 6z\" fill=\"{ACCENT}\"/><path d=\"M5 6v4\" stroke=\"{ACCENT}\" stroke-dasharray=\"2 1\"/></g>"
            ),
        };
    }
}

/// "; coverage gap: …" for a night's tooltip.
fn gap_note(n: &Night) -> String {
    const SHOWN: usize = 3;
    let mut units = n
        .gap_units
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if n.gap_units.len() > SHOWN {
        let _ = write!(units, " and {} more", n.gap_units.len() - SHOWN);
    }
    let mut note = format!("; coverage gap: counts incomplete ({} failed read(s)", n.gaps);
    if !units.is_empty() {
        let _ = write!(note, " in {units}");
    }
    note.push(')');
    note
}

/// Bars drawn as vertical strokes `width` wide (`d` holds one `M x y V y` per bar): those of
/// complete nights, and faded those of nights with gaps.
fn bars(out: &mut String, class: &str, paint: &Paint, width: f64, complete: &str, gaps: &str) {
    for (d, extra) in [(complete, ""), (gaps, " gap\" stroke-opacity=\".45")] {
        if !d.is_empty() {
            let _ = write!(
                out,
                "<path class=\"{class}{extra}\" fill=\"none\"{} stroke-width=\"{}\" d=\"{d}\"/>",
                paint.stroke(),
                c(width)
            );
        }
    }
}

/// Failing findings per night, stacked by severity (critical at the bottom).
fn failing(f: &Frame) -> String {
    let max = f.nights.iter().map(|n| n.failing_total).max().unwrap_or(0);
    let step = nice_step(max, 4);
    let top = ceil_to(max, step);
    let y = |v: usize| B - (B - T) * v as f64 / top as f64;

    let mut out = String::new();
    f.open(&mut out, "failing", "Failing findings per night by severity");
    f.gap_bands(&mut out);
    let ticks: Vec<(f64, String)> = (0..=top / step)
        .map(|k| (y(k * step), (k * step).to_string()))
        .collect();
    f.y_axis(&mut out, &ticks, "failing findings");

    // Per severity, the segments of complete nights and those of nights with gaps (faded).
    let mut paths: [(String, String); 5] = Default::default();
    // Segments are told apart by a sliver of white where bars are wide enough to show it.
    let sliver = if f.bar >= 6.0 { 0.6 } else { 0.0 };
    for (i, n) in f.nights.iter().enumerate() {
        let x = c(f.cx(i));
        let mut base = 0;
        for (k, (severity, _)) in STACK.iter().enumerate() {
            let v = n.failing.get(*severity);
            if v == 0 {
                continue;
            }
            let path = if n.gaps > 0 {
                &mut paths[k].1
            } else {
                &mut paths[k].0
            };
            let (bottom, top) = (y(base), y(base + v));
            let _ = write!(path, "M{x} {}V{}", c(bottom), c((top + sliver).min(bottom)));
            base += v;
        }
    }
    for (k, (severity, paint)) in STACK.iter().enumerate() {
        let (complete, gaps) = &paths[k];
        bars(&mut out, &format!("sev-{severity}"), paint, f.bar, complete, gaps);
    }
    f.x_axis(&mut out, B);
    f.nights(
        &mut out,
        |n| {
            let s = &n.failing;
            format!(
                " data-failing=\"{}\" data-critical=\"{}\" data-high=\"{}\" data-medium=\"{}\" data-low=\"{}\" data-info=\"{}\"",
                n.failing_total, s.critical, s.high, s.medium, s.low, s.info
            )
        },
        |n| {
            let s = &n.failing;
            format!(
                "{} failing ({} critical, {} high, {} medium, {} low, {} info)",
                n.failing_total, s.critical, s.high, s.medium, s.low, s.info
            )
        },
    );
    f.legend(
        &mut out,
        STACK
            .iter()
            .map(|(severity, paint)| (Swatch::Bar(paint), severity.as_str()))
            .collect(),
    );
    out.push_str("</svg>");
    out
}

/// Pass rate per night, a line from 0 to 100 %; dashed into and out of a gap night.
fn pass_rate(f: &Frame) -> String {
    let y = |v: f64| B - (B - T) * v.clamp(0.0, 100.0) / 100.0;
    let mut out = String::new();
    f.open(&mut out, "pass-rate", "Pass rate per night");
    f.gap_bands(&mut out);
    let ticks: Vec<(f64, String)> = (0..=4)
        .map(|k| (y(k as f64 * 25.0), format!("{} %", k * 25)))
        .collect();
    f.y_axis(&mut out, &ticks, "pass rate");

    let point = |i: usize| f.nights[i].pass_rate.map(|r| (c(f.cx(i)), c(y(r))));
    let mut solid = String::new();
    let mut dashed = String::new();
    // The last point the solid path reached, to continue it rather than move.
    let mut at: Option<usize> = None;
    for i in 1..f.nights.len() {
        let (Some(a), Some(b)) = (point(i - 1), point(i)) else {
            continue;
        };
        if f.nights[i - 1].gaps > 0 || f.nights[i].gaps > 0 {
            let _ = write!(dashed, "M{} {}L{} {}", a.0, a.1, b.0, b.1);
        } else {
            if at != Some(i - 1) {
                let _ = write!(solid, "M{} {}", a.0, a.1);
            }
            let _ = write!(solid, "L{} {}", b.0, b.1);
            at = Some(i);
        }
    }
    if !solid.is_empty() {
        let _ = write!(
            out,
            "<path class=\"line\" fill=\"none\" stroke=\"{ACCENT}\" stroke-width=\"1.5\" stroke-linejoin=\"round\" d=\"{solid}\"/>"
        );
    }
    if !dashed.is_empty() {
        let _ = write!(
            out,
            "<path class=\"line gap\" fill=\"none\" stroke=\"{ACCENT}\" stroke-width=\"1.5\" stroke-dasharray=\"3 2\" d=\"{dashed}\"/>"
        );
    }
    // Dots: every night when there are few (a single night has no line), gap nights always
    // and hollow.
    let mut dots = String::new();
    let mut hollow = String::new();
    for i in 0..f.nights.len() {
        let Some((x, y)) = point(i) else { continue };
        if f.nights[i].gaps > 0 {
            let _ = write!(hollow, "<circle cx=\"{x}\" cy=\"{y}\" r=\"2.5\"/>");
        } else if f.nights.len() <= DOTS {
            let _ = write!(dots, "<circle cx=\"{x}\" cy=\"{y}\" r=\"2.5\"/>");
        }
    }
    if !dots.is_empty() {
        let _ = write!(out, "<g class=\"dots\" fill=\"{ACCENT}\">{dots}</g>");
    }
    if !hollow.is_empty() {
        let _ = write!(
            out,
            "<g class=\"dots gap\" fill=\"#fff\" stroke=\"{ACCENT}\" stroke-width=\"1.2\">{hollow}</g>"
        );
    }
    f.x_axis(&mut out, B);
    f.nights(
        &mut out,
        |n| match n.pass_rate {
            Some(r) => format!(" data-pass-rate=\"{r:.1}\""),
            None => String::new(),
        },
        |n| match n.pass_rate {
            Some(r) => format!("pass rate {r:.1} %"),
            None => "nothing evaluated".to_string(),
        },
    );
    let mut legend = vec![(Swatch::Line { dashed: false }, "pass rate")];
    if !f.gap_runs.is_empty() {
        legend.push((Swatch::Dot { hollow: true }, "gap night (dashed line)"));
    }
    f.legend(&mut out, legend);
    out.push_str("</svg>");
    out
}

/// Introduced (up from the zero line) and resolved (down) per night; none on a night compared
/// with no earlier one.
fn flow(f: &Frame) -> String {
    let max_in = f.nights.iter().filter_map(|n| n.introduced).max().unwrap_or(0);
    let max_out = f.nights.iter().filter_map(|n| n.resolved).max().unwrap_or(0);
    let step = nice_step(max_in + max_out, 4);
    let (up, down) = (ceil_to(max_in, step), ceil_to(max_out, step));
    let unit = (B - T) / (up + down) as f64;
    let zero = T + up as f64 * unit;
    let y = |v: f64| zero - v * unit;

    let mut out = String::new();
    f.open(&mut out, "flow", "Findings introduced and resolved per night");
    f.gap_bands(&mut out);
    let mut ticks = Vec::new();
    for k in 0..=up / step {
        ticks.push((y((k * step) as f64), (k * step).to_string()));
    }
    for k in 1..=down / step {
        ticks.push((y(-((k * step) as f64)), (k * step).to_string()));
    }
    // The axis title reads upwards: resolved below the zero line, introduced above.
    f.y_axis(&mut out, &ticks, "resolved · introduced");

    let mut paths: [(String, String); 2] = Default::default();
    for (i, n) in f.nights.iter().enumerate() {
        let x = c(f.cx(i));
        let series = [
            n.introduced.unwrap_or(0) as f64,
            -(n.resolved.unwrap_or(0) as f64),
        ];
        if n.introduced.is_none() {
            continue;
        }
        for (k, v) in series.into_iter().enumerate() {
            if v == 0.0 {
                continue;
            }
            let path = if n.gaps > 0 {
                &mut paths[k].1
            } else {
                &mut paths[k].0
            };
            let _ = write!(path, "M{x} {}V{}", c(zero), c(y(v)));
        }
    }
    for (k, (class, paint)) in [("introduced", &INTRODUCED), ("resolved", &RESOLVED)]
        .into_iter()
        .enumerate()
    {
        let (complete, gaps) = &paths[k];
        bars(&mut out, class, paint, f.bar, complete, gaps);
    }
    // The zero line: the x axis of this chart; each side named inside the plot.
    f.x_axis(&mut out, zero);
    let _ = write!(
        out,
        "<g fill=\"#5b6675\"><text x=\"{}\" y=\"{}\">introduced ▲</text><text x=\"{}\" y=\"{}\">resolved ▼</text></g>",
        c(L + 4.0),
        c(T + 10.0),
        c(L + 4.0),
        c(B - 4.0)
    );
    f.nights(
        &mut out,
        |n| match (n.introduced, n.resolved) {
            (Some(i), r) => format!(" data-introduced=\"{i}\" data-resolved=\"{}\"", r.unwrap_or(0)),
            (None, _) => String::new(),
        },
        |n| match (n.introduced, n.resolved) {
            (Some(i), r) => format!("{i} introduced, {} resolved", r.unwrap_or(0)),
            (None, _) => "not compared with an earlier night".to_string(),
        },
    );
    f.legend(
        &mut out,
        vec![
            (Swatch::Bar(&INTRODUCED), "introduced (newly failing), up"),
            (Swatch::Bar(&RESOLVED), "resolved, down"),
        ],
    );
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::{Duration, TimeZone, Utc};

    use super::*;
    use crate::history::trend::BySeverity;

    fn night(i: usize, failing: BySeverity) -> Night {
        let at = Utc.with_ymd_and_hms(2026, 11, 1, 3, 0, 0).unwrap() + Duration::days(i as i64);
        Night {
            stamp: at.format("%Y%m%dT%H%M%SZ").to_string(),
            evaluated_at: at,
            rule_pack: "2026.12.2".to_string(),
            rule_pack_changed: false,
            failing,
            failing_total: failing.total(),
            pass_rate: Some(80.0 - i as f64 / 10.0),
            introduced: (i > 0).then_some(i % 4),
            resolved: (i > 0).then_some(i % 3),
            gaps: 0,
            gap_units: Vec::new(),
        }
    }

    fn sev(critical: usize, high: usize, medium: usize, low: usize, info: usize) -> BySeverity {
        BySeverity {
            critical,
            high,
            medium,
            low,
            info,
        }
    }

    fn trends(nights: Vec<Night>) -> Trends {
        Trends {
            dir: "history".to_string(),
            since: None,
            nights,
            skipped: Vec::new(),
            rules: Vec::new(),
            oldest_open: Vec::new(),
            open_total: 0,
        }
    }

    /// Three nights: the second with coverage gaps, the third on a new rule pack.
    fn small() -> Trends {
        let mut nights = vec![
            night(0, sev(1, 3, 5, 2, 1)),
            night(1, sev(0, 1, 2, 0, 1)),
            night(2, sev(1, 2, 4, 2, 0)),
        ];
        nights[1].gaps = 2;
        nights[1].gap_units = vec![
            "111122223333/eu-west-1".to_string(),
            "111122223333/us-east-1".to_string(),
        ];
        nights[1].pass_rate = Some(91.5);
        nights[2].rule_pack = "2026.12.3".to_string();
        nights[2].rule_pack_changed = true;
        nights[2].pass_rate = None;
        trends(nights)
    }

    /// Each night's `data-*` attributes in `svg`, by its `data-night`.
    fn night_attrs(svg: &str) -> BTreeMap<String, BTreeMap<String, String>> {
        svg.split("<rect data-night=\"")
            .skip(1)
            .map(|rest| {
                let (stamp, rest) = rest.split_once('"').unwrap();
                let tag = rest.split_once('>').unwrap().0;
                let attrs = tag
                    .split(" data-")
                    .skip(1)
                    .map(|a| {
                        let (k, v) = a.split_once("=\"").unwrap();
                        (k.to_string(), v.split('"').next().unwrap().to_string())
                    })
                    .collect();
                (stamp.to_string(), attrs)
            })
            .collect()
    }

    #[test]
    fn every_night_carries_its_figures() {
        let t = small();
        let ch = charts(&t);
        let failing = night_attrs(&ch.failing);
        let pass = night_attrs(&ch.pass_rate);
        let flow = night_attrs(&ch.flow);
        for chart in [&failing, &pass, &flow] {
            assert_eq!(chart.len(), t.nights.len());
        }
        for n in &t.nights {
            let f = &failing[&n.stamp];
            for (key, v) in [
                ("failing", n.failing_total),
                ("critical", n.failing.critical),
                ("high", n.failing.high),
                ("medium", n.failing.medium),
                ("low", n.failing.low),
                ("info", n.failing.info),
            ] {
                assert_eq!(f[key], v.to_string(), "{} {key}", n.stamp);
            }
            assert_eq!(
                pass[&n.stamp].get("pass-rate").cloned(),
                n.pass_rate.map(|r| format!("{r:.1}"))
            );
            assert_eq!(
                flow[&n.stamp].get("introduced").cloned(),
                n.introduced.map(|v| v.to_string())
            );
            assert_eq!(
                flow[&n.stamp].get("resolved").cloned(),
                n.introduced.map(|_| n.resolved.unwrap_or(0).to_string())
            );
        }
        // The stacked bar of the first night reaches its total on the axis: 12 failing on a
        // scale to 15 (ticks every 5).
        assert!(ch.failing.contains(">15</text>"), "{}", ch.failing);
    }

    #[test]
    fn a_night_with_coverage_gaps_is_marked_not_drawn_as_an_improvement() {
        let t = small();
        let gap = &t.nights[1].stamp;
        let ch = charts(&t);
        for svg in [&ch.failing, &ch.pass_rate, &ch.flow] {
            let nights = night_attrs(svg);
            assert_eq!(nights[gap].get("gap").map(String::as_str), Some("true"));
            assert_eq!(nights.values().filter(|a| a.contains_key("gap")).count(), 1);
            // A shaded band with a strip over its column, and the legend says what it means.
            assert!(svg.contains("<g class=\"gaps\">"), "{svg}");
            assert!(svg.contains(">coverage gap: counts incomplete</text>"), "{svg}");
            assert!(svg.contains("coverage gap: counts incomplete (2 failed read(s) in 111122223333&#x2f;eu-west-1, 111122223333&#x2f;us-east-1)"));
        }
        // Its bars are faded and the pass-rate line is dashed into and out of it, with a
        // hollow dot.
        assert!(
            ch.failing
                .contains("class=\"sev-high gap\" stroke-opacity=\".45\" fill=\"none\" stroke=\"#c62828\"")
        );
        assert!(ch.pass_rate.contains("<path class=\"line gap\""));
        assert!(ch.pass_rate.contains("<g class=\"dots gap\""));
        // The rule pack change is marked too.
        assert_eq!(
            night_attrs(&ch.failing)[&t.nights[2].stamp]
                .get("rule-pack-changed")
                .map(String::as_str),
            Some("true")
        );
        assert!(ch.failing.contains(">rule pack changed</text>"));
        // Without gaps, no band and no legend entry.
        let clean = charts(&trends(vec![
            night(0, sev(0, 1, 0, 0, 0)),
            night(1, sev(0, 0, 0, 0, 0)),
        ]));
        assert!(!clean.failing.contains("coverage gap") && !clean.failing.contains("data-gap"));
    }

    #[test]
    fn a_night_compared_with_none_draws_no_flow_bar() {
        let mut t = trends(vec![night(0, sev(0, 2, 0, 0, 0))]);
        t.nights[0].introduced = None;
        t.nights[0].resolved = None;
        let flow = charts(&t).flow;
        assert!(!flow.contains("class=\"introduced\"") && !flow.contains("class=\"resolved\""));
        assert!(!flow.contains("data-introduced"));
        assert!(flow.contains("not compared with an earlier night"));
    }

    #[test]
    fn text_from_files_is_escaped() {
        let mut t = small();
        t.nights[0].stamp = "\"><script>alert(1)</script><x a=\"".to_string();
        t.nights[1].gap_units = vec!["<img onerror=x>/\u{202e}eu".to_string()];
        t.nights[2].rule_pack = "</title><svg onload=alert(2)>".to_string();
        let ch = charts(&t);
        for svg in [&ch.failing, &ch.pass_rate, &ch.flow] {
            for bad in [
                "<script",
                "<img",
                "<svg onload",
                "</title><svg",
                "\u{202e}",
                "=\"\"><",
            ] {
                assert!(!svg.contains(bad), "{bad} in {svg}");
            }
            assert!(svg.contains("data-night=\"&quot;&gt;&lt;script&gt;"));
            assert!(svg.contains("&lt;img onerror=x&gt;"));
            assert_eq!(svg.matches("<svg").count(), 1);
            assert_eq!(svg.matches("</svg>").count(), 1);
        }
    }

    #[test]
    fn a_year_of_nights_stays_small_and_legible() {
        let nights: Vec<Night> = (0..365)
            .map(|i| {
                let mut n = night(i, sev(120 + i, 4321, 9876, 555, 77));
                n.gaps = usize::from(i % 7 == 3) * 3;
                n.gap_units = vec!["111122223333/eu-west-1".to_string(); n.gaps];
                n.rule_pack_changed = i % 90 == 45;
                n
            })
            .collect();
        let ch = charts(&trends(nights));
        let sizes = [ch.failing.len(), ch.pass_rate.len(), ch.flow.len()];
        let total: usize = sizes.iter().sum();
        // Each chart well under 200 KB (most of it is the nights' figures and tooltips).
        assert!(sizes.iter().all(|&n| n < 160_000), "{sizes:?}");
        assert!(total < 320_000, "{sizes:?}");
        for svg in [&ch.failing, &ch.pass_rate, &ch.flow] {
            assert_eq!(night_attrs(svg).len(), 365);
            // Dates thinned to at most eight on the axis.
            let dates = svg.matches(&format!(" y=\"{}\">20", c(B + 16.0))).count();
            assert!((2..=X_LABELS).contains(&dates), "{dates} dates");
        }
    }

    #[test]
    fn no_nights_no_charts() {
        assert_eq!(charts(&trends(Vec::new())), Charts::default());
    }

    #[test]
    fn small_charts() {
        let ch = charts(&small());
        // An element a line, to read the snapshot.
        let text = [ch.failing, ch.pass_rate, ch.flow]
            .join("\n\n")
            .replace("><", ">\n<");
        insta::assert_snapshot!(text);
    }

    /// The audit report of the example fleet, its failing findings aged (every other one
    /// overdue) when `aged`, with `trends`.
    fn report_with(trends: Trends, aged: bool) -> crate::report::audit::AuditReport {
        use crate::result::document::Document;
        use crate::result::summary::{GateOptions, Summary};
        use crate::result::{Age, Status};

        let inventory =
            crate::inventory::parse_inventory(include_str!("../../examples/fleet.json"), "fleet.json")
                .expect("the example fleet parses");
        let now = inventory.collected_at.unwrap_or_else(Utc::now);
        let rules = crate::rules::RuleSet::load(&[]).expect("bundled pack");
        let mut result = crate::evaluate::evaluate(&inventory, rules, now);
        for (k, f) in result
            .findings
            .iter_mut()
            .filter(|f| aged && f.status == Status::Fail)
            .enumerate()
        {
            f.age = Some(Age {
                first_seen: now - Duration::days(40 + k as i64),
                days: 40 + k as u64,
                due: Some(now - Duration::days(10)),
                overdue: k % 2 == 0,
            });
        }
        let summary = Summary::compute(&result, GateOptions::default());
        let doc = Document::records(&result, &summary, Severity::Info);
        crate::report::audit::AuditReport::new(doc).with_trends(trends)
    }

    fn render(
        report: &crate::report::audit::AuditReport,
        format: crate::report::templates::ReportFormat,
    ) -> String {
        let mut out = Vec::new();
        crate::report::templates::Template::bundled(format)
            .render(report, &mut out)
            .unwrap();
        String::from_utf8(out).unwrap()
    }

    /// The bundled templates given trends and aged findings: the section with the charts as
    /// markup (not as escaped text), its tables, the age column and the overdue count; nothing
    /// the page's policy would refuse, and no SVG in Markdown.
    #[test]
    fn the_templates_show_the_trends() {
        use crate::history::trend::{OpenFinding, RuleTrend, Skipped};
        use crate::report::templates::ReportFormat;

        let mut t = small();
        t.skipped = vec![Skipped {
            stamp: "20261030T030000Z".to_string(),
            why: "truncated result file".to_string(),
        }];
        t.rules = vec![RuleTrend {
            rule_id: "snapshot-retention".to_string(),
            severity: Severity::High,
            open: 2,
            resolved: 3,
            mean_days_to_remediate: Some(4.3),
        }];
        t.oldest_open = vec![OpenFinding {
            rule_id: "snapshot-retention".to_string(),
            severity: Severity::High,
            resource_id: "orders-cache".to_string(),
            resource_arn: "arn:aws:elasticache:eu-west-1:111122223333:replicationgroup:orders-cache"
                .to_string(),
            account_id: "111122223333".to_string(),
            region: "eu-west-1".to_string(),
            fingerprint: "f".to_string(),
            first_seen: Utc.with_ymd_and_hms(2026, 10, 1, 3, 0, 0).unwrap(),
            age_days: 61,
            overdue: Some(true),
            owner: Some("<team-orders>".to_string()),
        }];
        t.open_total = 2;
        let report = report_with(t, true);
        assert!(report.aged && report.overdue > 0);
        let render = |format| render(&report, format);

        let html = render(ReportFormat::Html);
        for part in [
            "<li><a href=\"#trends\">Trends over time</a></li>",
            "<section id=\"trends\">",
            "<svg class=\"trend\" id=\"trend-failing\"",
            "<svg class=\"trend\" id=\"trend-pass-rate\"",
            "<svg class=\"trend\" id=\"trend-flow\"",
            "id=\"trend-gaps-alert\"",
            "<table id=\"trend-nights-table\">",
            "<tr data-stamp=\"20261102T030000Z\" class=\"gap-night\">",
            "<code>20261030T030000Z</code>: truncated result file",
            "<td class=\"n\">4.3</td>",
            "<td>&lt;team-orders&gt;</td>",
            "<th data-sort=\"number\">Age</th>",
            "id=\"overdue-alert\"",
            "<strong class=\"overdue\">overdue</strong>",
        ] {
            assert!(html.contains(part), "no {part}");
        }
        assert_eq!(html.matches("data-night=").count(), 3 * 3);
        for refused in ["&lt;svg", " style=", "url(", "http://", "https://"] {
            assert!(!html.contains(refused), "{refused}");
        }
        for tag in ["section", "figure", "svg", "table", "tr", "td", "g", "rect"] {
            let open = html.matches(&format!("<{tag} ")).count() + html.matches(&format!("<{tag}>")).count();
            let closed = html.matches(&format!("</{tag}>")).count();
            let selfclosed = html
                .split(&format!("<{tag} "))
                .skip(1)
                .filter(|rest| rest.split('>').next().unwrap().ends_with('/'))
                .count();
            assert_eq!(open, closed + selfclosed, "<{tag}>");
        }

        let md = render(ReportFormat::Markdown);
        assert!(!md.contains("<svg"));
        for part in [
            "## Trends over time",
            "| Night | Evaluated | Critical |",
            "| 20261102T030000Z |",
            "**2 failed read(s): counts incomplete**",
            "- 20261030T030000Z: truncated result file",
            "| snapshot-retention | high | 2 | 3 | 4.3 |",
            "&lt;team-orders&gt;",
            "finding(s) past their remediation deadline.**",
            "**overdue**",
        ] {
            assert!(md.contains(part), "no {part} in {md}");
        }
        // Every row of a table has the header's number of cells.
        let header = md.lines().find(|l| l.starts_with("| Night |")).unwrap();
        let rows: Vec<&str> = md
            .lines()
            .skip_while(|l| !l.starts_with("| Night |"))
            .take_while(|l| l.starts_with('|'))
            .collect();
        assert_eq!(rows.len(), 2 + 3);
        for row in rows {
            assert_eq!(row.matches('|').count(), header.matches('|').count(), "{row}");
        }
    }

    /// A window without a night: no charts, a sentence instead; no age column without ages.
    #[test]
    fn the_templates_render_a_history_without_nights() {
        use crate::report::templates::ReportFormat;

        let mut t = trends(Vec::new());
        t.since = Some(Utc.with_ymd_and_hms(2026, 9, 1, 0, 0, 0).unwrap());
        let report = report_with(t, false);
        assert!(!report.aged);
        let html = render(&report, ReportFormat::Html);
        assert!(html.contains("<section id=\"trends\">"));
        assert!(html.contains("No night of the history was read since 2026-09-01T00:00:00Z"));
        assert!(!html.contains("<svg class=\"trend\"") && !html.contains(">Age</th>"));
        let md = render(&report, ReportFormat::Markdown);
        assert!(md.contains("No night of the history was read since"));
    }
}
