//! Chart primitives on plotters: line charts, bar charts with confidence intervals, stacked
//! bars and status grids, each drawn once into an SVG and once into a PNG.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::ReportError;

/// One line of a line chart.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend label.
    pub name: String,
    /// `(x, y)` points, in x order.
    pub points: Vec<(f64, f64)>,
}

/// One bar: a value and an optional interval.
#[derive(Debug, Clone)]
pub struct Bar {
    /// Axis label.
    pub label: String,
    /// Height.
    pub value: f64,
    /// `(low, high)` of the interval drawn as an error bar.
    pub interval: Option<(f64, f64)>,
}

/// A stacked bar: one label, one value per part (parts share names and colours).
#[derive(Debug, Clone)]
pub struct Stack {
    /// Axis label.
    pub label: String,
    /// Part heights, in the order of the part names.
    pub parts: Vec<f64>,
}

/// Figure size in pixels.
pub const SIZE: (u32, u32) = (900, 560);

/// The colour of series `i`.
pub fn colour(i: usize) -> RGBColor {
    const P: [RGBColor; 8] = [
        RGBColor(31, 119, 180),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(127, 127, 127),
    ];
    P[i % P.len()]
}

type Area<'a, DB> = DrawingArea<DB, Shift>;
type Draw<'f> = dyn Fn(&Area<'_, SVGBackend<'_>>) -> Result<(), String> + 'f;
type DrawPng<'f> = dyn Fn(&Area<'_, BitMapBackend<'_>>) -> Result<(), String> + 'f;

/// Draws a figure into `stem.svg` and `stem.png`; returns both paths.
pub fn render(stem: &Path, svg: &Draw<'_>, png: &DrawPng<'_>) -> Result<Vec<PathBuf>, ReportError> {
    let (svg_path, png_path) = (stem.with_extension("svg"), stem.with_extension("png"));
    {
        let area = SVGBackend::new(&svg_path, SIZE).into_drawing_area();
        area.fill(&WHITE)
            .map_err(|e| ReportError::new(&svg_path, &e.to_string()))?;
        svg(&area).map_err(|m| ReportError::new(&svg_path, &m))?;
        area.present()
            .map_err(|e| ReportError::new(&svg_path, &e.to_string()))?;
    }
    {
        let area = BitMapBackend::new(&png_path, SIZE).into_drawing_area();
        area.fill(&WHITE)
            .map_err(|e| ReportError::new(&png_path, &e.to_string()))?;
        png(&area).map_err(|m| ReportError::new(&png_path, &m))?;
        area.present()
            .map_err(|e| ReportError::new(&png_path, &e.to_string()))?;
    }
    Ok(vec![svg_path, png_path])
}

/// Draws any chart into both files (the closure is generic over the backend).
#[macro_export]
#[doc(hidden)]
macro_rules! both {
    ($stem:expr, |$area:ident| $body:expr) => {
        $crate::chart::render($stem, &|$area| $body, &|$area| $body)
    };
}

fn err<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.05).max(1e-9);
    (lo - pad, hi + pad)
}

/// A line chart.
pub fn lines<DB: DrawingBackend>(
    area: &Area<'_, DB>,
    title: &str,
    (x_label, y_label): (&str, &str),
    series: &[Series],
) -> Result<(), String> {
    let (x0, x1) = bounds(series.iter().flat_map(|s| s.points.iter().map(|p| p.0)));
    let (y0, y1) = bounds(series.iter().flat_map(|s| s.points.iter().map(|p| p.1)));
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc(x_label)
        .y_desc(y_label)
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(err)?;
    for (i, s) in series.iter().enumerate() {
        let c = colour(i);
        chart
            .draw_series(LineSeries::new(s.points.clone(), c.stroke_width(2)))
            .map_err(err)?
            .label(s.name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
    }
    legend(&mut chart)
}

fn legend<'a, DB: DrawingBackend + 'a, X: Ranged, Y: Ranged>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
) -> Result<(), String> {
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 13))
        .position(SeriesLabelPosition::LowerRight)
        .draw()
        .map_err(err)
}

/// A bar chart with error bars.
pub fn bars<DB: DrawingBackend>(
    area: &Area<'_, DB>,
    title: &str,
    y_label: &str,
    bars: &[Bar],
) -> Result<(), String> {
    let top = bars
        .iter()
        .map(|b| b.interval.map_or(b.value, |i| i.1.max(b.value)))
        .fold(0.0f64, f64::max)
        .max(1e-9)
        * 1.08;
    let n = bars.len().max(1);
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..n as f64, 0f64..top)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_desc(y_label)
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(err)?;
    for (i, b) in bars.iter().enumerate() {
        let x = i as f64;
        let rect = Rectangle::new([(x + 0.15, 0.0), (x + 0.85, b.value)], colour(i).filled());
        chart.draw_series(std::iter::once(rect)).map_err(err)?;
        if let Some((lo, hi)) = b.interval {
            let line = PathElement::new(vec![(x + 0.5, lo), (x + 0.5, hi)], BLACK.stroke_width(2));
            chart.draw_series(std::iter::once(line)).map_err(err)?;
        }
        label(&mut chart, &b.label, x, top)?;
    }
    Ok(())
}

/// A bar's label inside its foot, one line per ` · `-separated part.
fn label<'a, DB: DrawingBackend + 'a>(
    chart: &mut ChartContext<
        'a,
        DB,
        Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
    >,
    text: &str,
    x: f64,
    top: f64,
) -> Result<(), String> {
    let lines: Vec<&str> = text.split(" · ").collect();
    for (k, line) in lines.iter().rev().enumerate() {
        let at = (x + 0.17, top * (0.015 + 0.04 * k as f64));
        let t = Text::new((*line).to_owned(), at, ("sans-serif", 13));
        chart.draw_series(std::iter::once(t)).map_err(err)?;
    }
    Ok(())
}

/// Stacked bars of fractions with a legend of part names.
pub fn stacks<DB: DrawingBackend>(
    area: &Area<'_, DB>,
    title: &str,
    parts: &[&str],
    colours: &[RGBColor],
    stacks: &[Stack],
) -> Result<(), String> {
    let n = stacks.len().max(1);
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..n as f64, 0f64..1.0)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_desc("fraction of judged updates")
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(err)?;
    for (i, s) in stacks.iter().enumerate() {
        let total: f64 = s.parts.iter().sum::<f64>().max(1e-12);
        let mut y = 0.0;
        for (j, v) in s.parts.iter().enumerate() {
            let h = v / total;
            let x = i as f64;
            let r = Rectangle::new([(x + 0.15, y), (x + 0.85, y + h)], colours[j].filled());
            chart.draw_series(std::iter::once(r)).map_err(err)?;
            y += h;
        }
        label(&mut chart, &s.label, i as f64, 1.0)?;
    }
    for (j, name) in parts.iter().enumerate() {
        let c = colours[j];
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(0.0, 0.0), (0.0, 0.0)],
                c.filled(),
            )))
            .map_err(err)?
            .label(*name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], c.filled()));
    }
    legend(&mut chart)
}

/// A grid of coloured cells: `cells[row][col]` indexes `colours`; rows are labelled.
pub fn grid<DB: DrawingBackend>(
    area: &Area<'_, DB>,
    title: &str,
    (x_label, y_label): (&str, &str),
    cells: &[Vec<usize>],
    legend_items: &[(&str, RGBColor)],
) -> Result<(), String> {
    let rows = cells.len().max(1);
    let cols = cells.iter().map(Vec::len).max().unwrap_or(1).max(1);
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.5f64..cols as f64 + 0.5, -0.5f64..rows as f64 - 0.5)
        .map_err(err)?;
    let whole = |v: &f64| format!("{}", v.round() as i64);
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(cols)
        .y_labels(rows)
        .x_label_formatter(&whole)
        .y_label_formatter(&whole)
        .x_desc(x_label)
        .y_desc(y_label)
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(err)?;
    for (r, row) in cells.iter().enumerate() {
        for (c, &k) in row.iter().enumerate() {
            let (x, y) = ((c + 1) as f64, r as f64);
            let rect = Rectangle::new(
                [(x - 0.45, y - 0.45), (x + 0.45, y + 0.45)],
                legend_items[k].1.filled(),
            );
            chart.draw_series(std::iter::once(rect)).map_err(err)?;
        }
    }
    for (name, c) in legend_items {
        let c = *c;
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(0.5, -0.5), (0.5, -0.5)],
                c.filled(),
            )))
            .map_err(err)?
            .label(*name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], c.filled()));
    }
    legend(&mut chart)
}
