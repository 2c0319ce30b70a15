//! Donor eligibility: one pure function, [`assess`], over a named [`RuleSet`].
//!
//! The numbers are configuration, not code (DESIGN §5, "Donors"): the `default` set follows
//! the seeds; `us` and `uk` follow those national intervals. Choices where the rules leave
//! room:
//!
//! - **Age** is counted in whole years. A donor is eligible from the day they reach
//!   `min_age_years` up to and including the day before their `max_age_years + 1`th
//!   birthday (so with 18–65, eligible on the 18th birthday and on the 65th, ineligible
//!   from the 66th). Someone born on 29 February has their birthday on 1 March in other
//!   years.
//! - **Too young** is `Deferred` with the date they reach the minimum age; **too old** is
//!   `Ineligible`.
//! - **Weight** and **hemoglobin** below the minimum are `Deferred` without a date (they
//!   must be measured again). A missing hemoglobin measurement is not a reason.
//! - A **deferral** with no end date is permanent (`Ineligible`); one ending on a date is
//!   active while that date is after today (the donor may give again *on* the end date).
//! - The **interval** depends on the type of the last donation (whole blood, plasma,
//!   platelets), and for sets with a separate female whole-blood interval (UK) on the
//!   donor's gender. The donor may give again on `last + interval` days.
//! - When several reasons apply the status is the worst (`Ineligible` > `Deferred` >
//!   `Eligible`), and `reasons` lists every one. `next_eligible_date` is the latest date of
//!   the dated reasons, or `None` when the donor is `Ineligible` or when any undated reason
//!   (weight, hemoglobin) applies: no date can then be promised.
//! - `UnderObservation` is never computed; it is a status staff set for clinical follow-up.

use chrono::{Datelike, NaiveDate, TimeDelta};
use entity::{DonationType, Eligibility};
use serde::{Deserialize, Serialize};

/// The numbers eligibility is computed from, under a name chosen by a setting.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RuleSet {
    /// The setting value that selects this set (`default`, `us`, `uk`).
    pub name: &'static str,
    /// Youngest age, in whole years, at which a donor may give.
    pub min_age_years: u32,
    /// Oldest age, in whole years, at which a donor may still give.
    pub max_age_years: u32,
    /// Lowest weight allowed.
    pub min_weight_kg: f64,
    /// Lowest hemoglobin allowed, in g/dL.
    pub min_hemoglobin_g_dl: f64,
    /// Days after a whole-blood donation before the next.
    pub whole_blood_interval_days: i64,
    /// Days after a whole-blood donation for female donors, when it differs.
    pub female_whole_blood_interval_days: Option<i64>,
    /// Days after a plasma donation before the next.
    pub plasma_interval_days: i64,
    /// Days after a platelet donation before the next.
    pub platelets_interval_days: i64,
}

impl RuleSet {
    /// The seeds' numbers: age 18–65, 50 kg, 12.5 g/dL, 90/28/7 days.
    pub const DEFAULT: RuleSet = RuleSet {
        name: "default",
        min_age_years: 18,
        max_age_years: 65,
        min_weight_kg: 50.0,
        min_hemoglobin_g_dl: 12.5,
        whole_blood_interval_days: 90,
        female_whole_blood_interval_days: None,
        plasma_interval_days: 28,
        platelets_interval_days: 7,
    };

    /// United States intervals: whole blood every 56 days; age 17–75.
    pub const US: RuleSet = RuleSet {
        name: "us",
        min_age_years: 17,
        max_age_years: 75,
        min_weight_kg: 50.0,
        min_hemoglobin_g_dl: 12.5,
        whole_blood_interval_days: 56,
        female_whole_blood_interval_days: None,
        plasma_interval_days: 28,
        platelets_interval_days: 7,
    };

    /// United Kingdom intervals: whole blood every 12 weeks for men and 16 weeks for women;
    /// the other numbers are the defaults.
    pub const UK: RuleSet = RuleSet {
        name: "uk",
        min_age_years: 18,
        max_age_years: 65,
        min_weight_kg: 50.0,
        min_hemoglobin_g_dl: 12.5,
        whole_blood_interval_days: 84,
        female_whole_blood_interval_days: Some(112),
        plasma_interval_days: 28,
        platelets_interval_days: 7,
    };

    /// Every named set.
    pub const ALL: [RuleSet; 3] = [Self::DEFAULT, Self::US, Self::UK];

    /// The set called `name` (case-insensitive, surrounding spaces ignored).
    pub fn by_name(name: &str) -> Option<RuleSet> {
        let name = name.trim();
        Self::ALL
            .into_iter()
            .find(|set| set.name.eq_ignore_ascii_case(name))
    }

    /// Days to wait after a donation of `donation_type` by a donor of `gender`.
    pub fn interval_days(&self, donation_type: DonationType, gender: Option<&str>) -> i64 {
        match donation_type {
            DonationType::WholeBlood => match self.female_whole_blood_interval_days {
                Some(days) if is_female(gender) => days,
                _ => self.whole_blood_interval_days,
            },
            DonationType::Plasma => self.plasma_interval_days,
            DonationType::Platelets => self.platelets_interval_days,
        }
    }
}

impl Default for RuleSet {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Whether a stored gender value means female (`FEMALE` or `F`, any case).
pub fn is_female(gender: Option<&str>) -> bool {
    gender.is_some_and(|g| {
        let g = g.trim();
        g.eq_ignore_ascii_case("female") || g.eq_ignore_ascii_case("f")
    })
}

/// A deferral recorded on a donor, stored as JSON (`{"reason": …, "until": "2026-05-01"}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deferral {
    /// Why, in plain words.
    pub reason: String,
    /// The first day the donor may give again; `None` = permanent.
    pub until: Option<NaiveDate>,
}

/// What eligibility is computed from.
#[derive(Debug, Clone, PartialEq)]
pub struct DonorFacts {
    /// Date of birth.
    pub date_of_birth: NaiveDate,
    /// Latest weight.
    pub weight_kg: f64,
    /// Stored gender (`FEMALE`, `MALE`, or anything else).
    pub gender: Option<String>,
    /// Date and type of the latest donation.
    pub last_donation: Option<(NaiveDate, DonationType)>,
    /// Latest hemoglobin measurement, in g/dL.
    pub hemoglobin_g_dl: Option<f64>,
    /// Every deferral on record, active or not.
    pub deferrals: Vec<Deferral>,
}

/// The rule a reason comes from. A bank that cannot record a donation is told this, not
/// the reason itself: a deferral's reason is clinical text for the donor's own organization.
/// Declared in the order a bank is told them when several apply: what the record says
/// before what was measured at the chair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Criterion {
    /// A recorded deferral (or, outside [`assess`], observation).
    Deferred,
    Age,
    /// The interval since the last donation.
    Interval,
    Weight,
    Hemoglobin,
}

impl Criterion {
    /// The wire name (`extensions.reason`).
    pub fn code(self) -> &'static str {
        match self {
            Self::Age => "AGE",
            Self::Weight => "WEIGHT",
            Self::Hemoglobin => "HEMOGLOBIN",
            Self::Deferred => "DEFERRED",
            Self::Interval => "INTERVAL",
        }
    }

    /// What a bank is told, without the donor's details.
    pub fn summary(self) -> &'static str {
        match self {
            Self::Age => "the donor's age is outside the range allowed to donate",
            Self::Weight => "the donor weighs less than the minimum to donate",
            Self::Hemoglobin => "hemoglobin is below the minimum to donate",
            Self::Deferred => "the donor is deferred and cannot donate now",
            Self::Interval => "too soon after the donor's last donation",
        }
    }
}

/// The outcome of [`assess`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Assessment {
    /// `Eligible`, `Deferred` or `Ineligible` (never `UnderObservation`).
    pub status: Eligibility,
    /// Every reason that applies, in plain English; empty when eligible.
    pub reasons: Vec<String>,
    /// The rule of each reason, in the same order.
    pub criteria: Vec<Criterion>,
    /// When a deferred donor may give again, if a date can be given.
    pub next_eligible_date: Option<NaiveDate>,
}

/// The date `date_of_birth`'s holder turns `years` old (29 February → 1 March in common
/// years); `NaiveDate::MAX` if out of range.
pub fn birthday_at_age(date_of_birth: NaiveDate, years: i32) -> NaiveDate {
    let year = date_of_birth.year().saturating_add(years);
    NaiveDate::from_ymd_opt(year, date_of_birth.month(), date_of_birth.day())
        .or_else(|| NaiveDate::from_ymd_opt(year, 3, 1))
        .unwrap_or(NaiveDate::MAX)
}

/// Age in whole years on `today` (negative if born after `today`).
pub fn age_on(date_of_birth: NaiveDate, today: NaiveDate) -> i32 {
    let years = today.year() - date_of_birth.year();
    if today < birthday_at_age(date_of_birth, years) {
        years - 1
    } else {
        years
    }
}

fn add_days(date: NaiveDate, days: i64) -> NaiveDate {
    date.checked_add_signed(TimeDelta::days(days))
        .unwrap_or(NaiveDate::MAX)
}

fn donation_name(donation_type: DonationType) -> &'static str {
    match donation_type {
        DonationType::WholeBlood => "whole blood",
        DonationType::Plasma => "plasma",
        DonationType::Platelets => "platelet",
    }
}

/// Accumulates reasons and the worst status.
struct Findings {
    ineligible: bool,
    deferred: bool,
    undated: bool,
    latest: Option<NaiveDate>,
    reasons: Vec<String>,
    criteria: Vec<Criterion>,
}

impl Findings {
    fn ineligible(&mut self, criterion: Criterion, reason: String) {
        self.ineligible = true;
        self.reasons.push(reason);
        self.criteria.push(criterion);
    }

    fn deferred(&mut self, criterion: Criterion, until: Option<NaiveDate>, reason: String) {
        self.deferred = true;
        match until {
            Some(date) => self.latest = Some(self.latest.map_or(date, |d| d.max(date))),
            None => self.undated = true,
        }
        self.reasons.push(reason);
        self.criteria.push(criterion);
    }
}

/// Computes a donor's eligibility on `today` under `rules` (see the module documentation).
pub fn assess(rules: &RuleSet, facts: &DonorFacts, today: NaiveDate) -> Assessment {
    let mut found = Findings {
        ineligible: false,
        deferred: false,
        undated: false,
        latest: None,
        reasons: Vec::new(),
        criteria: Vec::new(),
    };

    let age = age_on(facts.date_of_birth, today);
    let min_age = i32::try_from(rules.min_age_years).unwrap_or(i32::MAX);
    let max_age = i32::try_from(rules.max_age_years).unwrap_or(i32::MAX);
    if age < min_age {
        let from = birthday_at_age(facts.date_of_birth, min_age);
        found.deferred(
            Criterion::Age,
            Some(from),
            format!("younger than the minimum age of {min_age}; may donate from {from}"),
        );
    } else if age > max_age {
        found.ineligible(
            Criterion::Age,
            format!("older than the maximum age of {max_age}"),
        );
    }

    // A NaN measurement counts as too low.
    if facts.weight_kg.is_nan() || facts.weight_kg < rules.min_weight_kg {
        found.deferred(
            Criterion::Weight,
            None,
            format!(
                "weighs {} kg, below the minimum of {} kg",
                facts.weight_kg, rules.min_weight_kg
            ),
        );
    }

    if let Some(hb) = facts.hemoglobin_g_dl
        && (hb.is_nan() || hb < rules.min_hemoglobin_g_dl)
    {
        found.deferred(
            Criterion::Hemoglobin,
            None,
            format!(
                "hemoglobin {hb} g/dL is below the minimum of {} g/dL",
                rules.min_hemoglobin_g_dl
            ),
        );
    }

    for deferral in &facts.deferrals {
        match deferral.until {
            None => found.ineligible(
                Criterion::Deferred,
                format!("permanently deferred: {}", deferral.reason),
            ),
            Some(until) if until > today => {
                found.deferred(
                    Criterion::Deferred,
                    Some(until),
                    format!("deferred until {until}: {}", deferral.reason),
                );
            }
            Some(_) => {}
        }
    }

    if let Some((last, donation_type)) = facts.last_donation {
        let days = rules.interval_days(donation_type, facts.gender.as_deref());
        let next = add_days(last, days);
        if today < next {
            found.deferred(
                Criterion::Interval,
                Some(next),
                format!(
                    "last {} donation on {last}; {days} days must pass, so the next is possible from {next}",
                    donation_name(donation_type)
                ),
            );
        }
    }

    let (status, next_eligible_date) = if found.ineligible {
        (Eligibility::Ineligible, None)
    } else if found.deferred {
        (
            Eligibility::Deferred,
            if found.undated { None } else { found.latest },
        )
    } else {
        (Eligibility::Eligible, None)
    };
    Assessment {
        status,
        reasons: found.reasons,
        criteria: found.criteria,
        next_eligible_date,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    const TODAY: (i32, u32, u32) = (2026, 6, 15);

    fn today() -> NaiveDate {
        d(TODAY.0, TODAY.1, TODAY.2)
    }

    /// A healthy 30-year-old who never donated.
    fn healthy() -> DonorFacts {
        DonorFacts {
            date_of_birth: d(1996, 3, 10),
            weight_kg: 70.0,
            gender: Some("MALE".into()),
            last_donation: None,
            hemoglobin_g_dl: Some(14.0),
            deferrals: Vec::new(),
        }
    }

    fn run(facts: &DonorFacts) -> Assessment {
        assess(&RuleSet::DEFAULT, facts, today())
    }

    fn eligible() -> Assessment {
        Assessment {
            status: Eligibility::Eligible,
            reasons: Vec::new(),
            criteria: Vec::new(),
            next_eligible_date: None,
        }
    }

    #[test]
    fn healthy_donor_is_eligible() {
        assert_eq!(run(&healthy()), eligible());
    }

    #[test]
    fn rule_sets_by_name() {
        assert_eq!(RuleSet::by_name("default"), Some(RuleSet::DEFAULT));
        assert_eq!(RuleSet::by_name(" US "), Some(RuleSet::US));
        assert_eq!(RuleSet::by_name("uk"), Some(RuleSet::UK));
        assert_eq!(RuleSet::by_name("fr"), None);
        assert_eq!(RuleSet::default(), RuleSet::DEFAULT);
        let r = RuleSet::DEFAULT;
        assert_eq!((r.min_age_years, r.max_age_years), (18, 65));
        assert_eq!((r.min_weight_kg, r.min_hemoglobin_g_dl), (50.0, 12.5));
        assert_eq!(
            (
                r.whole_blood_interval_days,
                r.plasma_interval_days,
                r.platelets_interval_days
            ),
            (90, 28, 7)
        );
        assert_eq!(RuleSet::US.whole_blood_interval_days, 56);
        assert_eq!(
            RuleSet::UK.interval_days(DonationType::WholeBlood, Some("MALE")),
            84
        );
        assert_eq!(
            RuleSet::UK.interval_days(DonationType::WholeBlood, Some("female")),
            112
        );
        assert_eq!(
            RuleSet::UK.interval_days(DonationType::WholeBlood, None),
            84
        );
        assert_eq!(
            RuleSet::DEFAULT.interval_days(DonationType::WholeBlood, Some("FEMALE")),
            90
        );
    }

    #[test]
    fn age_exactly_18_today_is_eligible() {
        let facts = DonorFacts {
            date_of_birth: d(2008, 6, 15),
            ..healthy()
        };
        assert_eq!(run(&facts), eligible());
    }

    #[test]
    fn one_day_before_18_is_deferred_until_the_birthday() {
        let facts = DonorFacts {
            date_of_birth: d(2008, 6, 16),
            ..healthy()
        };
        let a = run(&facts);
        assert_eq!(a.status, Eligibility::Deferred);
        assert_eq!(a.next_eligible_date, Some(d(2026, 6, 16)));
        assert_eq!(a.reasons.len(), 1);
        assert!(
            a.reasons[0].contains("minimum age of 18"),
            "{:?}",
            a.reasons
        );
    }

    #[test]
    fn much_too_young_is_deferred_to_the_18th_birthday() {
        let facts = DonorFacts {
            date_of_birth: d(2012, 1, 2),
            ..healthy()
        };
        assert_eq!(run(&facts).next_eligible_date, Some(d(2030, 1, 2)));
    }

    #[test]
    fn age_65_is_eligible_until_the_day_before_the_66th_birthday() {
        // 65th birthday today.
        let facts = DonorFacts {
            date_of_birth: d(1961, 6, 15),
            ..healthy()
        };
        assert_eq!(run(&facts), eligible());
        // 66th birthday tomorrow.
        let facts = DonorFacts {
            date_of_birth: d(1960, 6, 16),
            ..healthy()
        };
        assert_eq!(run(&facts), eligible());
    }

    #[test]
    fn age_66_is_ineligible_without_a_date() {
        let facts = DonorFacts {
            date_of_birth: d(1960, 6, 15),
            ..healthy()
        };
        let a = run(&facts);
        assert_eq!(a.status, Eligibility::Ineligible);
        assert_eq!(a.next_eligible_date, None);
        assert!(a.reasons[0].contains("maximum age of 65"));
    }

    #[test]
    fn leap_day_birthdays_fall_on_1_march() {
        let dob = d(2008, 2, 29);
        assert_eq!(birthday_at_age(dob, 18), d(2026, 3, 1));
        assert_eq!(age_on(dob, d(2026, 2, 28)), 17);
        assert_eq!(age_on(dob, d(2026, 3, 1)), 18);
        assert_eq!(birthday_at_age(dob, 16), d(2024, 2, 29));
        assert_eq!(age_on(dob, d(2024, 2, 29)), 16);
        assert_eq!(age_on(dob, d(2024, 2, 28)), 15);
        let facts = DonorFacts {
            date_of_birth: dob,
            ..healthy()
        };
        let a = assess(&RuleSet::DEFAULT, &facts, d(2026, 2, 28));
        assert_eq!(a.next_eligible_date, Some(d(2026, 3, 1)));
        assert_eq!(
            assess(&RuleSet::DEFAULT, &facts, d(2026, 3, 1)).status,
            Eligibility::Eligible
        );
    }

    #[test]
    fn us_rules_allow_17_and_75() {
        let seventeen = DonorFacts {
            date_of_birth: d(2009, 6, 15),
            ..healthy()
        };
        assert_eq!(
            assess(&RuleSet::US, &seventeen, today()).status,
            Eligibility::Eligible
        );
        assert_eq!(run(&seventeen).status, Eligibility::Deferred);
        let seventy_five = DonorFacts {
            date_of_birth: d(1950, 6, 16),
            ..healthy()
        };
        assert_eq!(
            assess(&RuleSet::US, &seventy_five, today()).status,
            Eligibility::Eligible
        );
        let seventy_six = DonorFacts {
            date_of_birth: d(1950, 6, 15),
            ..healthy()
        };
        assert_eq!(
            assess(&RuleSet::US, &seventy_six, today()).status,
            Eligibility::Ineligible
        );
    }

    #[test]
    fn weight_boundary() {
        let ok = DonorFacts {
            weight_kg: 50.0,
            ..healthy()
        };
        assert_eq!(run(&ok), eligible());
        let light = DonorFacts {
            weight_kg: 49.9,
            ..healthy()
        };
        let a = run(&light);
        assert_eq!(a.status, Eligibility::Deferred);
        assert_eq!(a.next_eligible_date, None);
        assert_eq!(
            a.reasons,
            vec!["weighs 49.9 kg, below the minimum of 50 kg".to_string()]
        );
        let nan = DonorFacts {
            weight_kg: f64::NAN,
            ..healthy()
        };
        assert_eq!(run(&nan).status, Eligibility::Deferred);
    }

    #[test]
    fn hemoglobin_boundary() {
        let ok = DonorFacts {
            hemoglobin_g_dl: Some(12.5),
            ..healthy()
        };
        assert_eq!(run(&ok), eligible());
        let low = DonorFacts {
            hemoglobin_g_dl: Some(12.4),
            ..healthy()
        };
        let a = run(&low);
        assert_eq!(a.status, Eligibility::Deferred);
        assert_eq!(a.next_eligible_date, None);
        assert_eq!(
            a.reasons,
            vec!["hemoglobin 12.4 g/dL is below the minimum of 12.5 g/dL".to_string()]
        );
        let unmeasured = DonorFacts {
            hemoglobin_g_dl: None,
            ..healthy()
        };
        assert_eq!(run(&unmeasured), eligible());
    }

    fn after(days: i64, donation_type: DonationType) -> DonorFacts {
        DonorFacts {
            last_donation: Some((add_days(today(), -days), donation_type)),
            ..healthy()
        }
    }

    #[test]
    fn whole_blood_interval_89_deferred_90_eligible() {
        let a = run(&after(89, DonationType::WholeBlood));
        assert_eq!(a.status, Eligibility::Deferred);
        assert_eq!(a.next_eligible_date, Some(add_days(today(), 1)));
        assert!(a.reasons[0].contains("whole blood"), "{:?}", a.reasons);
        assert_eq!(run(&after(90, DonationType::WholeBlood)), eligible());
        assert_eq!(run(&after(1000, DonationType::WholeBlood)), eligible());
    }

    #[test]
    fn plasma_interval_27_deferred_28_eligible() {
        let a = run(&after(27, DonationType::Plasma));
        assert_eq!(a.status, Eligibility::Deferred);
        assert_eq!(a.next_eligible_date, Some(add_days(today(), 1)));
        assert_eq!(run(&after(28, DonationType::Plasma)), eligible());
    }

    #[test]
    fn platelets_interval_6_deferred_7_eligible() {
        let a = run(&after(6, DonationType::Platelets));
        assert_eq!(a.status, Eligibility::Deferred);
        assert_eq!(a.next_eligible_date, Some(add_days(today(), 1)));
        assert_eq!(run(&after(7, DonationType::Platelets)), eligible());
    }

    #[test]
    fn donation_today_defers_for_the_whole_interval() {
        let a = run(&after(0, DonationType::WholeBlood));
        assert_eq!(a.next_eligible_date, Some(add_days(today(), 90)));
    }

    #[test]
    fn us_whole_blood_interval_is_56_days() {
        assert_eq!(
            assess(&RuleSet::US, &after(55, DonationType::WholeBlood), today()).status,
            Eligibility::Deferred
        );
        assert_eq!(
            assess(&RuleSet::US, &after(56, DonationType::WholeBlood), today()).status,
            Eligibility::Eligible
        );
    }

    #[test]
    fn uk_whole_blood_interval_is_84_days_for_men_and_112_for_women() {
        let uk = RuleSet::UK;
        let man = |days| after(days, DonationType::WholeBlood);
        let woman = |days| DonorFacts {
            gender: Some("FEMALE".into()),
            ..after(days, DonationType::WholeBlood)
        };
        assert_eq!(assess(&uk, &man(83), today()).status, Eligibility::Deferred);
        assert_eq!(assess(&uk, &man(84), today()).status, Eligibility::Eligible);
        let a = assess(&uk, &woman(84), today());
        assert_eq!(a.status, Eligibility::Deferred);
        assert_eq!(a.next_eligible_date, Some(add_days(today(), 28)));
        assert!(a.reasons[0].contains("112 days"), "{:?}", a.reasons);
        assert_eq!(
            assess(&uk, &woman(111), today()).status,
            Eligibility::Deferred
        );
        assert_eq!(
            assess(&uk, &woman(112), today()).status,
            Eligibility::Eligible
        );
        // Other genders use the general interval.
        let other = DonorFacts {
            gender: Some("OTHER".into()),
            ..after(84, DonationType::WholeBlood)
        };
        assert_eq!(assess(&uk, &other, today()).status, Eligibility::Eligible);
        // Plasma is not affected by gender.
        let plasma = DonorFacts {
            gender: Some("FEMALE".into()),
            ..after(28, DonationType::Plasma)
        };
        assert_eq!(assess(&uk, &plasma, today()).status, Eligibility::Eligible);
    }

    fn deferred_until(until: Option<NaiveDate>) -> DonorFacts {
        DonorFacts {
            deferrals: vec![Deferral {
                reason: "tattoo".into(),
                until,
            }],
            ..healthy()
        }
    }

    #[test]
    fn deferral_ending_today_is_over() {
        assert_eq!(run(&deferred_until(Some(today()))), eligible());
        assert_eq!(run(&deferred_until(Some(d(2020, 1, 1)))), eligible());
    }

    #[test]
    fn deferral_ending_tomorrow_is_active() {
        let tomorrow = add_days(today(), 1);
        let a = run(&deferred_until(Some(tomorrow)));
        assert_eq!(a.status, Eligibility::Deferred);
        assert_eq!(a.next_eligible_date, Some(tomorrow));
        assert_eq!(
            a.reasons,
            vec![format!("deferred until {tomorrow}: tattoo")]
        );
    }

    #[test]
    fn permanent_deferral_is_ineligible() {
        let a = run(&deferred_until(None));
        assert_eq!(a.status, Eligibility::Ineligible);
        assert_eq!(a.next_eligible_date, None);
        assert_eq!(a.reasons, vec!["permanently deferred: tattoo".to_string()]);
    }

    #[test]
    fn several_dated_reasons_give_the_latest_date() {
        let facts = DonorFacts {
            deferrals: vec![
                Deferral {
                    reason: "travel".into(),
                    until: Some(d(2026, 7, 1)),
                },
                Deferral {
                    reason: "surgery".into(),
                    until: Some(d(2026, 12, 1)),
                },
                Deferral {
                    reason: "old".into(),
                    until: Some(d(2025, 1, 1)),
                },
            ],
            ..after(10, DonationType::WholeBlood)
        };
        let a = run(&facts);
        assert_eq!(a.status, Eligibility::Deferred);
        assert_eq!(a.reasons.len(), 3);
        assert_eq!(a.next_eligible_date, Some(d(2026, 12, 1)));
    }

    #[test]
    fn an_undated_reason_removes_the_date() {
        let facts = DonorFacts {
            weight_kg: 45.0,
            ..after(10, DonationType::WholeBlood)
        };
        let a = run(&facts);
        assert_eq!(a.status, Eligibility::Deferred);
        assert_eq!(a.reasons.len(), 2);
        assert_eq!(a.next_eligible_date, None);
    }

    #[test]
    fn ineligible_wins_and_every_reason_is_listed() {
        let facts = DonorFacts {
            date_of_birth: d(1950, 1, 1),
            weight_kg: 45.0,
            hemoglobin_g_dl: Some(11.0),
            deferrals: vec![
                Deferral {
                    reason: "hepatitis B".into(),
                    until: None,
                },
                Deferral {
                    reason: "travel".into(),
                    until: Some(d(2026, 7, 1)),
                },
            ],
            ..after(3, DonationType::Platelets)
        };
        let a = run(&facts);
        assert_eq!(a.status, Eligibility::Ineligible);
        assert_eq!(a.next_eligible_date, None);
        assert_eq!(a.reasons.len(), 6, "{:?}", a.reasons);
        use Criterion::*;
        assert_eq!(
            a.criteria,
            [Age, Weight, Hemoglobin, Deferred, Deferred, Interval]
        );
    }

    #[test]
    fn deferral_json_is_camel_case() {
        let deferral = Deferral {
            reason: "malaria".into(),
            until: Some(d(2026, 9, 1)),
        };
        let json = serde_json::to_value(&deferral).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"reason": "malaria", "until": "2026-09-01"})
        );
        let back: Vec<Deferral> = serde_json::from_str(
            r#"[{"reason":"hiv","until":null},{"reason":"malaria","until":"2026-09-01"}]"#,
        )
        .unwrap();
        assert_eq!(back[0].until, None);
        assert_eq!(back[1], deferral);
    }

    #[test]
    fn assessment_serializes_camel_case() {
        let a = run(&after(89, DonationType::WholeBlood));
        let json = serde_json::to_value(&a).unwrap();
        assert_eq!(json["status"], "DEFERRED");
        assert_eq!(json["nextEligibleDate"], "2026-06-16");
    }

    #[test]
    fn gender_parsing() {
        assert!(is_female(Some("FEMALE")));
        assert!(is_female(Some(" f ")));
        assert!(!is_female(Some("MALE")));
        assert!(!is_female(Some("")));
        assert!(!is_female(None));
    }
}
