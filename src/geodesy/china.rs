//! China's obfuscated datums, as the map SDKs in use there apply them: GCJ-02 ("Mars
//! coordinates": AMap, Tencent, WeChat) and BD-09 (Baidu, a further shift of GCJ-02). The
//! forward directions follow the widely published formulas exactly; the inverses iterate the
//! forward formula until it reproduces the given point to 1e-10 degrees (about 0.01 mm).

use std::f64::consts::PI;

use geo::Point;

// GCJ-02 uses the Krasovsky ellipsoid's parameters.
const GCJ_A: f64 = 6_378_245.0;
const GCJ_EE: f64 = 0.006_693_421_622_965_943;
// BD-09's rotation constant.
const BD_X_PI: f64 = PI * 3000.0 / 180.0;

/// Convergence of the inverses, degrees.
const INVERSE_TOLERANCE_DEG: f64 = 1e-10;

/// GCJ-02 offsets apply only inside (roughly) mainland China; elsewhere coordinates are unchanged.
fn outside_china(p: Point) -> bool {
    !(72.004..=137.8347).contains(&p.x()) || !(0.8293..=55.8271).contains(&p.y())
}

fn shift_lat(x: f64, y: f64) -> f64 {
    let mut r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    r
}

fn shift_lon(x: f64, y: f64) -> f64 {
    let mut r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    r
}

/// WGS84 -> GCJ-02 (the forward formula).
pub fn wgs84_to_gcj02(p: Point) -> Point {
    if outside_china(p) {
        return p;
    }
    let (lon, lat) = (p.x(), p.y());
    let d_lat = shift_lat(lon - 105.0, lat - 35.0);
    let d_lon = shift_lon(lon - 105.0, lat - 35.0);
    let rad_lat = lat.to_radians();
    let magic = 1.0 - GCJ_EE * rad_lat.sin().powi(2);
    let sqrt_magic = magic.sqrt();
    let d_lat = d_lat * 180.0 / ((GCJ_A * (1.0 - GCJ_EE)) / (magic * sqrt_magic) * PI);
    let d_lon = d_lon * 180.0 / (GCJ_A / sqrt_magic * rad_lat.cos() * PI);
    Point::new(lon + d_lon, lat + d_lat)
}

/// GCJ-02 -> BD-09 (Baidu's published formula).
fn gcj02_to_bd09(g: Point) -> Point {
    let (x, y) = (g.x(), g.y());
    let z = x.hypot(y) + 0.00002 * (y * BD_X_PI).sin();
    let theta = y.atan2(x) + 0.000003 * (x * BD_X_PI).cos();
    Point::new(z * theta.cos() + 0.0065, z * theta.sin() + 0.006)
}

/// WGS84 -> BD-09: GCJ-02, then Baidu's shift.
pub fn wgs84_to_bd09(p: Point) -> Point {
    gcj02_to_bd09(wgs84_to_gcj02(p))
}

/// The point whose image under `forward` is `target`, by fixed-point iteration: both shifts are
/// nearly translations (their derivatives differ from the identity by under 1e-3), so each
/// step gains about three digits. The one-step inverses in circulation err by up to ~5 m.
fn invert(forward: impl Fn(Point) -> Point, target: Point) -> Point {
    let mut w = target;
    for _ in 0..30 {
        let f = forward(w);
        let (dx, dy) = (f.x() - target.x(), f.y() - target.y());
        w = Point::new(w.x() - dx, w.y() - dy);
        if dx.abs() < INVERSE_TOLERANCE_DEG && dy.abs() < INVERSE_TOLERANCE_DEG {
            break;
        }
    }
    w
}

/// GCJ-02 -> WGS84.
pub fn gcj02_to_wgs84(g: Point) -> Point {
    invert(wgs84_to_gcj02, g)
}

/// BD-09 -> WGS84.
pub fn bd09_to_wgs84(b: Point) -> Point {
    invert(wgs84_to_bd09, b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geodesy::distance_m;
    use approx::assert_relative_eq;

    #[test]
    fn gcj02_offset_near_danyang_is_about_525_m() {
        let w = Point::new(119.58, 31.99);
        let g = wgs84_to_gcj02(w);
        assert_relative_eq!(g.x() - w.x(), 0.00493, epsilon = 2e-4);
        assert_relative_eq!(g.y() - w.y(), -0.00220, epsilon = 2e-4);
        let back = gcj02_to_wgs84(g);
        assert!(distance_m(back, w) < 0.001);
    }

    #[test]
    fn bd09_is_gcj02_shifted_again_and_inverts_to_a_centimetre() {
        // Baidu's shift adds about 0.0065 E and 0.006 N (some 600-700 m) to GCJ-02.
        let w = Point::new(119.58, 31.99);
        let (g, b) = (wgs84_to_gcj02(w), wgs84_to_bd09(w));
        assert_relative_eq!(b.x() - g.x(), 0.0065, epsilon = 1e-3);
        assert_relative_eq!(b.y() - g.y(), 0.006, epsilon = 1e-3);
        assert!(distance_m(bd09_to_wgs84(b), w) < 0.01);
    }

    #[test]
    fn gcj02_leaves_points_outside_china_alone() {
        let p = Point::new(2.35, 48.85);
        assert_eq!(wgs84_to_gcj02(p), p);
        assert_eq!(gcj02_to_wgs84(p), p);
    }
}
