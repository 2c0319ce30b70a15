//! Drive mutations as typed commands. Either side of a drive acts: the use case decides,
//! from the drive (or the input's hospital and NGO), which side the caller acts for
//! (`auth::camps::drive_side`).

use super::{
    service::{self, DriveMove, NewDrive},
    types::*,
};
use crate::{
    audit::Change,
    auth::Rule,
    error::{AppError, AppResult},
    graphql::ids::parse_id,
    pipeline::{Command, Exec},
    validation::{Notes, Text},
};
use entity::drive;
use uuid::Uuid;

/// `proposeDrive`, parsed.
pub struct ProposeDrive(pub NewDrive);

impl TryFrom<ProposeDriveInput> for ProposeDrive {
    type Error = AppError;

    fn try_from(i: ProposeDriveInput) -> AppResult<Self> {
        let hospital_id = parse_id(&i.hospital_id, "input.hospitalId")?;
        let ngo_id = parse_id(&i.ngo_id, "input.ngoId")?;
        if i.date < chrono::Utc::now().date_naive() {
            return Err(AppError::bad_input("input.date", "must not be in the past"));
        }
        if !(1..=10_000).contains(&i.target_units) {
            return Err(AppError::bad_input(
                "input.targetUnits",
                "must be between 1 and 10000",
            ));
        }
        Ok(Self(NewDrive {
            hospital_id,
            ngo_id,
            drive_type: i.drive_type,
            blood_groups: i.blood_groups,
            component: i.component,
            target_units: i.target_units,
            date: i.date,
            blood_request_id: i
                .blood_request_id
                .as_ref()
                .map(|r| parse_id(r, "input.bloodRequestId"))
                .transpose()?,
            notes: Notes::parse_opt(i.notes.as_deref(), "input.notes", 2000)?
                .map(Notes::into_inner),
        }))
    }
}

impl Command for ProposeDrive {
    type Input = ProposeDriveInput;
    type Output = drive::Model;
    const ACTION: &'static str = "drive.propose";
    const ENTITY: &'static str = "drive";
    const RULE: Rule = Rule::SignedIn;

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        service::propose(exec.txn, exec.viewer, self.0).await
    }
}

/// A move of one drive, parsed; `M` picks the mutation (its input and audit action).
pub struct MoveDrive<const M: u8> {
    pub drive_id: Uuid,
    pub mv: DriveMove,
}

/// `acceptDrive`.
pub type AcceptDrive = MoveDrive<0>;
/// `rejectDrive`.
pub type RejectDrive = MoveDrive<1>;
/// `cancelDrive`.
pub type CancelDrive = MoveDrive<2>;
/// `completeDrive`.
pub type CompleteDrive = MoveDrive<3>;

fn drive_id(id: &async_graphql::ID) -> AppResult<Uuid> {
    parse_id(id, "input.driveId")
}

impl TryFrom<DriveActionInput> for AcceptDrive {
    type Error = AppError;

    fn try_from(i: DriveActionInput) -> AppResult<Self> {
        Ok(Self {
            drive_id: drive_id(&i.drive_id)?,
            mv: DriveMove::Accept,
        })
    }
}

impl TryFrom<RejectDriveInput> for RejectDrive {
    type Error = AppError;

    fn try_from(i: RejectDriveInput) -> AppResult<Self> {
        Ok(Self {
            drive_id: drive_id(&i.drive_id)?,
            mv: DriveMove::Reject(Text::parse(&i.reason, "input.reason", 500)?.into_inner()),
        })
    }
}

impl TryFrom<CancelDriveInput> for CancelDrive {
    type Error = AppError;

    fn try_from(i: CancelDriveInput) -> AppResult<Self> {
        Ok(Self {
            drive_id: drive_id(&i.drive_id)?,
            mv: DriveMove::Cancel(
                Text::parse_opt(i.reason.as_deref(), "input.reason", 500)?.map(Text::into_inner),
            ),
        })
    }
}

impl TryFrom<CompleteDriveInput> for CompleteDrive {
    type Error = AppError;

    fn try_from(i: CompleteDriveInput) -> AppResult<Self> {
        if !(0..=100_000).contains(&i.units_collected) {
            return Err(AppError::bad_input(
                "input.unitsCollected",
                "must be between 0 and 100000",
            ));
        }
        Ok(Self {
            drive_id: drive_id(&i.drive_id)?,
            mv: DriveMove::Complete(i.units_collected),
        })
    }
}

macro_rules! drive_moves {
    ($($m:literal, $input:ty, $action:literal;)*) => {$(
        impl Command for MoveDrive<$m> {
            type Input = $input;
            type Output = drive::Model;
            const ACTION: &'static str = $action;
            const ENTITY: &'static str = "drive";
            const RULE: Rule = Rule::SignedIn;

            fn entity_id(&self) -> Option<Uuid> {
                Some(self.drive_id)
            }

            async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
                service::move_drive(exec.txn, exec.viewer, self.drive_id, self.mv).await
            }
        }
    )*};
}

drive_moves! {
    0, DriveActionInput, "drive.accept";
    1, RejectDriveInput, "drive.reject";
    2, CancelDriveInput, "drive.cancel";
    3, CompleteDriveInput, "drive.complete";
}
