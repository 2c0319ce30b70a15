//! Great-circle distances and the bounding boxes that pre-filter "within a radius" queries.
//!
//! A radius query first selects rows inside [`BoundingBox::around`] (plain `BETWEEN`
//! comparisons on latitude and longitude that an index can serve), then keeps those whose
//! [`haversine_km`] distance is within the radius. The box always contains the whole circle,
//! so the pre-filter never loses a row; it may let a few extra through.

/// Mean Earth radius (IUGG), in kilometres.
pub const EARTH_RADIUS_KM: f64 = 6371.0088;

/// Slack added to every box edge, in degrees (about 1 cm), against rounding at the edge.
const EDGE_SLACK_DEG: f64 = 1e-7;

/// Great-circle distance in kilometres between two points given in decimal degrees.
pub fn haversine_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (phi1, phi2) = (lat1.to_radians(), lat2.to_radians());
    let d_phi = (lat2 - lat1).to_radians();
    let d_lambda = (lon2 - lon1).to_radians();
    let a = (d_phi / 2.0).sin().powi(2) + phi1.cos() * phi2.cos() * (d_lambda / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * a.clamp(0.0, 1.0).sqrt().asin()
}

/// Kilometres per degree of latitude.
const KM_PER_DEG: f64 = 111.195;

/// The one "within a radius" rule of the network: whether `point` lies within `radius_km`
/// of `centre`, by an equirectangular approximation (within 0.5 % of [`haversine_km`] at city
/// scales). [`within_km_sql`] is the same arithmetic for the database, so a bank that lists
/// an open request may also accept it, and is alerted to it.
pub fn within_km(point: (f64, f64), centre: (f64, f64), radius_km: f64) -> bool {
    let (kx, ky) = planar_factors(centre.0);
    let (dy, dx) = (point.0 - centre.0, point.1 - centre.1);
    dy * dy * ky + dx * dx * kx <= radius_km * radius_km
}

fn planar_factors(centre_lat: f64) -> (f64, f64) {
    (
        (KM_PER_DEG * centre_lat.to_radians().cos()).powi(2),
        KM_PER_DEG * KM_PER_DEG,
    )
}

/// [`within_km`] as SQL arithmetic that both SQLite and Postgres evaluate (no trigonometry
/// in the database): the point is in columns, `radius_km` a column or a value.
pub fn within_km_sql<C: sea_orm::ColumnTrait>(
    lat: C,
    lon: C,
    centre: (f64, f64),
    radius_km: sea_orm::sea_query::SimpleExpr,
) -> sea_orm::sea_query::SimpleExpr {
    use sea_orm::sea_query::{Expr, ExprTrait};
    let (kx, ky) = planar_factors(centre.0);
    let dy = Expr::col(lat).sub(centre.0);
    let dx = Expr::col(lon).sub(centre.1);
    let d2 = dy.clone().mul(dy).mul(ky).add(dx.clone().mul(dx).mul(kx));
    d2.lte(radius_km.clone().mul(radius_km))
}

/// A latitude/longitude rectangle, in decimal degrees, edges included.
///
/// Never wraps: when a circle crosses the antimeridian or reaches a pole, the box widens to
/// every longitude (−180 to 180), so `min_lon <= max_lon` always holds and a query is two
/// plain ranges.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoundingBox {
    /// Southern edge (≥ −90).
    pub min_lat: f64,
    /// Northern edge (≤ 90).
    pub max_lat: f64,
    /// Western edge (≥ −180).
    pub min_lon: f64,
    /// Eastern edge (≤ 180).
    pub max_lon: f64,
}

impl BoundingBox {
    /// The smallest box (on a sphere) containing every point within `radius_km` of
    /// (`lat`, `lon`). A negative or NaN radius counts as 0.
    pub fn around(lat: f64, lon: f64, radius_km: f64) -> BoundingBox {
        let radius_km = radius_km.max(0.0);
        let angular = radius_km / EARTH_RADIUS_KM; // radians
        let d_lat = angular.to_degrees() + EDGE_SLACK_DEG;
        let min_lat = lat - d_lat;
        let max_lat = lat + d_lat;
        if min_lat <= -90.0 || max_lat >= 90.0 || angular >= std::f64::consts::FRAC_PI_2 {
            // A pole is inside the circle: every longitude is.
            return BoundingBox {
                min_lat: min_lat.max(-90.0),
                max_lat: max_lat.min(90.0),
                min_lon: -180.0,
                max_lon: 180.0,
            };
        }
        // Widest longitude reached by the circle (where it touches a meridian tangentially).
        let ratio = (angular.sin() / lat.to_radians().cos()).min(1.0);
        let d_lon = ratio.asin().to_degrees() + EDGE_SLACK_DEG;
        let (min_lon, max_lon) = (lon - d_lon, lon + d_lon);
        if min_lon < -180.0 || max_lon > 180.0 {
            return BoundingBox {
                min_lat,
                max_lat,
                min_lon: -180.0,
                max_lon: 180.0,
            };
        }
        BoundingBox {
            min_lat,
            max_lat,
            min_lon,
            max_lon,
        }
    }

    /// Whether the point lies inside the box (edges included).
    pub fn contains(&self, lat: f64, lon: f64) -> bool {
        (self.min_lat..=self.max_lat).contains(&lat) && (self.min_lon..=self.max_lon).contains(&lon)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(actual: f64, expected: f64, tolerance: f64) {
        assert!(
            (actual - expected).abs() <= tolerance,
            "{actual} is not within {tolerance} of {expected}"
        );
    }

    // Bengaluru (city centre), Chennai, Mysuru, Bengaluru MG Road and Kempegowda airport.
    const BLR: (f64, f64) = (12.9716, 77.5946);
    const MAA: (f64, f64) = (13.0827, 80.2707);
    const MYS: (f64, f64) = (12.2958, 76.6394);
    const MG_ROAD: (f64, f64) = (12.9756, 77.6050);
    const AIRPORT: (f64, f64) = (13.1989, 77.7068);

    #[test]
    fn known_distances() {
        // Bengaluru–Chennai ~290 km and Bengaluru–Mysuru ~128 km in a straight line.
        close(haversine_km(BLR.0, BLR.1, MAA.0, MAA.1), 290.17, 0.05);
        close(haversine_km(BLR.0, BLR.1, MYS.0, MYS.1), 128.02, 0.05);
        // Across Bengaluru: MG Road to the airport ~27 km.
        close(
            haversine_km(MG_ROAD.0, MG_ROAD.1, AIRPORT.0, AIRPORT.1),
            27.17,
            0.05,
        );
        // Big Ben to the Statue of Liberty ~5575 km.
        close(
            haversine_km(51.5007, -0.1246, 40.6892, -74.0445),
            5574.85,
            0.5,
        );
    }

    #[test]
    fn one_degree_is_r_times_pi_over_180() {
        let one_degree = EARTH_RADIUS_KM * std::f64::consts::PI / 180.0; // ≈ 111.195 km
        close(haversine_km(0.0, 0.0, 1.0, 0.0), one_degree, 1e-9);
        close(haversine_km(0.0, 0.0, 0.0, 1.0), one_degree, 1e-9);
        close(haversine_km(10.0, 20.0, 11.0, 20.0), one_degree, 1e-9);
    }

    #[test]
    fn same_point_is_zero_and_distance_is_symmetric() {
        assert_eq!(haversine_km(BLR.0, BLR.1, BLR.0, BLR.1), 0.0);
        let there = haversine_km(BLR.0, BLR.1, MAA.0, MAA.1);
        let back = haversine_km(MAA.0, MAA.1, BLR.0, BLR.1);
        close(there, back, 1e-9);
    }

    #[test]
    fn antipodes_and_antimeridian() {
        let half_circumference = EARTH_RADIUS_KM * std::f64::consts::PI;
        close(haversine_km(0.0, 0.0, 0.0, 180.0), half_circumference, 1e-6);
        close(
            haversine_km(90.0, 0.0, -90.0, 0.0),
            half_circumference,
            1e-6,
        );
        // 179.5°E to 179.5°W is one degree of longitude at the equator, not 359.
        close(
            haversine_km(0.0, 179.5, 0.0, -179.5),
            EARTH_RADIUS_KM * std::f64::consts::PI / 180.0,
            1e-6,
        );
    }

    #[test]
    fn box_around_bengaluru_is_tight_and_contains_the_circle() {
        let b = BoundingBox::around(BLR.0, BLR.1, 10.0);
        close(b.max_lat - BLR.0, 10.0 / 111.195, 1e-3);
        assert!(
            b.max_lon - BLR.1 > b.max_lat - BLR.0,
            "longitude degrees are shorter"
        );
        assert!(b.contains(BLR.0, BLR.1));
        assert!(b.contains(MG_ROAD.0, MG_ROAD.1));
        assert!(!b.contains(AIRPORT.0, AIRPORT.1));
        assert!(!b.contains(MAA.0, MAA.1));
    }

    /// Points on the circle's edge (just inside it) must be in the box.
    fn assert_circle_inside(lat: f64, lon: f64, radius_km: f64) {
        let b = BoundingBox::around(lat, lon, radius_km);
        assert!(
            b.min_lat >= -90.0 && b.max_lat <= 90.0 && b.min_lon >= -180.0 && b.max_lon <= 180.0
        );
        assert!(b.min_lat <= b.max_lat && b.min_lon <= b.max_lon);
        let angular = radius_km * 0.999_999 / EARTH_RADIUS_KM;
        let (phi, lambda) = (lat.to_radians(), lon.to_radians());
        for step in 0..360 {
            let bearing = f64::from(step).to_radians();
            // Destination point given start, bearing and angular distance.
            let phi2 =
                (phi.sin() * angular.cos() + phi.cos() * angular.sin() * bearing.cos()).asin();
            let lambda2 = lambda
                + (bearing.sin() * angular.sin() * phi.cos())
                    .atan2(angular.cos() - phi.sin() * phi2.sin());
            let mut lon2 = lambda2.to_degrees();
            while lon2 > 180.0 {
                lon2 -= 360.0;
            }
            while lon2 < -180.0 {
                lon2 += 360.0;
            }
            let lat2 = phi2.to_degrees();
            assert!(
                b.contains(lat2, lon2),
                "({lat}, {lon}) r={radius_km}: ({lat2}, {lon2}) outside {b:?}"
            );
        }
    }

    #[test]
    fn box_contains_the_circle_everywhere() {
        for (lat, lon) in [
            BLR,
            (0.0, 0.0),
            (60.0, 10.0),
            (-45.0, 170.0),
            (84.0, -30.0),
            (-88.0, 0.0),
        ] {
            for radius in [0.5, 10.0, 30.0, 250.0, 1000.0] {
                assert_circle_inside(lat, lon, radius);
            }
        }
    }

    #[test]
    fn box_near_the_antimeridian_widens_to_every_longitude() {
        let b = BoundingBox::around(-17.7, 179.95, 30.0); // Fiji
        assert_eq!((b.min_lon, b.max_lon), (-180.0, 180.0));
        assert!(b.contains(-17.7, -179.9));
        assert_circle_inside(-17.7, 179.95, 30.0);
        let b = BoundingBox::around(65.0, -179.99, 5.0);
        assert_eq!((b.min_lon, b.max_lon), (-180.0, 180.0));
    }

    #[test]
    fn box_over_a_pole_widens_and_clamps() {
        let b = BoundingBox::around(89.9, 45.0, 50.0);
        assert_eq!((b.min_lon, b.max_lon, b.max_lat), (-180.0, 180.0, 90.0));
        assert!(b.contains(89.9, -135.0));
        let b = BoundingBox::around(-89.95, 0.0, 10.0);
        assert_eq!((b.min_lat, b.min_lon, b.max_lon), (-90.0, -180.0, 180.0));
        let world = BoundingBox::around(10.0, 10.0, 25_000.0);
        assert_eq!(
            world,
            BoundingBox {
                min_lat: -90.0,
                max_lat: 90.0,
                min_lon: -180.0,
                max_lon: 180.0
            }
        );
    }

    #[test]
    fn zero_and_bad_radius() {
        let b = BoundingBox::around(BLR.0, BLR.1, 0.0);
        assert!(b.contains(BLR.0, BLR.1));
        assert!(b.max_lat - b.min_lat < 1e-6);
        assert_eq!(BoundingBox::around(BLR.0, BLR.1, -5.0), b);
        assert_eq!(BoundingBox::around(BLR.0, BLR.1, f64::NAN), b);
    }
}
