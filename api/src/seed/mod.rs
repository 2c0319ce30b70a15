//! `create-admin`, the demo data set of `seed`, and the benchmark data of `seed --scale N`.

mod demo_blood;
mod demo_camps;
mod demo_care;
pub mod history;
pub mod scale;

use crate::{
    auth::password::PasswordHasher,
    config::Config,
    db,
    error::{AppError, AppResult},
    identity::service::{self as identity, NewUser},
    organizations::{
        commands::{AddMember, RegisterOrganization},
        service::{self as orgs, StatusMove},
    },
    validation::{CountryCode, Email, GeoPoint, NewPassword, OrgCode, Phone, Text},
};
use entity::{OrgKind, OrgRole, PlatformRole, user};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, DatabaseConnection};

fn hasher(config: &Config) -> AppResult<PasswordHasher> {
    PasswordHasher::new(
        config.argon2_memory_kib,
        config.argon2_iterations,
        config.password_hash_concurrency,
    )
}

/// Creates a super admin, or promotes (and re-passwords) an existing account.
pub async fn create_admin(
    config: &Config,
    pool: &DatabaseConnection,
    email: &str,
    password: &str,
    name: &str,
) -> AppResult<user::Model> {
    let email = Email::parse(email, "email")?;
    let password = NewPassword::parse(password, "password")?;
    let name = Text::parse(name, "name", 200)?;
    let hash = hasher(config)?.hash(password.into_inner()).await?;
    let txn = db::begin_write(pool).await?;
    let user = match identity::find_by_email(&txn, &email).await? {
        Some(u) => {
            let mut am: user::ActiveModel = u.into();
            am.platform_role = Set(PlatformRole::SuperAdmin);
            am.password_hash = Set(hash);
            am.is_active = Set(true);
            am.updated_at = Set(db::now());
            am.update(&txn).await?
        }
        None => {
            identity::create_user(
                &txn,
                NewUser {
                    email,
                    password_hash: hash,
                    full_name: name.into_inner(),
                    phone: None,
                    platform_role: PlatformRole::SuperAdmin,
                },
            )
            .await?
        }
    };
    txn.commit().await?;
    Ok(user)
}

struct DemoOrg {
    code: &'static str,
    name: &'static str,
    kind: OrgKind,
    address: &'static str,
    lat: f64,
    lon: f64,
    phone: &'static str,
    people: &'static [(&'static str, &'static str, OrgRole)],
}

const CITY: &str = "Bengaluru";

const ORGS: &[DemoOrg] = &[
    DemoOrg {
        code: "HOSP-STMARTHA",
        name: "St. Martha's Hospital",
        kind: OrgKind::Hospital,
        address: "5 Nrupathunga Road",
        lat: 12.9636,
        lon: 77.5896,
        phone: "+918022275081",
        people: &[
            ("admin@stmartha.example", "Meera Rao", OrgRole::Admin),
            (
                "doctor@stmartha.example",
                "Dr. Arjun Shetty",
                OrgRole::Doctor,
            ),
            ("staff@stmartha.example", "Kavya Nair", OrgRole::Staff),
            (
                "radiology@stmartha.example",
                "Dr. Nisha Pillai",
                OrgRole::Radiologist,
            ),
        ],
    },
    DemoOrg {
        code: "HOSP-VICTORIA",
        name: "Victoria Hospital",
        kind: OrgKind::Hospital,
        address: "Fort Road, Kalasipalya",
        lat: 12.9569,
        lon: 77.5737,
        phone: "+918026701150",
        people: &[("admin@victoria.example", "Suresh Kumar", OrgRole::Admin)],
    },
    DemoOrg {
        code: "BB-RASHTROTTHANA",
        name: "Rashtrotthana Blood Centre",
        kind: OrgKind::BloodBank,
        address: "Kempegowda Nagar",
        lat: 12.9440,
        lon: 77.5728,
        phone: "+918026612730",
        people: &[
            ("admin@rashtrotthana.example", "Anil Hegde", OrgRole::Admin),
            ("staff@rashtrotthana.example", "Divya Gowda", OrgRole::Staff),
        ],
    },
    DemoOrg {
        code: "BB-LIONS",
        name: "Lions Blood Bank",
        kind: OrgKind::BloodBank,
        address: "Infantry Road",
        lat: 12.9817,
        lon: 77.6030,
        phone: "+918025594949",
        people: &[("admin@lionsblood.example", "Farah Khan", OrgRole::Admin)],
    },
    DemoOrg {
        code: "NGO-SANKALP",
        name: "Sankalp Donors Network",
        kind: OrgKind::Ngo,
        address: "HAL 2nd Stage, Indiranagar",
        lat: 12.9784,
        lon: 77.6408,
        phone: "+918041256789",
        people: &[("admin@sankalp.example", "Rohan Das", OrgRole::Admin)],
    },
];

/// Loads the demo network (skipping what already exists) and prints its logins.
pub async fn run(config: &Config, pool: &DatabaseConnection) -> AppResult<()> {
    if config.is_production() {
        return Err(AppError::bad_input(
            "APP_ENV",
            "the demo data set is not loaded in production",
        ));
    }
    let password = std::env::var("SEED_PASSWORD")
        .ok()
        .filter(|p| p.chars().count() >= 12)
        .unwrap_or_else(|| format!("demo-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]));
    let admin = create_admin(
        config,
        pool,
        "admin@lifeflow.example",
        &password,
        "LifeFlow Operations",
    )
    .await?;
    let hash = hasher(config)?.hash(password.clone()).await?;
    let mut logins = vec![(
        "admin@lifeflow.example".to_string(),
        "SUPER_ADMIN".to_string(),
    )];
    let txn = db::begin_write(pool).await?;
    let mut created = Vec::new();
    for o in ORGS {
        let admin_email = o.people[0].0;
        let mut ids = Vec::new();
        for (email, name, role) in o.people {
            let email = Email::parse(email, "email")?;
            let u = match identity::find_by_email(&txn, &email).await? {
                Some(u) => u,
                None => {
                    identity::create_user(
                        &txn,
                        NewUser {
                            email: email.clone(),
                            password_hash: hash.clone(),
                            full_name: (*name).to_string(),
                            phone: None,
                            platform_role: PlatformRole::User,
                        },
                    )
                    .await?
                }
            };
            ids.push((email, *role));
            logins.push((u.email, format!("{} of {}", entity_role(*role), o.code)));
        }
        let new = RegisterOrganization {
            code: OrgCode::parse(o.code, "code")?,
            name: Text::parse(o.name, "name", 200)?,
            kind: o.kind,
            address: Some(Text::parse(o.address, "address", 300)?),
            city: Text::parse(CITY, "city", 100)?,
            state: Some(Text::parse("Karnataka", "state", 100)?),
            postal_code: None,
            country: CountryCode::parse("IN", "country")?,
            location: GeoPoint::parse(o.lat, o.lon, "")?,
            phone: Some(Phone::parse(o.phone, "phone")?),
            email: Some(Email::parse(admin_email, "email")?),
            license_number: None,
            registration_number: None,
        };
        let first = identity::find_by_email(&txn, &ids[0].0)
            .await?
            .ok_or(AppError::NotFound("user"))?;
        let org = match orgs::create(&txn, new, first.id).await {
            Ok((org, _)) => org,
            Err(AppError::Conflict(_)) => continue,
            Err(e) => return Err(e),
        };
        orgs::change_status(&txn, org.id, StatusMove::Approve, None).await?;
        for (email, role) in ids.into_iter().skip(1) {
            let member = AddMember {
                organization_id: org.id,
                email,
                role,
            };
            orgs::add_member(&txn, member).await?;
        }
        created.push((o.code, org.id, first.id));
    }
    // The blood data goes with a freshly created network only, so a second run adds nothing.
    if created.len() == ORGS.len() {
        demo_blood::load(config, &txn, &created).await?;
        let find = |code: &str| {
            created
                .iter()
                .find(|o| o.0 == code)
                .copied()
                .ok_or(AppError::NotFound("demo organization"))
        };
        let (_, hospital, hospital_admin) = find("HOSP-STMARTHA")?;
        let (_, ngo, ngo_admin) = find("NGO-SANKALP")?;
        let (_, bank, _) = find("BB-RASHTROTTHANA")?;
        demo_camps::load(
            config,
            &txn,
            (hospital, hospital_admin),
            (ngo, ngo_admin),
            bank,
        )
        .await?;
        let user_of = async |email: &str| {
            identity::find_by_email(&txn, &Email::parse(email, "email")?)
                .await?
                .map(|u| u.id)
                .ok_or(AppError::NotFound("user"))
        };
        let doctor = user_of("doctor@stmartha.example").await?;
        let radiologist = user_of("radiology@stmartha.example").await?;
        logins.extend(demo_care::load(&txn, &hash, hospital, doctor, radiologist).await?);
    }
    txn.commit().await?;
    println!("Demo network loaded in {CITY}. Every account's password: {password}");
    println!(
        "(set SEED_PASSWORD to choose it; the super admin is {})",
        admin.email
    );
    for (email, what) in logins {
        println!("  {email:<32} {what}");
    }
    Ok(())
}

fn entity_role(r: OrgRole) -> &'static str {
    crate::auth::policy::role_name(r)
}
