//! Quiet hours: when a non-CRITICAL delivery may go out. Pure.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

/// A user's quiet hours in their zone: from `start` to `end` local time, across midnight
/// when `start > end` (22:00–07:00).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuietHours {
    pub start: NaiveTime,
    pub end: NaiveTime,
    pub zone: Tz,
}

impl QuietHours {
    /// When a delivery queued at `now` may be sent: `now` outside the quiet hours, their end
    /// inside them.
    pub fn release(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        if self.start == self.end {
            return now;
        }
        let local = now.with_timezone(&self.zone);
        let (date, t) = (local.date_naive(), local.time());
        let end_on = if self.start < self.end {
            (self.start <= t && t < self.end).then_some(date)
        } else if t >= self.start {
            date.succ_opt()
        } else if t < self.end {
            Some(date)
        } else {
            None
        };
        match end_on {
            None => now,
            Some(day) => self.at(day, self.end).max(now),
        }
    }

    /// `time` on `day` in the zone, as UTC; in a spring-forward gap, the first instant after it.
    fn at(&self, day: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
        let naive = day.and_time(time);
        match self.zone.from_local_datetime(&naive).earliest() {
            Some(t) => t.with_timezone(&Utc),
            None => {
                // A gap (at most a few hours): step forward until the clock exists.
                let mut probe = naive;
                for _ in 0..(4 * 60) {
                    probe += Duration::minutes(1);
                    if let Some(t) = self.zone.from_local_datetime(&probe).earliest() {
                        return t.with_timezone(&Utc);
                    }
                }
                Utc.with_ymd_and_hms(day.year(), day.month(), day.day(), 0, 0, 0)
                    .single()
                    .unwrap_or_else(Utc::now)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(start: (u32, u32), end: (u32, u32), zone: &str) -> QuietHours {
        QuietHours {
            start: NaiveTime::from_hms_opt(start.0, start.1, 0).expect("time"),
            end: NaiveTime::from_hms_opt(end.0, end.1, 0).expect("time"),
            zone: zone.parse().expect("zone"),
        }
    }

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().expect("instant")
    }

    #[test]
    fn overnight_quiet_hours_hold_a_delivery_until_their_local_end() {
        // Kigali is UTC+2: 23:30 local is 21:30 UTC; the quiet hours end at 07:00 local.
        let quiet = q((22, 0), (7, 0), "Africa/Kigali");
        assert_eq!(
            quiet.release(utc("2026-12-05T21:30:00Z")),
            utc("2026-12-06T05:00:00Z")
        );
        // 03:00 local, after midnight: the same morning.
        assert_eq!(
            quiet.release(utc("2026-12-06T01:00:00Z")),
            utc("2026-12-06T05:00:00Z")
        );
        // 12:00 local: not quiet.
        assert_eq!(
            quiet.release(utc("2026-12-06T10:00:00Z")),
            utc("2026-12-06T10:00:00Z")
        );
        // The end itself is no longer quiet.
        assert_eq!(
            quiet.release(utc("2026-12-06T05:00:00Z")),
            utc("2026-12-06T05:00:00Z")
        );
    }

    #[test]
    fn daytime_quiet_hours_and_an_empty_window() {
        let quiet = q((13, 0), (14, 0), "UTC");
        assert_eq!(
            quiet.release(utc("2026-12-05T13:15:00Z")),
            utc("2026-12-05T14:00:00Z")
        );
        assert_eq!(
            quiet.release(utc("2026-12-05T12:59:00Z")),
            utc("2026-12-05T12:59:00Z")
        );
        let none = q((9, 0), (9, 0), "UTC");
        assert_eq!(
            none.release(utc("2026-12-05T09:00:00Z")),
            utc("2026-12-05T09:00:00Z")
        );
    }

    #[test]
    fn a_quiet_end_inside_a_spring_forward_gap_is_the_first_instant_after_it() {
        // New York skips 02:00–03:00 on 2026-03-08; quiet hours ending 02:30 end at 03:00
        // EDT (07:00 UTC).
        let quiet = q((1, 0), (2, 30), "America/New_York");
        assert_eq!(
            quiet.release(utc("2026-03-08T06:30:00Z")),
            utc("2026-03-08T07:00:00Z")
        );
    }
}
