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

/// A doctor's hours as instants: the weekly rules, plus one-off extra hours, minus one-off
/// time off. Time off wins where the two overlap.
#[derive(Debug, Clone, Copy)]
pub struct Hours<'a> {
    pub rules: &'a [WeeklyRule],
    /// Extra hours, `[start, end)`.
    pub extra: &'a [(DateTime<Utc>, DateTime<Utc>)],
    /// Time off, `[start, end)`.
    pub off: &'a [(DateTime<Utc>, DateTime<Utc>)],
}

impl<'a> Hours<'a> {
    /// Weekly hours only.
    pub fn weekly(rules: &'a [WeeklyRule]) -> Self {
        Self {
            rules,
            extra: &[],
            off: &[],
        }
    }

    /// The open windows overlapping `[from, to)`: weekly and extra windows merged where they
    /// overlap or touch (a booking may run from one into the next), then cut by time off.
    pub fn windows(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        let mut all = windows(self.rules, from, to);
        all.extend(
            self.extra
                .iter()
                .copied()
                .filter(|(s, e)| *s < to && from < *e),
        );
        all.sort();
        let mut merged: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::new();
        for (s, e) in all {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        let mut off: Vec<_> = self.off.to_vec();
        off.sort();
        let mut out = Vec::new();
        for (mut s, e) in merged {
            for (os, oe) in &off {
                if *oe <= s || e <= *os {
                    continue;
                }
                if s < *os {
                    out.push((s, *os));
                }
                s = s.max(*oe);
            }
            if s < e {
                out.push((s, e));
            }
        }
        out
    }

    /// Whether `[start, end)` lies inside one open window.
    pub fn contain(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
        self.windows(start, end)
            .iter()
            .any(|(s, e)| *s <= start && end <= *e)
    }

    /// Whether any time off overlaps `[start, end)`.
    pub fn off_during(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
        self.off.iter().any(|(s, e)| *s < end && start < *e)
    }
}

/// What a slot must keep clear of, besides the hours.
#[derive(Debug, Clone, Copy)]
pub struct Constraints<'a> {
    /// The instant the slots are asked at: none starts before it plus `notice`.
    pub now: DateTime<Utc>,
    /// The doctor's minimum notice.
    pub notice: Duration,
    /// The doctor's buffer after a booking: a slot holds `[start, end + buffer)`.
    pub buffer: Duration,
    /// What the doctor's bookings hold, `[start, end + their buffer)`.
    pub busy: &'a [(DateTime<Utc>, DateTime<Utc>)],
}

impl Constraints<'_> {
    /// Nothing but the past is excluded.
    pub fn at(now: DateTime<Utc>) -> Self {
        Self {
            now,
            notice: Duration::zero(),
            buffer: Duration::zero(),
            busy: &[],
        }
    }

    /// Whether a slot `[start, end)` may be offered.
    pub fn allow(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
        let held = end + self.buffer;
        start > self.now
            && start >= self.now + self.notice
            && !self.busy.iter().any(|(bs, be)| *bs < held && start < *be)
    }
}

/// Open slots of `duration` in `[from, to)`: stepped from each weekly window's wall-clock
/// start and from each extra window's start, inside the open hours, allowed by `c`.
pub fn open_slots(
    hours: Hours<'_>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    duration: Duration,
    c: Constraints<'_>,
) -> Vec<Slot> {
    let mut out = Vec::new();
    if duration <= Duration::zero() {
        return out;
    }
    let open = hours.windows(from, to);
    let offer = |start: DateTime<Utc>, tz: Tz, out: &mut Vec<Slot>| {
        let end = start + duration;
        let inside = open.iter().any(|(s, e)| *s <= start && end <= *e);
        if start >= from && end <= to && inside && c.allow(start, end) {
            out.push(Slot { start, end, tz });
        }
    };
    for r in hours.rules {
        for d in days(r, from, to) {
            let mut local = d.and_time(r.start);
            let last = d.and_time(r.end);
            while local + duration <= last {
                if let Some(start) = exact(r.tz, local) {
                    offer(start, r.tz, &mut out);
                }
                local += duration;
            }
        }
    }
    // Extra hours are instants: their slots step in UTC, shown in the zone of the first
    // weekly rule (UTC for a doctor with none).
    let tz = hours.rules.first().map_or(Tz::UTC, |r| r.tz);
    for (s, e) in hours.extra {
        let mut start = *s;
        while start + duration <= *e {
            offer(start, tz, &mut out);
            start += duration;
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
            Hours::weekly(&rules),
            utc("2027-03-01T00:00:00Z"),
            utc("2027-03-16T00:00:00Z"),
            Duration::minutes(30),
            Constraints::at(utc("2026-11-23T00:00:00Z")),
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
            Hours::weekly(&[rule(Weekday::Sun, "01:00", "04:00", berlin)]),
            utc("2027-03-27T00:00:00Z"),
            utc("2027-03-29T00:00:00Z"),
            Duration::hours(1),
            Constraints::at(utc("2026-11-23T00:00:00Z")),
        );
        let local: Vec<_> = spring.iter().map(Slot::local_start).collect();
        assert_eq!(
            local,
            vec!["2027-03-28T01:00:00+01:00", "2027-03-28T03:00:00+02:00"]
        );
        let autumn = open_slots(
            Hours::weekly(&[rule(Weekday::Sun, "01:00", "04:00", berlin)]),
            utc("2027-10-30T00:00:00Z"),
            utc("2027-11-01T00:00:00Z"),
            Duration::hours(1),
            Constraints::at(utc("2026-11-23T00:00:00Z")),
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
            Hours::weekly(&rules),
            utc("2027-01-05T00:00:00Z"),
            utc("2027-01-06T00:00:00Z"),
            Duration::minutes(30),
            Constraints {
                busy: &[(utc("2027-01-05T10:15:00Z"), utc("2027-01-05T10:45:00Z"))],
                ..Constraints::at(utc("2027-01-05T09:10:00Z"))
            },
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
        assert!(
            Hours::weekly(&rules).contain(utc("2027-01-05T03:30:00Z"), utc("2027-01-05T04:00:00Z"))
        );
        assert!(
            !Hours::weekly(&rules)
                .contain(utc("2027-01-05T05:15:00Z"), utc("2027-01-05T05:45:00Z"))
        );
        assert!(
            !Hours::weekly(&rules)
                .contain(utc("2027-01-06T03:30:00Z"), utc("2027-01-06T04:00:00Z"))
        );
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

    #[test]
    fn time_off_across_the_new_york_spring_change_removes_exactly_its_instants() {
        let ny = chrono_tz::America::New_York;
        let rules = [
            rule(Weekday::Sat, "09:00", "12:00", ny),
            rule(Weekday::Mon, "09:00", "12:00", ny),
        ];
        // From Saturday 13 March 2027 10:00 EST (15:00Z) to Monday 15 March 10:00 EDT
        // (14:00Z): the clocks go forward in between, on Sunday.
        let off = [(utc("2027-03-13T15:00:00Z"), utc("2027-03-15T14:00:00Z"))];
        let hours = Hours {
            rules: &rules,
            extra: &[],
            off: &off,
        };
        let slots = open_slots(
            hours,
            utc("2027-03-13T00:00:00Z"),
            utc("2027-03-16T00:00:00Z"),
            Duration::hours(1),
            Constraints::at(utc("2026-11-23T00:00:00Z")),
        );
        let local: Vec<_> = slots.iter().map(Slot::local_start).collect();
        assert_eq!(
            local,
            vec![
                "2027-03-13T09:00:00-05:00",
                "2027-03-15T10:00:00-04:00",
                "2027-03-15T11:00:00-04:00"
            ]
        );
        assert!(hours.off_during(utc("2027-03-15T13:00:00Z"), utc("2027-03-15T14:00:00Z")));
        assert!(!hours.contain(utc("2027-03-15T13:00:00Z"), utc("2027-03-15T14:00:00Z")));
        assert!(hours.contain(utc("2027-03-15T14:00:00Z"), utc("2027-03-15T15:00:00Z")));
    }

    #[test]
    fn extra_hours_add_slots_and_join_the_weekly_window_they_touch() {
        let rules = [rule(Weekday::Tue, "09:00", "10:00", chrono_tz::UTC)];
        let extra = [(utc("2027-01-05T10:00:00Z"), utc("2027-01-05T11:00:00Z"))];
        let hours = Hours {
            rules: &rules,
            extra: &extra,
            off: &[],
        };
        assert_eq!(
            hours.windows(utc("2027-01-05T00:00:00Z"), utc("2027-01-06T00:00:00Z")),
            vec![(utc("2027-01-05T09:00:00Z"), utc("2027-01-05T11:00:00Z"))]
        );
        // A booking across the seam lies inside one (merged) window.
        assert!(hours.contain(utc("2027-01-05T09:45:00Z"), utc("2027-01-05T10:15:00Z")));
        let slots = open_slots(
            hours,
            utc("2027-01-05T00:00:00Z"),
            utc("2027-01-06T00:00:00Z"),
            Duration::minutes(30),
            Constraints::at(utc("2026-11-23T00:00:00Z")),
        );
        assert_eq!(slots.len(), 4);
        assert_eq!(slots[3].start, utc("2027-01-05T10:30:00Z"));
    }

    #[test]
    fn time_off_wins_over_extra_hours_and_weekly_hours() {
        let rules = [rule(Weekday::Tue, "09:00", "12:00", chrono_tz::UTC)];
        let extra = [(utc("2027-01-05T12:00:00Z"), utc("2027-01-05T13:00:00Z"))];
        let off = [(utc("2027-01-05T10:00:00Z"), utc("2027-01-05T12:30:00Z"))];
        let hours = Hours {
            rules: &rules,
            extra: &extra,
            off: &off,
        };
        assert_eq!(
            hours.windows(utc("2027-01-05T00:00:00Z"), utc("2027-01-06T00:00:00Z")),
            vec![
                (utc("2027-01-05T09:00:00Z"), utc("2027-01-05T10:00:00Z")),
                (utc("2027-01-05T12:30:00Z"), utc("2027-01-05T13:00:00Z"))
            ]
        );
    }

    #[test]
    fn a_buffer_keeps_the_time_after_each_booking_and_before_each_slot_free() {
        let rules = [rule(Weekday::Tue, "09:00", "12:00", chrono_tz::UTC)];
        // A booking 10:00-10:30 with a 15-minute buffer holds 10:00-10:45.
        let busy = [(utc("2027-01-05T10:00:00Z"), utc("2027-01-05T10:45:00Z"))];
        let slots = open_slots(
            Hours::weekly(&rules),
            utc("2027-01-05T00:00:00Z"),
            utc("2027-01-06T00:00:00Z"),
            Duration::minutes(15),
            Constraints {
                buffer: Duration::minutes(15),
                busy: &busy,
                ..Constraints::at(utc("2026-11-23T00:00:00Z"))
            },
        );
        let starts: Vec<_> = slots
            .iter()
            .map(|s| s.start.format("%H:%M").to_string())
            .collect();
        // 09:30 would hold 09:30-10:00 (its end plus buffer touches 10:00): allowed;
        // 09:45 would hold until 10:15 and is not; 10:45 is the first after the buffer.
        assert_eq!(
            starts,
            vec![
                "09:00", "09:15", "09:30", "10:45", "11:00", "11:15", "11:30", "11:45"
            ]
        );
    }

    #[test]
    fn minimum_notice_hides_slots_that_start_too_soon() {
        let rules = [rule(Weekday::Tue, "09:00", "12:00", chrono_tz::UTC)];
        let slots = open_slots(
            Hours::weekly(&rules),
            utc("2027-01-05T00:00:00Z"),
            utc("2027-01-06T00:00:00Z"),
            Duration::hours(1),
            Constraints {
                notice: Duration::minutes(120),
                ..Constraints::at(utc("2027-01-05T08:30:00Z"))
            },
        );
        let starts: Vec<_> = slots.iter().map(|s| s.start).collect();
        assert_eq!(starts, vec![utc("2027-01-05T11:00:00Z")]);
    }
}
