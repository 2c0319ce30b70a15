//! Default shelf lives of blood components (DESIGN §5, "Stock"): a unit's `expiresAt`
//! defaults to its collection instant plus the shelf life of its component.

use chrono::{DateTime, TimeDelta, Utc};
use entity::Component;

/// How long a unit of `component` keeps: whole blood 35 days, red cells 42, platelets 5,
/// plasma and cryoprecipitate 365 (frozen).
pub fn shelf_life(component: Component) -> TimeDelta {
    let days = match component {
        Component::WholeBlood => 35,
        Component::RedCells => 42,
        Component::Platelets => 5,
        Component::Plasma | Component::Cryoprecipitate => 365,
    };
    TimeDelta::days(days)
}

/// The default expiry of a unit of `component` collected at `collected_at`: to the minute
/// and second, since platelets expire by the hour. Saturates at the latest representable
/// instant.
pub fn default_expires_at(component: Component, collected_at: DateTime<Utc>) -> DateTime<Utc> {
    collected_at
        .checked_add_signed(shelf_life(component))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn shelf_lives_follow_the_design() {
        assert_eq!(shelf_life(Component::WholeBlood), TimeDelta::days(35));
        assert_eq!(shelf_life(Component::RedCells), TimeDelta::days(42));
        assert_eq!(shelf_life(Component::Platelets), TimeDelta::days(5));
        assert_eq!(shelf_life(Component::Plasma), TimeDelta::days(365));
        assert_eq!(shelf_life(Component::Cryoprecipitate), TimeDelta::days(365));
    }

    #[test]
    fn platelets_expire_at_the_hour_of_collection() {
        let collected = Utc.with_ymd_and_hms(2026, 3, 30, 14, 45, 0).unwrap();
        assert_eq!(
            default_expires_at(Component::Platelets, collected),
            Utc.with_ymd_and_hms(2026, 4, 4, 14, 45, 0).unwrap()
        );
        assert_eq!(
            default_expires_at(Component::RedCells, collected),
            Utc.with_ymd_and_hms(2026, 5, 11, 14, 45, 0).unwrap()
        );
    }

    #[test]
    fn expiry_saturates() {
        assert_eq!(
            default_expires_at(Component::Plasma, DateTime::<Utc>::MAX_UTC),
            DateTime::<Utc>::MAX_UTC
        );
    }
}
