//! Turning a doctor's weekly availability (wall-clock hours in an IANA time zone) into
//! instants, and open slots into a list: pure functions, so daylight-saving edge cases are
//! tested without a database.
//!
//! Hours are wall-clock hours: "Mondays 09:00–12:00 in New York" is 14:00Z in winter and
//! 13:00Z in summer. On the day the clocks go forward a slot whose wall-clock start does not
//! exist is skipped; on the day they go back a repeated wall-clock time is taken at its
//! first occurrence.

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset,
    TimeZone, Utc, Weekday,
};
use chrono_tz::Tz;

/// One weekly rule, parsed.
#[derive(Debug, Clone)]
pub struct WeeklyRule {
    /// Day of the week, in the rule's zone.
    pub weekday: Weekday,
    pub start: NaiveTime,
    /// Wall-clock end (after `start`; rules do not cross midnight).
    pub end: NaiveTime,
    /// The zone the hours are in.
    pub tz: Tz,
    /// First day the rule applies.
    pub valid_from: NaiveDate,
    /// Last day the rule applies, if it ends.
    pub valid_until: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    /// Start, UTC.
    pub start: DateTime<Utc>,
    /// End, UTC.
    pub end: DateTime<Utc>,
    /// The doctor's zone.
    pub tz: Tz,
}

impl Slot {
    /// The zone's offset from UTC at the start, in seconds.
    pub fn offset_seconds(&self) -> i32 {
        self.tz
            .offset_from_utc_datetime(&self.start.naive_utc())
            .fix()
            .local_minus_utc()
    }

    /// The start in the doctor's zone, RFC 3339 with its offset.
    pub fn local_start(&self) -> String {
        self.start.with_timezone(&self.tz).to_rfc3339()
    }
}

/// A wall-clock time to an instant: the first occurrence of a repeated time; `None` for a
/// time the clocks skip.
fn exact(tz: Tz, t: NaiveDateTime) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&t) {
        LocalResult::Single(x) | LocalResult::Ambiguous(x, _) => Some(x.with_timezone(&Utc)),
        LocalResult::None => None,
    }
}

/// A wall-clock boundary to an instant; a boundary inside a skipped hour moves to the end of
/// the gap (the first wall-clock minute that exists).
fn boundary(tz: Tz, t: NaiveDateTime) -> Option<DateTime<Utc>> {
    (0..=240).find_map(|m| exact(tz, t + Duration::minutes(m)))
}

fn applies(rule: &WeeklyRule, day: NaiveDate) -> bool {
    day.weekday() == rule.weekday
        && day >= rule.valid_from
        && rule.valid_until.is_none_or(|u| day <= u)
}

/// The local days of a rule's zone that can touch `[from, to)`.
fn days(rule: &WeeklyRule, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<NaiveDate> {
    let first = from.with_timezone(&rule.tz).date_naive() - Duration::days(1);
    let last = to.with_timezone(&rule.tz).date_naive() + Duration::days(1);
    first
        .iter_days()
        .take_while(|d| *d <= last)
        .filter(|d| applies(rule, *d))
        .collect()
}

/// The availability windows, as instants, that overlap `[from, to)`.
pub fn windows(
    rules: &[WeeklyRule],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let mut out = Vec::new();
    for r in rules {
        for d in days(r, from, to) {
            if let (Some(s), Some(e)) = (
                boundary(r.tz, d.and_time(r.start)),
                boundary(r.tz, d.and_time(r.end)),
            ) && s < e
                && s < to
                && from < e
            {
                out.push((s, e));
            }
        }
    }
    out.sort();
    out
}

/// Whether `[start, end)` lies inside one availability window.
pub fn within_availability(rules: &[WeeklyRule], start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
    windows(rules, start, end)
        .iter()
        .any(|(s, e)| *s <= start && end <= *e)
}

/// Open slots of `duration` in `[from, to)`: stepped from each window's wall-clock start,
/// starting after `now`, and overlapping none of the `busy` intervals.
pub fn open_slots(
    rules: &[WeeklyRule],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    duration: Duration,
    now: DateTime<Utc>,
    busy: &[(DateTime<Utc>, DateTime<Utc>)],
) -> Vec<Slot> {
    let mut out = Vec::new();
    if duration <= Duration::zero() {
        return out;
    }
    for r in rules {
        for d in days(r, from, to) {
            let Some(window_end) = boundary(r.tz, d.and_time(r.end)) else {
                continue;
            };
            let mut local = d.and_time(r.start);
            let last = d.and_time(r.end);
            while local + duration <= last {
                if let Some(start) = exact(r.tz, local) {
                    let end = start + duration;
                    let free = !busy.iter().any(|(bs, be)| *bs < end && start < *be);
                    if start > now && start >= from && end <= to && end <= window_end && free {
                        out.push(Slot {
                            start,
                            end,
                            tz: r.tz,
                        });
                    }
                }
                local += duration;
            }
        }
    }
    out.sort_by_key(|s| s.start);
    out.dedup_by_key(|s| s.start);
    out
}

/// The slots of one day between two wall-clock times in a zone (a camp's day): `[start,
/// end)` stepped by `step` from `start`, as UTC instants. A slot whose wall-clock start the
/// clocks skip is left out, as in [`open_slots`]; a repeated one is taken at its first
/// occurrence.
pub fn day_slots(
    tz: Tz,
    day: NaiveDate,
    start: NaiveTime,
    end: NaiveTime,
    step: Duration,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let mut out = Vec::new();
    if step <= Duration::zero() {
        return out;
    }
    let last = day.and_time(end);
    let mut local = day.and_time(start);
    while local + step <= last {
        if let Some(s) = exact(tz, local) {
            out.push((s, s + step));
        }
        local += step;
    }
    out
}

/// Whether two rules can apply at the same wall-clock time (same zone and day, overlapping
/// hours and validity periods).
pub fn overlap(a: &WeeklyRule, b: &WeeklyRule) -> bool {
    let periods = a.valid_until.is_none_or(|u| b.valid_from <= u)
        && b.valid_until.is_none_or(|u| a.valid_from <= u);
    a.weekday == b.weekday && a.start < b.end && b.start < a.end && periods
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .expect("time")
    }

    fn rule(weekday: Weekday, start: &str, end: &str, tz: Tz) -> WeeklyRule {
        WeeklyRule {
            weekday,
            start: NaiveTime::parse_from_str(start, "%H:%M").expect("start"),
            end: NaiveTime::parse_from_str(end, "%H:%M").expect("end"),
            tz,
            valid_from: NaiveDate::from_ymd_opt(2020, 1, 1).expect("date"),
            valid_until: None,
        }
    }

    #[test]
    fn a_camp_day_in_new_york_skips_the_hour_the_clocks_spring_over() {
        let tz = chrono_tz::America::New_York;
        let t = |s: &str| NaiveTime::parse_from_str(s, "%H:%M").expect("time");
        let day = |d: u32| NaiveDate::from_ymd_opt(2026, 3, d).expect("date");
        // 8 March 2026: 02:00 local does not exist.
        let slots = day_slots(tz, day(8), t("01:00"), t("04:00"), Duration::hours(1));
        assert_eq!(
            slots.iter().map(|s| s.0).collect::<Vec<_>>(),
            vec![utc("2026-03-08T06:00:00Z"), utc("2026-03-08T07:00:00Z")]
        );
        // A winter day: 09:00 local is 14:00Z, every half hour until 11:00.
        let slots = day_slots(tz, day(2), t("09:00"), t("11:00"), Duration::minutes(30));
        assert_eq!(slots.len(), 4);
        assert_eq!(
            slots[0],
            (utc("2026-03-02T14:00:00Z"), utc("2026-03-02T14:30:00Z"))
        );
    }

    #[test]
    fn wall_clock_hours_move_in_utc_when_new_york_springs_forward() {
        let rules = [rule(
            Weekday::Mon,
            "09:00",
            "10:00",
            chrono_tz::America::New_York,
        )];
        let slots = open_slots(
            &rules,
            utc("2027-03-01T00:00:00Z"),
            utc("2027-03-16T00:00:00Z"),
            Duration::minutes(30),
            utc("2026-11-23T00:00:00Z"),
            &[],
        );
        let starts: Vec<_> = slots.iter().map(|s| s.start).collect();
        assert_eq!(
            starts,
            vec![
                utc("2027-03-01T14:00:00Z"),
                utc("2027-03-01T14:30:00Z"),
                utc("2027-03-08T14:00:00Z"),
                utc("2027-03-08T14:30:00Z"),
                // 14 March 2027: clocks go forward; 09:00 EDT is 13:00Z.
                utc("2027-03-15T13:00:00Z"),
                utc("2027-03-15T13:30:00Z"),
            ]
        );
        assert_eq!(slots[0].offset_seconds(), -5 * 3600);
        assert_eq!(slots[4].offset_seconds(), -4 * 3600);
        assert_eq!(slots[4].local_start(), "2027-03-15T09:00:00-04:00");
    }

    #[test]
    fn a_slot_in_the_skipped_hour_is_left_out_and_a_repeated_hour_counts_once() {
        // Europe/Berlin: 28 March 2027 02:00 -> 03:00; 31 October 2027 03:00 -> 02:00.
        let berlin = chrono_tz::Europe::Berlin;
        let spring = open_slots(
            &[rule(Weekday::Sun, "01:00", "04:00", berlin)],
            utc("2027-03-27T00:00:00Z"),
            utc("2027-03-29T00:00:00Z"),
            Duration::hours(1),
            utc("2026-11-23T00:00:00Z"),
            &[],
        );
        let local: Vec<_> = spring.iter().map(Slot::local_start).collect();
        assert_eq!(
            local,
            vec!["2027-03-28T01:00:00+01:00", "2027-03-28T03:00:00+02:00"]
        );
        let autumn = open_slots(
            &[rule(Weekday::Sun, "01:00", "04:00", berlin)],
            utc("2027-10-30T00:00:00Z"),
            utc("2027-11-01T00:00:00Z"),
            Duration::hours(1),
            utc("2026-11-23T00:00:00Z"),
            &[],
        );
        let local: Vec<_> = autumn.iter().map(Slot::local_start).collect();
        assert_eq!(
            local,
            vec![
                "2027-10-31T01:00:00+02:00",
                "2027-10-31T02:00:00+02:00",
                "2027-10-31T03:00:00+01:00"
            ]
        );
    }

    #[test]
    fn busy_intervals_and_the_past_are_not_offered() {
        let rules = [rule(Weekday::Tue, "09:00", "11:00", chrono_tz::UTC)];
        let slots = open_slots(
            &rules,
            utc("2027-01-05T00:00:00Z"),
            utc("2027-01-06T00:00:00Z"),
            Duration::minutes(30),
            utc("2027-01-05T09:10:00Z"),
            &[(utc("2027-01-05T10:15:00Z"), utc("2027-01-05T10:45:00Z"))],
        );
        let starts: Vec<_> = slots.iter().map(|s| s.start).collect();
        assert_eq!(starts, vec![utc("2027-01-05T09:30:00Z")]);
    }

    #[test]
    fn a_booking_must_lie_inside_one_window() {
        let rules = [rule(
            Weekday::Tue,
            "09:00",
            "11:00",
            chrono_tz::Asia::Kolkata,
        )];
        // 09:00 IST = 03:30Z.
        assert!(within_availability(
            &rules,
            utc("2027-01-05T03:30:00Z"),
            utc("2027-01-05T04:00:00Z")
        ));
        assert!(!within_availability(
            &rules,
            utc("2027-01-05T05:15:00Z"),
            utc("2027-01-05T05:45:00Z")
        ));
        assert!(!within_availability(
            &rules,
            utc("2027-01-06T03:30:00Z"),
            utc("2027-01-06T04:00:00Z")
        ));
    }

    #[test]
    fn rules_overlap_only_on_the_same_day_hours_and_period() {
        let a = rule(Weekday::Mon, "09:00", "12:00", chrono_tz::UTC);
        let b = rule(Weekday::Mon, "11:00", "13:00", chrono_tz::UTC);
        let c = rule(Weekday::Mon, "12:00", "13:00", chrono_tz::UTC);
        let d = rule(Weekday::Tue, "09:00", "12:00", chrono_tz::UTC);
        assert!(overlap(&a, &b));
        assert!(!overlap(&a, &c));
        assert!(!overlap(&a, &d));
        let mut later = b.clone();
        later.valid_from = NaiveDate::from_ymd_opt(2030, 1, 1).expect("date");
        let mut earlier = a.clone();
        earlier.valid_until = NaiveDate::from_ymd_opt(2029, 12, 31);
        assert!(!overlap(&earlier, &later));
    }
}
