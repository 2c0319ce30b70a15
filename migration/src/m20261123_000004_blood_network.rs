use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Donors {
    Table,
    Id,
    UserId,
    NgoId,
    RegisteredByOrgId,
    FullName,
    DateOfBirth,
    Gender,
    BloodGroup,
    WeightKg,
    Phone,
    Email,
    Address,
    City,
    State,
    Latitude,
    Longitude,
    LastDonationDate,
    LastDonationType,
    LastHemoglobin,
    TotalDonations,
    EligibilityStatus,
    NextEligibleDate,
    Deferrals,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Donations {
    Table,
    Id,
    DonorId,
    BloodBankId,
    CampId,
    CollectedAt,
    DonationType,
    VolumeMl,
    Hemoglobin,
    BloodPressure,
    Notes,
    RecordedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum BloodUnits {
    Table,
    Id,
    UnitNumber,
    IsLocalBarcode,
    Component,
    BloodGroup,
    BloodBankId,
    VolumeMl,
    CollectedOn,
    ExpiresAt,
    Status,
    ReservedForRequestId,
    ReservedUntil,
    DonationId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum BloodUnitEvents {
    Table,
    Id,
    UnitId,
    BloodBankId,
    FromStatus,
    ToStatus,
    RequestId,
    ActorUserId,
    ActorApiClientId,
    Reason,
    CreatedAt,
}

#[derive(DeriveIden)]
enum StockThresholds {
    Table,
    Id,
    BloodBankId,
    BloodGroup,
    Component,
    CriticalThreshold,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum BloodRequests {
    Table,
    Id,
    HospitalId,
    RequestedByUserId,
    RequestedByApiClientId,
    PatientReference,
    PatientName,
    BloodGroup,
    Component,
    UnitsRequired,
    Urgency,
    UrgencyRank,
    NeededBy,
    MedicalNotes,
    Status,
    TargetBankId,
    BloodBankId,
    Latitude,
    Longitude,
    RadiusKm,
    EscalationLevel,
    AllowEmergencyOverride,
    OverrideReason,
    HoldUntil,
    AcceptedAt,
    FulfilledAt,
    RejectedAt,
    CancelledAt,
    ExpiredAt,
    RejectionReason,
    CancellationReason,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum BloodRequestDeclines {
    Table,
    Id,
    RequestId,
    BloodBankId,
    Reason,
    DeclinedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    Id,
    Scope,
    Operation,
    Key,
    RequestHash,
    ResultId,
    CreatedAt,
    ExpiresAt,
}

fn index(name: &str, table: impl IntoIden, cols: &[&'static str]) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(name).table(table);
    for c in cols {
        i.col(Alias::new(*c));
    }
    i.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Donors::Table)
                .col(uuid(Donors::Id).primary_key())
                .col(uuid_null(Donors::UserId).unique_key())
                .col(uuid_null(Donors::NgoId))
                .col(uuid_null(Donors::RegisteredByOrgId))
                .col(string_len(Donors::FullName, 200))
                .col(date(Donors::DateOfBirth))
                .col(string_len_null(Donors::Gender, 16))
                .col(string_len(Donors::BloodGroup, 8))
                .col(double(Donors::WeightKg))
                .col(string_len_uniq(Donors::Phone, 32))
                .col(string_len_null(Donors::Email, 254))
                .col(string_len_null(Donors::Address, 300))
                .col(string_len(Donors::City, 100))
                .col(string_len_null(Donors::State, 100))
                .col(double_null(Donors::Latitude))
                .col(double_null(Donors::Longitude))
                .col(date_null(Donors::LastDonationDate))
                .col(string_len_null(Donors::LastDonationType, 24))
                .col(double_null(Donors::LastHemoglobin))
                .col(integer(Donors::TotalDonations))
                .col(string_len(Donors::EligibilityStatus, 24))
                .col(date_null(Donors::NextEligibleDate))
                .col(json(Donors::Deferrals))
                .col(timestamp_with_time_zone(Donors::CreatedAt))
                .col(timestamp_with_time_zone(Donors::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Donors::Table, Donors::UserId)
                        .to(Users::Table, Users::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(Donors::Table, Donors::NgoId)
                        .to(Organizations::Table, Organizations::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index("ix_donors_ngo", Donors::Table, &["ngo_id", "id"]))
            .await?;
        m.create_index(index(
            "ix_donors_registered_by",
            Donors::Table,
            &["registered_by_org_id", "id"],
        ))
        .await?;
        m.create_index(index(
            "ix_donors_group_city",
            Donors::Table,
            &["blood_group", "city"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Donations::Table)
                .col(uuid(Donations::Id).primary_key())
                .col(uuid(Donations::DonorId))
                .col(uuid(Donations::BloodBankId))
                .col(uuid_null(Donations::CampId))
                .col(timestamp_with_time_zone(Donations::CollectedAt))
                .col(string_len(Donations::DonationType, 24))
                .col(integer(Donations::VolumeMl))
                .col(double(Donations::Hemoglobin))
                .col(string_len_null(Donations::BloodPressure, 16))
                .col(string_len_null(Donations::Notes, 1000))
                .col(uuid_null(Donations::RecordedBy))
                .col(timestamp_with_time_zone(Donations::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Donations::Table, Donations::DonorId)
                        .to(Donors::Table, Donors::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(Donations::Table, Donations::BloodBankId)
                        .to(Organizations::Table, Organizations::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_donations_donor",
            Donations::Table,
            &["donor_id", "collected_at"],
        ))
        .await?;
        m.create_index(index(
            "ix_donations_bank",
            Donations::Table,
            &["blood_bank_id", "donor_id"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(BloodUnits::Table)
                .col(uuid(BloodUnits::Id).primary_key())
                .col(string_len(BloodUnits::UnitNumber, 32))
                .col(boolean(BloodUnits::IsLocalBarcode))
                .col(string_len(BloodUnits::Component, 24))
                .col(string_len(BloodUnits::BloodGroup, 8))
                .col(uuid(BloodUnits::BloodBankId))
                .col(integer(BloodUnits::VolumeMl))
                .col(date(BloodUnits::CollectedOn))
                .col(timestamp_with_time_zone(BloodUnits::ExpiresAt))
                .col(string_len(BloodUnits::Status, 16))
                .col(uuid_null(BloodUnits::ReservedForRequestId))
                .col(timestamp_with_time_zone_null(BloodUnits::ReservedUntil))
                .col(uuid_null(BloodUnits::DonationId))
                .col(timestamp_with_time_zone(BloodUnits::CreatedAt))
                .col(timestamp_with_time_zone(BloodUnits::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(BloodUnits::Table, BloodUnits::BloodBankId)
                        .to(Organizations::Table, Organizations::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_blood_units_number_component")
                .table(BloodUnits::Table)
                .col(BloodUnits::UnitNumber)
                .col(BloodUnits::Component)
                .unique()
                .to_owned(),
        )
        .await?;
        // Matching and reservation: a bank's available units of a component and group,
        // soonest expiry first.
        m.create_index(index(
            "ix_blood_units_match",
            BloodUnits::Table,
            &[
                "blood_bank_id",
                "component",
                "status",
                "blood_group",
                "expires_at",
            ],
        ))
        .await?;
        // The compatible-stock search across every bank in a radius: component and group are
        // selective, the bank is not. A partial index over available units only, with the
        // bank and expiry in it, answers the grouped count with an index-only scan whose
        // plan does not depend on the length of the bank list.
        m.create_index(
            Index::create()
                .name("ix_blood_units_search")
                .table(BloodUnits::Table)
                .col(BloodUnits::Component)
                .col(BloodUnits::BloodGroup)
                .col(BloodUnits::BloodBankId)
                .col(BloodUnits::ExpiresAt)
                .and_where(Expr::col(BloodUnits::Status).eq("AVAILABLE"))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_blood_units_request",
            BloodUnits::Table,
            &["reserved_for_request_id"],
        ))
        .await?;
        m.create_index(index(
            "ix_blood_units_status_expiry",
            BloodUnits::Table,
            &["status", "expires_at"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(BloodUnitEvents::Table)
                .col(uuid(BloodUnitEvents::Id).primary_key())
                .col(uuid(BloodUnitEvents::UnitId))
                .col(uuid(BloodUnitEvents::BloodBankId))
                .col(string_len_null(BloodUnitEvents::FromStatus, 16))
                .col(string_len(BloodUnitEvents::ToStatus, 16))
                .col(uuid_null(BloodUnitEvents::RequestId))
                .col(uuid_null(BloodUnitEvents::ActorUserId))
                .col(uuid_null(BloodUnitEvents::ActorApiClientId))
                .col(string_len_null(BloodUnitEvents::Reason, 500))
                .col(timestamp_with_time_zone(BloodUnitEvents::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_unit_events_unit",
            BloodUnitEvents::Table,
            &["unit_id", "id"],
        ))
        .await?;
        m.create_index(index(
            "ix_unit_events_bank_status",
            BloodUnitEvents::Table,
            &["blood_bank_id", "to_status", "created_at"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(StockThresholds::Table)
                .col(uuid(StockThresholds::Id).primary_key())
                .col(uuid(StockThresholds::BloodBankId))
                .col(string_len(StockThresholds::BloodGroup, 8))
                .col(string_len(StockThresholds::Component, 24))
                .col(integer(StockThresholds::CriticalThreshold))
                .col(timestamp_with_time_zone(StockThresholds::UpdatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_stock_thresholds")
                .table(StockThresholds::Table)
                .col(StockThresholds::BloodBankId)
                .col(StockThresholds::BloodGroup)
                .col(StockThresholds::Component)
                .unique()
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(BloodRequests::Table)
                .col(uuid(BloodRequests::Id).primary_key())
                .col(uuid(BloodRequests::HospitalId))
                .col(uuid_null(BloodRequests::RequestedByUserId))
                .col(uuid_null(BloodRequests::RequestedByApiClientId))
                .col(string_len(BloodRequests::PatientReference, 64))
                .col(string_len_null(BloodRequests::PatientName, 200))
                .col(string_len(BloodRequests::BloodGroup, 8))
                .col(string_len(BloodRequests::Component, 24))
                .col(integer(BloodRequests::UnitsRequired))
                .col(string_len(BloodRequests::Urgency, 16))
                .col(integer(BloodRequests::UrgencyRank))
                .col(timestamp_with_time_zone(BloodRequests::NeededBy))
                .col(string_len_null(BloodRequests::MedicalNotes, 2000))
                .col(string_len(BloodRequests::Status, 16))
                .col(uuid_null(BloodRequests::TargetBankId))
                .col(uuid_null(BloodRequests::BloodBankId))
                .col(double(BloodRequests::Latitude))
                .col(double(BloodRequests::Longitude))
                .col(double(BloodRequests::RadiusKm))
                .col(integer(BloodRequests::EscalationLevel))
                .col(boolean(BloodRequests::AllowEmergencyOverride))
                .col(string_len_null(BloodRequests::OverrideReason, 500))
                .col(timestamp_with_time_zone_null(BloodRequests::HoldUntil))
                .col(timestamp_with_time_zone_null(BloodRequests::AcceptedAt))
                .col(timestamp_with_time_zone_null(BloodRequests::FulfilledAt))
                .col(timestamp_with_time_zone_null(BloodRequests::RejectedAt))
                .col(timestamp_with_time_zone_null(BloodRequests::CancelledAt))
                .col(timestamp_with_time_zone_null(BloodRequests::ExpiredAt))
                .col(string_len_null(BloodRequests::RejectionReason, 500))
                .col(string_len_null(BloodRequests::CancellationReason, 500))
                .col(timestamp_with_time_zone(BloodRequests::CreatedAt))
                .col(timestamp_with_time_zone(BloodRequests::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(BloodRequests::Table, BloodRequests::HospitalId)
                        .to(Organizations::Table, Organizations::Id),
                )
                .to_owned(),
        )
        .await?;
        // The default order (urgency, then age) is a keyset on (urgency_rank, id).
        m.create_index(index(
            "ix_requests_hospital",
            BloodRequests::Table,
            &["hospital_id", "urgency_rank", "id"],
        ))
        .await?;
        m.create_index(index(
            "ix_requests_status",
            BloodRequests::Table,
            &["status", "urgency_rank", "id"],
        ))
        .await?;
        m.create_index(index(
            "ix_requests_urgency",
            BloodRequests::Table,
            &["urgency_rank", "id"],
        ))
        .await?;
        m.create_index(index(
            "ix_requests_bank",
            BloodRequests::Table,
            &["blood_bank_id", "status"],
        ))
        .await?;
        m.create_index(index(
            "ix_requests_target",
            BloodRequests::Table,
            &["target_bank_id", "status"],
        ))
        .await?;
        m.create_index(index(
            "ix_requests_hold",
            BloodRequests::Table,
            &["status", "hold_until"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(BloodRequestDeclines::Table)
                .col(uuid(BloodRequestDeclines::Id).primary_key())
                .col(uuid(BloodRequestDeclines::RequestId))
                .col(uuid(BloodRequestDeclines::BloodBankId))
                .col(string_len_null(BloodRequestDeclines::Reason, 500))
                .col(uuid_null(BloodRequestDeclines::DeclinedBy))
                .col(timestamp_with_time_zone(BloodRequestDeclines::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_request_declines")
                .table(BloodRequestDeclines::Table)
                .col(BloodRequestDeclines::RequestId)
                .col(BloodRequestDeclines::BloodBankId)
                .unique()
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(IdempotencyKeys::Table)
                .col(uuid(IdempotencyKeys::Id).primary_key())
                .col(string_len(IdempotencyKeys::Scope, 64))
                .col(string_len(IdempotencyKeys::Operation, 64))
                .col(string_len(IdempotencyKeys::Key, 128))
                .col(string_len(IdempotencyKeys::RequestHash, 64))
                .col(uuid(IdempotencyKeys::ResultId))
                .col(timestamp_with_time_zone(IdempotencyKeys::CreatedAt))
                .col(timestamp_with_time_zone(IdempotencyKeys::ExpiresAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_idempotency_keys")
                .table(IdempotencyKeys::Table)
                .col(IdempotencyKeys::Scope)
                .col(IdempotencyKeys::Operation)
                .col(IdempotencyKeys::Key)
                .unique()
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            IdempotencyKeys::Table.into_iden(),
            BloodRequestDeclines::Table.into_iden(),
            BloodRequests::Table.into_iden(),
            StockThresholds::Table.into_iden(),
            BloodUnitEvents::Table.into_iden(),
            BloodUnits::Table.into_iden(),
            Donations::Table.into_iden(),
            Donors::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
