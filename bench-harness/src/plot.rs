//! Recall–QPS curves of every system on one data set, as SVG (plotters' SVG backend with its
//! built-in text layout, so no system fonts are needed).

use std::path::Path;

use anyhow::{anyhow, Result};
use plotters::prelude::*;

use crate::result::{DatasetResult, SystemKind};

const NEEDLE_COLORS: [RGBColor; 6] = [
    RGBColor(214, 39, 40),
    RGBColor(31, 119, 180),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
];
const PEER_COLORS: [RGBColor; 6] = [
    RGBColor(255, 127, 14),
    RGBColor(23, 190, 207),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(0, 0, 0),
    RGBColor(105, 60, 150),
];

/// One curve: the system's name, its kind, its (recall, QPS) points by rising recall.
type Series<'a> = (&'a str, SystemKind, Vec<(f64, f64)>);

/// Draws `ds` to `path`.
pub fn recall_qps(ds: &DatasetResult, levels: &[f64], path: &Path) -> Result<()> {
    let series: Vec<Series<'_>> = ds
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
        .light_line_style(TRANSPARENT)
        .bold_line_style(BLACK.mix(0.12))
        .x_desc(format!("recall@{}", ds.k))
        .y_desc("queries / s (1 thread, 1 query per call, log)")
        .x_label_formatter(&|x| format!("{x:.2}"))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .draw()
        .map_err(err)?;
    for &r in levels.iter().filter(|&&r| r > xmin) {
        chart.draw_series(LineSeries::new(vec![(r, ylo), (r, yhi)], BLACK.mix(0.45))).map_err(err)?;
        chart
            .draw_series(std::iter::once(Text::new(format!("{r:.2}"), (r, yhi / 1.08), ("sans-serif", 13))))
            .map_err(err)?;
    }
    let (mut n_needle, mut n_peer) = (0, 0);
    for (name, kind, pts) in &series {
        let color = if *kind == SystemKind::Needle {
            n_needle += 1;
            NEEDLE_COLORS[(n_needle - 1) % NEEDLE_COLORS.len()]
        } else {
            n_peer += 1;
            PEER_COLORS[(n_peer - 1) % PEER_COLORS.len()]
        };
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::result::{SweepPoint, SystemResult};

    pub(crate) fn sample_dataset() -> DatasetResult {
        let point = |ef, recall, qps| SweepPoint {
            ef_search: Some(ef),
            recall,
            qps,
            batch_qps: Some(qps * 1.8),
            p50_us: 1e6 / qps,
            p95_us: 1.5e6 / qps,
            p99_us: 2e6 / qps,
        };
        let mut needle = SystemResult::new("hnsw-cosine-none-mmap-none", SystemKind::Needle, "needle", 1000);
        needle.sweep = vec![point(16, 0.91, 9000.0), point(32, 0.96, 6000.0), point(64, 0.99, 3500.0)];
        let mut peer = SystemResult::new("hnswlib", SystemKind::Peer, "hnswlib", 1000);
        peer.sweep = vec![point(16, 0.90, 8000.0), point(32, 0.95, 5000.0), point(64, 0.985, 3000.0)];
        let mut flat = SystemResult::new("faiss-flat", SystemKind::Peer, "faiss", 1000);
        flat.sweep = vec![SweepPoint { ef_search: None, ..point(0, 1.0, 80.0) }];
        let mut failed = SystemResult::new("usearch-f32", SystemKind::Peer, "usearch", 1000);
        failed.error = Some("boom".into());
        let levels = [0.90, 0.95, 0.99];
        for s in [&mut needle, &mut peer, &mut flat] {
            s.interpolate(&levels);
        }
        let mut ds = DatasetResult {
            name: "tiny".into(),
            base: "base.fvecs".into(),
            n: 1000,
            dim: 8,
            queries: 10,
            k: 10,
            metric: "cosine".into(),
            groundtruth: "brute force".into(),
            systems: vec![needle, peer, flat, failed],
            peers_source: None,
            peer_versions: Default::default(),
            ratios: Default::default(),
            plot: None,
        };
        crate::result::compute_ratios(&mut ds, &levels);
        ds
    }

    #[test]
    fn draws_an_svg_without_system_fonts() {
        let ds = sample_dataset();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.svg");
        recall_qps(&ds, &[0.90, 0.95, 0.99], &path).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("needle hnsw-cosine-none-mmap-none") && svg.contains("hnswlib"));
        assert!(!svg.contains("usearch-f32"), "failed systems are not drawn");
        let ratio = ds.ratios["hnsw-cosine-none-mmap-none"]["hnswlib"]["0.95"].unwrap();
        assert!(ratio > 1.0 && ratio < 1.5, "{ratio}");
    }
}
