//! Lloyd's k-means on small sub-vectors, deterministic (seeded picks, fixed iteration count).

/// `k` centroids (row-major, `k * d` floats) for `n` points of `d` floats in `data`.
pub(crate) fn kmeans(data: &[f32], n: usize, d: usize, k: usize, iters: usize, seed: u64) -> Vec<f32> {
    assert!(n > 0 && k > 0 && data.len() == n * d);
    // Initial centroids: k distinct points picked by a seeded shuffle (repeats when n < k).
    let mut order: Vec<usize> = (0..n).collect();
    let mut s = seed | 1;
    for i in (1..n).rev() {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        order.swap(i, (s % (i as u64 + 1)) as usize);
    }
    let mut cent: Vec<f32> =
        (0..k).flat_map(|c| data[order[c % n] * d..order[c % n] * d + d].iter().copied()).collect();
    let mut assign = vec![0usize; n];
    let mut sums = vec![0f64; k * d];
    let mut counts = vec![0usize; k];
    for _ in 0..iters {
        for (i, a) in assign.iter_mut().enumerate() {
            *a = nearest(&cent, d, &data[i * d..i * d + d]);
        }
        sums.fill(0.0);
        counts.fill(0);
        for (i, &a) in assign.iter().enumerate() {
            counts[a] += 1;
            for (s, x) in sums[a * d..a * d + d].iter_mut().zip(&data[i * d..i * d + d]) {
                *s += *x as f64;
            }
        }
        for c in 0..k {
            if counts[c] == 0 {
                continue; // keep an empty cluster's centroid where it was
            }
            for j in 0..d {
                cent[c * d + j] = (sums[c * d + j] / counts[c] as f64) as f32;
            }
        }
    }
    cent
}

/// Index of the centroid nearest to `x` (squared L2; ties to the lower index).
pub(crate) fn nearest(cent: &[f32], d: usize, x: &[f32]) -> usize {
    let mut best = (f32::INFINITY, 0);
    for (c, row) in cent.chunks_exact(d).enumerate() {
        let dist: f32 = row.iter().zip(x).map(|(a, b)| (a - b) * (a - b)).sum();
        if dist < best.0 {
            best = (dist, c);
        }
    }
    best.1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_two_obvious_clusters() {
        let data = [0.0, 0.1, 0.2, 10.0, 10.1, 10.2];
        let c = kmeans(&data, 6, 1, 2, 10, 7);
        let mut c = c.clone();
        c.sort_by(f32::total_cmp);
        assert!((c[0] - 0.1).abs() < 1e-5 && (c[1] - 10.1).abs() < 1e-5, "{c:?}");
        assert_eq!(nearest(&c, 1, &[9.0]), 1);
    }
}
