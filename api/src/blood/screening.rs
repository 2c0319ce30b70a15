//! Screening and processing rules (DESIGN §7.7): how long a positive screening test defers
//! the donor, and what separating a whole-blood unit makes.

use super::eligibility::Deferral;
use chrono::{Duration, NaiveDate};
use entity::{Component, TestResult};

/// The five markers of a screening panel, in panel order.
pub const MARKERS: [&str; 5] = ["HIV", "HBV", "HCV", "SYPHILIS", "MALARIA"];

/// The deferral after a panel with positive results (`results` in [`MARKERS`] order), or
/// `None` when nothing is positive. HIV, hepatitis B and hepatitis C defer for good; syphilis
/// for 12 months and malaria for 3 years from `today` (the intervals most national rules
/// give after treatment or recovery: WHO, UK JPAC). When several are positive the longest
/// wins. The reason names no marker: eligibility answers show only `DEFERRED`.
pub fn deferral_after(results: [TestResult; 5], today: NaiveDate) -> Option<Deferral> {
    let positive = |i: usize| results[i] == TestResult::Positive;
    if (0..3).any(positive) {
        return Some(Deferral {
            reason: "reactive screening test (lookback)".into(),
            until: None,
        });
    }
    let days = match (positive(3), positive(4)) {
        (_, true) => 3 * 365,
        (true, false) => 365,
        (false, false) => return None,
    };
    Some(Deferral {
        reason: "reactive screening test (lookback)".into(),
        until: Some(today + Duration::days(days)),
    })
}

/// The ISBT 128 product description code a unit of `component` is labelled with. These are
/// the codes of the common CPD/450 mL presentations; a service whose presentations differ
/// maps its own here.
pub fn product_code(component: Component) -> &'static str {
    match component {
        Component::WholeBlood => "E0001",
        Component::RedCells => "E0206",
        Component::Plasma => "E2555",
        Component::Platelets => "E3082",
        Component::Cryoprecipitate => "E3587",
    }
}

/// The volume of a component separated from a whole-blood unit of `parent_ml`: red cells
/// 55 %, plasma 40 %, a platelet concentrate 50 mL and cryoprecipitate 15 mL (never more
/// than the parent, never less than 1 mL).
pub fn separated_volume_ml(component: Component, parent_ml: i32) -> i32 {
    let ml = match component {
        Component::RedCells => parent_ml * 55 / 100,
        Component::Plasma => parent_ml * 40 / 100,
        Component::Platelets => 50,
        Component::Cryoprecipitate => 15,
        Component::WholeBlood => parent_ml,
    };
    ml.clamp(1, parent_ml.max(1))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use TestResult::{Inconclusive as I, Negative as N, Positive as P};

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 10).unwrap()
    }

    #[test]
    fn a_negative_or_inconclusive_panel_defers_nobody() {
        assert_eq!(deferral_after([N, N, N, N, N], today()), None);
        assert_eq!(deferral_after([I, N, I, N, I], today()), None);
    }

    #[test]
    fn viral_markers_defer_for_good() {
        for i in 0..3 {
            let mut r = [N; 5];
            r[i] = P;
            assert_eq!(deferral_after(r, today()).unwrap().until, None, "{i}");
        }
        assert_eq!(
            deferral_after([P, N, N, N, P], today()).unwrap().until,
            None
        );
    }

    #[test]
    fn syphilis_defers_a_year_and_malaria_three() {
        let s = deferral_after([N, N, N, P, N], today()).unwrap().until;
        assert_eq!(s, Some(today() + Duration::days(365)));
        let m = deferral_after([N, N, N, N, P], today()).unwrap().until;
        assert_eq!(m, Some(today() + Duration::days(1095)));
        let both = deferral_after([N, N, N, P, P], today()).unwrap().until;
        assert_eq!(both, m);
    }

    #[test]
    fn components_are_smaller_than_their_parent() {
        for c in [
            Component::RedCells,
            Component::Plasma,
            Component::Platelets,
            Component::Cryoprecipitate,
        ] {
            let v = separated_volume_ml(c, 450);
            assert!((1..450).contains(&v), "{c:?}: {v}");
        }
        assert_eq!(separated_volume_ml(Component::Platelets, 30), 30);
    }
}
