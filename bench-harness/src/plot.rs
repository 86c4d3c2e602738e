//! Recall–QPS curves of every system on one data set, as SVG (plotters' SVG backend with its
//! built-in text layout, so no system fonts are needed).

use std::path::Path;

use anyhow::{anyhow, Result};
use plotters::prelude::*;

use crate::result::{DatasetResult, SystemKind};

/// Draws `ds` to `path`.
pub fn recall_qps(ds: &DatasetResult, levels: &[f64], path: &Path) -> Result<()> {
    let series: Vec<(&str, SystemKind, Vec<(f64, f64)>)> = ds
        .systems
        .iter()
        .filter(|s| s.error.is_none() && !s.sweep.is_empty())
        .map(|s| {
            let mut pts: Vec<(f64, f64)> = s.sweep.iter().filter(|p| p.qps > 0.0).map(|p| (p.recall, p.qps)).collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            (s.name.as_str(), s.kind, pts)
        })
        .filter(|(_, _, pts)| !pts.is_empty())
        .collect();
    if series.is_empty() {
        return Err(anyhow!("nothing to plot for {}", ds.name));
    }
    let all = series.iter().flat_map(|(_, _, p)| p.iter().copied());
    let (rmin, qmin, qmax) =
        all.fold((1.0f64, f64::MAX, 0.0f64), |(r, lo, hi), (x, y)| (r.min(x), lo.min(y), hi.max(y)));
    let xmin = ((rmin - 0.01) * 100.0).floor() / 100.0;
    let xmin = xmin.clamp(0.0, 0.98);
    let (ylo, yhi) = (qmin / 1.5, qmax * 1.5);

    let root = SVGBackend::new(path, (1100, 700)).into_drawing_area();
    let err = |e: DrawingAreaErrorKind<_>| anyhow!("drawing {}: {e:?}", path.display());
    root.fill(&WHITE).map_err(err)?;
    let title = format!("{}: {} x {}, k={} — recall vs single-thread QPS", ds.name, ds.n, ds.dim, ds.k);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(xmin..1.0f64, (ylo..yhi).log_scale())
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc(format!("recall@{}", ds.k))
        .y_desc("queries / s (1 thread, 1 query per call, log)")
        .x_label_formatter(&|x| format!("{x:.2}"))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .draw()
        .map_err(err)?;
    for &r in levels.iter().filter(|&&r| r > xmin) {
        chart.draw_series(LineSeries::new(vec![(r, ylo), (r, yhi)], BLACK.mix(0.15))).map_err(err)?;
    }
    for (i, (name, kind, pts)) in series.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let width = if *kind == SystemKind::Needle { 3 } else { 1 };
        let label = if *kind == SystemKind::Needle { format!("needle {name}") } else { name.to_string() };
        let anno = chart.draw_series(LineSeries::new(pts.clone(), color.stroke_width(width))).map_err(err)?;
        anno.label(label).legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(width)));
        if *kind == SystemKind::Needle {
            chart.draw_series(pts.iter().map(|&p| Circle::new(p, 4, color.filled()))).map_err(err)?;
        } else {
            chart.draw_series(pts.iter().map(|&p| TriangleMarker::new(p, 5, color.filled()))).map_err(err)?;
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .draw()
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}
