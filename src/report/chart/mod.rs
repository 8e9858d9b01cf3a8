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
mod tests;
