//! How a covered consultation's fee is split between the insurer and the patient: a pure
//! function of the amount, the coverage percentage and the plan's copay, tested cell by cell.
//!
//! The plan's deductible is stored but not applied: applying it needs what the patient has
//! already paid towards it this plan year, and there is no claims ledger yet.

/// The two shares of a fee, in minor units; they always sum to the amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shares {
    /// What the insurer pays.
    pub insurer: i64,
    /// What the patient pays.
    pub patient: i64,
}

/// Splits `amount` (minor units, not negative): the insurer pays `floor(amount * percent /
/// 100)` and the patient the rest, but the patient pays at least the plan's `copay`, capped
/// at the amount (the insurer's share shrinks to make room). `percent` is clamped to 0–100
/// and a negative copay counts as none.
pub fn split(amount: i64, percent: i32, copay: i64) -> Shares {
    let amount = amount.max(0);
    let percent = i128::from(percent.clamp(0, 100));
    // i128: the product of the largest amount and 100 fits an i64 too, but no input can
    // make this overflow.
    let insurer = i64::try_from(i128::from(amount) * percent / 100).unwrap_or(amount);
    let floor = copay.max(0).min(amount);
    let patient = (amount - insurer).max(floor);
    Shares {
        insurer: amount - patient,
        patient,
    }
}

/// The shares of an uncovered consultation: the patient pays it all.
pub fn uncovered(amount: i64) -> Shares {
    Shares {
        insurer: 0,
        patient: amount,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(insurer: i64, patient: i64) -> Shares {
        Shares { insurer, patient }
    }

    #[test]
    fn the_insurer_pays_its_percentage_rounded_down() {
        assert_eq!(split(50_000, 80, 0), s(40_000, 10_000));
        assert_eq!(split(999, 50, 0), s(499, 500), "floor for the insurer");
        assert_eq!(split(1, 99, 0), s(0, 1));
        assert_eq!(split(50_000, 100, 0), s(50_000, 0));
        assert_eq!(split(50_000, 0, 0), s(0, 50_000));
    }

    #[test]
    fn the_patient_pays_at_least_the_copay() {
        // 90% leaves 5,000 to the patient, below a 15,000 copay.
        assert_eq!(split(50_000, 90, 15_000), s(35_000, 15_000));
        // 80% leaves 10,000, above a 5,000 copay: the copay changes nothing.
        assert_eq!(split(50_000, 80, 5_000), s(40_000, 10_000));
        // Exactly the copay.
        assert_eq!(split(50_000, 80, 10_000), s(40_000, 10_000));
        // Full coverage still leaves the copay.
        assert_eq!(split(50_000, 100, 2_000), s(48_000, 2_000));
    }

    #[test]
    fn a_copay_above_the_amount_is_capped_at_the_amount() {
        assert_eq!(split(3_000, 80, 5_000), s(0, 3_000));
        assert_eq!(split(0, 80, 5_000), s(0, 0));
    }

    #[test]
    fn out_of_range_inputs_are_clamped_and_shares_always_sum_to_the_amount() {
        assert_eq!(split(1_000, 150, 0), s(1_000, 0));
        assert_eq!(split(1_000, -5, 0), s(0, 1_000));
        assert_eq!(split(1_000, 50, -100), s(500, 500));
        assert_eq!(
            split(10_000_000_000, 33, 0),
            s(3_300_000_000, 6_700_000_000)
        );
        for amount in [0, 1, 7, 99, 100, 101, 12_345, 10_000_000_000] {
            for percent in [0, 1, 33, 50, 67, 99, 100] {
                for copay in [0, 1, 50, 10_000, 20_000_000_000] {
                    let sh = split(amount, percent, copay);
                    assert_eq!(sh.insurer + sh.patient, amount);
                    assert!(sh.insurer >= 0 && sh.patient >= 0);
                    assert!(sh.patient >= copay.min(amount));
                }
            }
        }
    }

    #[test]
    fn an_uncovered_consultation_is_the_patients_alone() {
        assert_eq!(uncovered(50_000), s(0, 50_000));
    }
}
