//! ABO/Rh compatibility between a recipient and donor units, per component.
//!
//! [`TABLE`] is the one place the normal rules live (DESIGN §5, "Blood requests"): for each
//! recipient group and component, the donor groups that are a normal match, **in order of
//! preference** (the recipient's own group first). `acceptBloodRequest` reserves units in
//! that order, then earliest expiry first.
//!
//! The emergency override (an explicit, audited `allowEmergencyOverride` on the request) adds
//! further groups *after* every normal match, never before, so an override never takes a
//! better-matched unit's place:
//!
//! - **Red cells and platelets, Rh− recipient:** the Rh+ counterparts of the normally
//!   compatible groups, in the same ABO order (an AB− recipient of red cells gets AB+, A+, B+,
//!   O+ after AB−, A−, B−, O−).
//! - **Whole blood, non-O recipient:** low-titre group O whole blood, the recipient's own Rh
//!   first (O− then O+ for an Rh− recipient, O+ then O− for an Rh+ one, which spares O−
//!   stock). An Rh− recipient may thus receive O+ whole blood under the override: the
//!   override is a clinician's decision for a massive-haemorrhage case, and low-titre O
//!   whole blood programmes commonly issue O+ units; the override covers the Rh mismatch
//!   too.
//! - Nothing else: plasma and cryoprecipitate, Rh+ recipients of red cells or platelets, and
//!   group O recipients of whole blood get no extra groups.

use entity::{BloodGroup, Component};

use BloodGroup::{ANeg, APos, AbNeg, AbPos, BNeg, BPos, ONeg, OPos};

/// Every blood group, in the order the table and the tests use: O−, O+, A−, A+, B−, B+, AB−, AB+.
pub const ALL_GROUPS: [BloodGroup; 8] = [ONeg, OPos, ANeg, APos, BNeg, BPos, AbNeg, AbPos];

pub const ALL_COMPONENTS: [Component; 5] = [
    Component::WholeBlood,
    Component::RedCells,
    Component::Plasma,
    Component::Platelets,
    Component::Cryoprecipitate,
];

/// The ABO part of a blood group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Abo {
    /// Group O.
    O,
    /// Group A.
    A,
    /// Group B.
    B,
    /// Group AB.
    Ab,
}

/// The ABO part of `group`.
pub const fn abo(group: BloodGroup) -> Abo {
    match group {
        ONeg | OPos => Abo::O,
        ANeg | APos => Abo::A,
        BNeg | BPos => Abo::B,
        AbNeg | AbPos => Abo::Ab,
    }
}

/// Whether `group` is RhD positive.
pub const fn is_rh_positive(group: BloodGroup) -> bool {
    matches!(group, OPos | APos | BPos | AbPos)
}

/// The group with the given ABO part and Rh.
pub const fn group_of(abo: Abo, rh_positive: bool) -> BloodGroup {
    match (abo, rh_positive) {
        (Abo::O, false) => ONeg,
        (Abo::O, true) => OPos,
        (Abo::A, false) => ANeg,
        (Abo::A, true) => APos,
        (Abo::B, false) => BNeg,
        (Abo::B, true) => BPos,
        (Abo::Ab, false) => AbNeg,
        (Abo::Ab, true) => AbPos,
    }
}

/// The usual printed label of a group: `O−`, `AB+` (with a real minus sign).
pub const fn label(group: BloodGroup) -> &'static str {
    match group {
        ONeg => "O−",
        OPos => "O+",
        ANeg => "A−",
        APos => "A+",
        BNeg => "B−",
        BPos => "B+",
        AbNeg => "AB−",
        AbPos => "AB+",
    }
}

/// One recipient's row of [`TABLE`]: normal donor groups per component, best first.
#[derive(Debug)]
pub struct Row {
    /// The recipient's group.
    pub recipient: BloodGroup,
    /// Red cell concentrate.
    pub red_cells: &'static [BloodGroup],
    /// Plasma and cryoprecipitate: ABO reversed, Rh ignored.
    pub plasma: &'static [BloodGroup],
    /// Whole blood: same ABO; Rh− recipients Rh− only.
    pub whole_blood: &'static [BloodGroup],
    /// Platelets; Rh− recipients Rh− only.
    pub platelets: &'static [BloodGroup],
}

/// The compatibility table: one row per recipient, in [`ALL_GROUPS`] order.
///
/// Plasma and cryoprecipitate list donor ABO groups in the order O ← O, A, B, AB; A ← A, AB;
/// B ← B, AB; AB ← AB and, within each ABO group, the recipient's own Rh first. Platelets list
/// O ← O, A, B; A ← A, AB, B, O; B ← B, AB, A, O; AB ← AB, A, B, O, the same way (Rh−
/// recipients: Rh− only).
pub static TABLE: [Row; 8] = [
    Row {
        recipient: ONeg,
        red_cells: &[ONeg],
        plasma: &[ONeg, OPos, ANeg, APos, BNeg, BPos, AbNeg, AbPos],
        whole_blood: &[ONeg],
        platelets: &[ONeg, ANeg, BNeg],
    },
    Row {
        recipient: OPos,
        red_cells: &[OPos, ONeg],
        plasma: &[OPos, ONeg, APos, ANeg, BPos, BNeg, AbPos, AbNeg],
        whole_blood: &[OPos, ONeg],
        platelets: &[OPos, ONeg, APos, ANeg, BPos, BNeg],
    },
    Row {
        recipient: ANeg,
        red_cells: &[ANeg, ONeg],
        plasma: &[ANeg, APos, AbNeg, AbPos],
        whole_blood: &[ANeg],
        platelets: &[ANeg, AbNeg, BNeg, ONeg],
    },
    Row {
        recipient: APos,
        red_cells: &[APos, ANeg, OPos, ONeg],
        plasma: &[APos, ANeg, AbPos, AbNeg],
        whole_blood: &[APos, ANeg],
        platelets: &[APos, ANeg, AbPos, AbNeg, BPos, BNeg, OPos, ONeg],
    },
    Row {
        recipient: BNeg,
        red_cells: &[BNeg, ONeg],
        plasma: &[BNeg, BPos, AbNeg, AbPos],
        whole_blood: &[BNeg],
        platelets: &[BNeg, AbNeg, ANeg, ONeg],
    },
    Row {
        recipient: BPos,
        red_cells: &[BPos, BNeg, OPos, ONeg],
        plasma: &[BPos, BNeg, AbPos, AbNeg],
        whole_blood: &[BPos, BNeg],
        platelets: &[BPos, BNeg, AbPos, AbNeg, APos, ANeg, OPos, ONeg],
    },
    Row {
        recipient: AbNeg,
        red_cells: &[AbNeg, ANeg, BNeg, ONeg],
        plasma: &[AbNeg, AbPos],
        whole_blood: &[AbNeg],
        platelets: &[AbNeg, ANeg, BNeg, ONeg],
    },
    Row {
        recipient: AbPos,
        red_cells: &[AbPos, AbNeg, APos, ANeg, BPos, BNeg, OPos, ONeg],
        plasma: &[AbPos, AbNeg],
        whole_blood: &[AbPos, AbNeg],
        platelets: &[AbPos, AbNeg, APos, ANeg, BPos, BNeg, OPos, ONeg],
    },
];

/// Index of `group` in [`ALL_GROUPS`] and [`TABLE`].
const fn index(group: BloodGroup) -> usize {
    match group {
        ONeg => 0,
        OPos => 1,
        ANeg => 2,
        APos => 3,
        BNeg => 4,
        BPos => 5,
        AbNeg => 6,
        AbPos => 7,
    }
}

/// The table row of `recipient`.
pub fn row(recipient: BloodGroup) -> &'static Row {
    &TABLE[index(recipient)]
}

/// The donor groups whose `component` a `recipient` may normally receive, best first.
pub fn compatible_donors(recipient: BloodGroup, component: Component) -> &'static [BloodGroup] {
    let row = row(recipient);
    match component {
        Component::RedCells => row.red_cells,
        Component::Plasma | Component::Cryoprecipitate => row.plasma,
        Component::WholeBlood => row.whole_blood,
        Component::Platelets => row.platelets,
    }
}

/// The groups an explicit emergency override adds after [`compatible_donors`], in order;
/// empty when the override adds nothing for this recipient and component (see the module
/// documentation for the rules).
pub fn override_donors(recipient: BloodGroup, component: Component) -> Vec<BloodGroup> {
    let normal = compatible_donors(recipient, component);
    let candidates: Vec<BloodGroup> = match component {
        Component::RedCells | Component::Platelets if !is_rh_positive(recipient) => normal
            .iter()
            .map(|&donor| group_of(abo(donor), true))
            .collect(),
        Component::WholeBlood if abo(recipient) != Abo::O => {
            let own_rh = is_rh_positive(recipient);
            vec![group_of(Abo::O, own_rh), group_of(Abo::O, !own_rh)]
        }
        _ => Vec::new(),
    };
    let mut extra: Vec<BloodGroup> = Vec::with_capacity(candidates.len());
    for group in candidates {
        if !normal.contains(&group) && !extra.contains(&group) {
            extra.push(group);
        }
    }
    extra
}

/// The donor groups a recipient may receive: the normal matches, then (only with
/// `allow_override`) the emergency-override groups.
pub fn donors_for(
    recipient: BloodGroup,
    component: Component,
    allow_override: bool,
) -> Vec<BloodGroup> {
    let mut donors = compatible_donors(recipient, component).to_vec();
    if allow_override {
        donors.extend(override_donors(recipient, component));
    }
    donors
}

/// Where `donor` stands in the recipient's order of preference (0 = best), or `None` when
/// the unit may not be given (with or without the override, as asked).
pub fn preference_rank(
    recipient: BloodGroup,
    component: Component,
    donor: BloodGroup,
    allow_override: bool,
) -> Option<usize> {
    donors_for(recipient, component, allow_override)
        .iter()
        .position(|&group| group == donor)
}

/// Whether a `donor` unit of `component` may be given to `recipient`.
pub fn is_compatible(
    recipient: BloodGroup,
    component: Component,
    donor: BloodGroup,
    allow_override: bool,
) -> bool {
    preference_rank(recipient, component, donor, allow_override).is_some()
}

/// Whether giving `donor` to `recipient` is allowed **only** because of the override
/// (so the issue must be audited as an override).
pub fn needs_override(recipient: BloodGroup, component: Component, donor: BloodGroup) -> bool {
    !compatible_donors(recipient, component).contains(&donor)
        && override_donors(recipient, component).contains(&donor)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected compatibility, written independently of [`TABLE`]: rows are recipients and
    /// columns donors, both in the order O− O+ A− A+ B− B+ AB− AB+. `X` = normal match,
    /// `E` = only with the emergency override, `.` = never.
    const RED_CELLS: &str = "
        O-  : X E . . . . . .
        O+  : X X . . . . . .
        A-  : X E X E . . . .
        A+  : X X X X . . . .
        B-  : X E . . X E . .
        B+  : X X . . X X . .
        AB- : X E X E X E X E
        AB+ : X X X X X X X X
    ";
    const PLASMA: &str = "
        O-  : X X X X X X X X
        O+  : X X X X X X X X
        A-  : . . X X . . X X
        A+  : . . X X . . X X
        B-  : . . . . X X X X
        B+  : . . . . X X X X
        AB- : . . . . . . X X
        AB+ : . . . . . . X X
    ";
    const WHOLE_BLOOD: &str = "
        O-  : X . . . . . . .
        O+  : X X . . . . . .
        A-  : E E X . . . . .
        A+  : E E X X . . . .
        B-  : E E . . X . . .
        B+  : E E . . X X . .
        AB- : E E . . . . X .
        AB+ : E E . . . . X X
    ";
    const PLATELETS: &str = "
        O-  : X E X E X E . .
        O+  : X X X X X X . .
        A-  : X E X E X E X E
        A+  : X X X X X X X X
        B-  : X E X E X E X E
        B+  : X X X X X X X X
        AB- : X E X E X E X E
        AB+ : X X X X X X X X
    ";

    fn grid(component: Component) -> &'static str {
        match component {
            Component::RedCells => RED_CELLS,
            Component::Plasma | Component::Cryoprecipitate => PLASMA,
            Component::WholeBlood => WHOLE_BLOOD,
            Component::Platelets => PLATELETS,
        }
    }

    fn parse_group(name: &str) -> BloodGroup {
        match name {
            "O-" => ONeg,
            "O+" => OPos,
            "A-" => ANeg,
            "A+" => APos,
            "B-" => BNeg,
            "B+" => BPos,
            "AB-" => AbNeg,
            "AB+" => AbPos,
            other => panic!("unknown group {other}"),
        }
    }

    /// (recipient, donor, mark) for every cell of a grid.
    fn cells(text: &str) -> Vec<(BloodGroup, BloodGroup, char)> {
        let columns = [ONeg, OPos, ANeg, APos, BNeg, BPos, AbNeg, AbPos];
        let mut out = Vec::new();
        for line in text.lines().map(str::trim).filter(|line| !line.is_empty()) {
            let (name, marks) = line.split_once(':').expect("row has a colon");
            let recipient = parse_group(name.trim());
            let marks: Vec<char> = marks
                .split_whitespace()
                .map(|m| m.chars().next().expect("mark"))
                .collect();
            assert_eq!(marks.len(), 8, "row {name} has 8 cells");
            for (donor, mark) in columns.iter().zip(marks) {
                assert!(matches!(mark, 'X' | 'E' | '.'), "bad mark {mark}");
                out.push((recipient, *donor, mark));
            }
        }
        assert_eq!(out.len(), 64);
        out
    }

    #[test]
    fn every_cell_matches_the_independent_grid() {
        let mut checked = 0;
        for component in ALL_COMPONENTS {
            for (recipient, donor, mark) in cells(grid(component)) {
                let normal = compatible_donors(recipient, component).contains(&donor);
                let extra = override_donors(recipient, component).contains(&donor);
                let with_override = donors_for(recipient, component, true).contains(&donor);
                let without = donors_for(recipient, component, false).contains(&donor);
                let context = format!("{component:?}: {} ← {}", label(recipient), label(donor));
                assert_eq!(normal, mark == 'X', "normal {context}");
                assert_eq!(without, mark == 'X', "without override {context}");
                assert_eq!(extra, mark == 'E', "override only {context}");
                assert_eq!(with_override, mark != '.', "with override {context}");
                assert_eq!(
                    is_compatible(recipient, component, donor, false),
                    mark == 'X',
                    "{context}"
                );
                assert_eq!(
                    is_compatible(recipient, component, donor, true),
                    mark != '.',
                    "{context}"
                );
                assert_eq!(
                    needs_override(recipient, component, donor),
                    mark == 'E',
                    "{context}"
                );
                checked += 1;
            }
        }
        assert_eq!(checked, 320);
    }

    #[test]
    fn table_rows_are_in_group_order() {
        for (i, group) in ALL_GROUPS.iter().enumerate() {
            assert_eq!(TABLE[i].recipient, *group);
            assert_eq!(row(*group).recipient, *group);
        }
    }

    #[test]
    fn lists_have_no_duplicates_and_start_with_the_recipient() {
        for recipient in ALL_GROUPS {
            for component in ALL_COMPONENTS {
                let all = donors_for(recipient, component, true);
                for (i, group) in all.iter().enumerate() {
                    assert!(
                        !all[i + 1..].contains(group),
                        "{component:?} {recipient:?} repeats {group:?}"
                    );
                }
                assert_eq!(compatible_donors(recipient, component)[0], recipient);
            }
        }
    }

    #[test]
    fn red_cell_preference_order() {
        let expected: [(BloodGroup, &[BloodGroup]); 8] = [
            (ONeg, &[ONeg]),
            (OPos, &[OPos, ONeg]),
            (ANeg, &[ANeg, ONeg]),
            (APos, &[APos, ANeg, OPos, ONeg]),
            (BNeg, &[BNeg, ONeg]),
            (BPos, &[BPos, BNeg, OPos, ONeg]),
            (AbNeg, &[AbNeg, ANeg, BNeg, ONeg]),
            (AbPos, &[AbPos, AbNeg, APos, ANeg, BPos, BNeg, OPos, ONeg]),
        ];
        for (recipient, donors) in expected {
            assert_eq!(
                compatible_donors(recipient, Component::RedCells),
                donors,
                "{recipient:?}"
            );
            for (rank, donor) in donors.iter().enumerate() {
                assert_eq!(
                    preference_rank(recipient, Component::RedCells, *donor, false),
                    Some(rank)
                );
            }
        }
    }

    #[test]
    fn plasma_and_cryoprecipitate_share_the_reversed_abo_order() {
        assert_eq!(
            compatible_donors(OPos, Component::Plasma),
            &[OPos, ONeg, APos, ANeg, BPos, BNeg, AbPos, AbNeg]
        );
        assert_eq!(
            compatible_donors(ONeg, Component::Plasma),
            &[ONeg, OPos, ANeg, APos, BNeg, BPos, AbNeg, AbPos]
        );
        assert_eq!(
            compatible_donors(ANeg, Component::Plasma),
            &[ANeg, APos, AbNeg, AbPos]
        );
        assert_eq!(
            compatible_donors(BPos, Component::Plasma),
            &[BPos, BNeg, AbPos, AbNeg]
        );
        assert_eq!(compatible_donors(AbPos, Component::Plasma), &[AbPos, AbNeg]);
        for recipient in ALL_GROUPS {
            assert_eq!(
                compatible_donors(recipient, Component::Plasma),
                compatible_donors(recipient, Component::Cryoprecipitate)
            );
            assert!(override_donors(recipient, Component::Plasma).is_empty());
            assert!(override_donors(recipient, Component::Cryoprecipitate).is_empty());
        }
    }

    #[test]
    fn platelet_preference_order() {
        assert_eq!(
            compatible_donors(ONeg, Component::Platelets),
            &[ONeg, ANeg, BNeg]
        );
        assert_eq!(
            compatible_donors(OPos, Component::Platelets),
            &[OPos, ONeg, APos, ANeg, BPos, BNeg]
        );
        assert_eq!(
            compatible_donors(ANeg, Component::Platelets),
            &[ANeg, AbNeg, BNeg, ONeg]
        );
        assert_eq!(
            compatible_donors(BPos, Component::Platelets),
            &[BPos, BNeg, AbPos, AbNeg, APos, ANeg, OPos, ONeg]
        );
        assert_eq!(
            compatible_donors(AbNeg, Component::Platelets),
            &[AbNeg, ANeg, BNeg, ONeg]
        );
        assert_eq!(
            override_donors(ANeg, Component::Platelets),
            vec![APos, AbPos, BPos, OPos]
        );
        assert!(override_donors(APos, Component::Platelets).is_empty());
    }

    #[test]
    fn whole_blood_is_same_abo_and_rh_negative_only_for_rh_negative() {
        assert_eq!(compatible_donors(ANeg, Component::WholeBlood), &[ANeg]);
        assert_eq!(
            compatible_donors(APos, Component::WholeBlood),
            &[APos, ANeg]
        );
        assert_eq!(
            compatible_donors(AbPos, Component::WholeBlood),
            &[AbPos, AbNeg]
        );
        assert_eq!(compatible_donors(ONeg, Component::WholeBlood), &[ONeg]);
    }

    #[test]
    fn rh_negative_recipient_never_gets_rh_positive_red_cells_without_override() {
        for recipient in ALL_GROUPS.into_iter().filter(|g| !is_rh_positive(*g)) {
            for component in [
                Component::RedCells,
                Component::Platelets,
                Component::WholeBlood,
            ] {
                for donor in donors_for(recipient, component, false) {
                    assert!(
                        !is_rh_positive(donor),
                        "{component:?}: {recipient:?} ← {donor:?}"
                    );
                }
            }
        }
        assert_eq!(
            preference_rank(ONeg, Component::RedCells, OPos, false),
            None
        );
        assert_eq!(
            preference_rank(ONeg, Component::RedCells, OPos, true),
            Some(1)
        );
    }

    #[test]
    fn override_adds_rh_positive_counterparts_after_normal_matches() {
        assert_eq!(override_donors(ONeg, Component::RedCells), vec![OPos]);
        assert_eq!(override_donors(ANeg, Component::RedCells), vec![APos, OPos]);
        assert_eq!(
            override_donors(AbNeg, Component::RedCells),
            vec![AbPos, APos, BPos, OPos]
        );
        assert_eq!(
            donors_for(AbNeg, Component::RedCells, true),
            vec![AbNeg, ANeg, BNeg, ONeg, AbPos, APos, BPos, OPos]
        );
        for recipient in [OPos, APos, BPos, AbPos] {
            assert!(override_donors(recipient, Component::RedCells).is_empty());
            assert_eq!(
                donors_for(recipient, Component::RedCells, true),
                compatible_donors(recipient, Component::RedCells)
            );
        }
    }

    #[test]
    fn group_o_whole_blood_to_group_a_only_with_override() {
        assert_eq!(
            preference_rank(APos, Component::WholeBlood, OPos, false),
            None
        );
        assert_eq!(
            preference_rank(APos, Component::WholeBlood, ONeg, false),
            None
        );
        assert_eq!(
            donors_for(APos, Component::WholeBlood, true),
            vec![APos, ANeg, OPos, ONeg]
        );
        assert_eq!(
            donors_for(ANeg, Component::WholeBlood, true),
            vec![ANeg, ONeg, OPos]
        );
        assert_eq!(
            preference_rank(ANeg, Component::WholeBlood, ONeg, true),
            Some(1)
        );
        assert!(needs_override(ANeg, Component::WholeBlood, ONeg));
        // Never other ABO groups, even with the override.
        assert_eq!(
            preference_rank(ANeg, Component::WholeBlood, BNeg, true),
            None
        );
        // Group O recipients gain nothing.
        assert!(override_donors(ONeg, Component::WholeBlood).is_empty());
        assert!(override_donors(OPos, Component::WholeBlood).is_empty());
    }

    #[test]
    fn override_never_outranks_a_normal_match() {
        for recipient in ALL_GROUPS {
            for component in ALL_COMPONENTS {
                let normal = compatible_donors(recipient, component).len();
                for donor in override_donors(recipient, component) {
                    let rank = preference_rank(recipient, component, donor, true).expect("ranked");
                    assert!(rank >= normal);
                }
            }
        }
    }

    #[test]
    fn group_helpers_round_trip() {
        for group in ALL_GROUPS {
            assert_eq!(group_of(abo(group), is_rh_positive(group)), group);
        }
        assert_eq!(label(AbNeg), "AB−");
    }
}
