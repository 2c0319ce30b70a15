//! `networkStats`' GraphQL types, in the shape DESIGN §7.6 gives (clients depend on it).

use super::service;
use crate::{camps::types::Camp, graphql::prelude::*, organizations::types::Organization};
use async_graphql::{InputObject, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{BloodGroup, Component, RequestStatus, Urgency};
use std::{collections::HashMap, sync::Arc};
use uuid::Uuid;

/// Input of `networkStats`.
#[derive(InputObject)]
pub struct NetworkStatsInput {
    /// Start of the period (inclusive); a request counts in the period of its creation.
    pub from: DateTime<Utc>,
    /// End of the period (exclusive).
    pub to: DateTime<Utc>,
    /// One organization's figures (its members may ask); without it, the network's (super
    /// admins).
    pub organization_id: Option<ID>,
    /// Only organizations and camps in this city.
    pub city: Option<String>,
}

/// Figures of the network, or of one organization, over a period.
#[derive(SimpleObject)]
pub struct NetworkStats {
    pub requests: RequestStats,
    pub wastage: Vec<WastageStat>,
    pub collections: Vec<CollectionStat>,
    pub camps: CampStats,
    pub stock: Vec<StockStat>,
}

#[derive(SimpleObject)]
pub struct RequestStats {
    pub total: i64,
    pub by_status: Vec<StatusCount>,
    pub by_urgency: Vec<UrgencyCount>,
    /// Whole minutes (each rounded to the nearest) from creation to acceptance (nearest-rank percentiles).
    pub time_to_accept: Vec<UrgencyPercentiles>,
    /// Whole minutes (each rounded to the nearest) from creation to fulfilment (nearest-rank percentiles).
    pub time_to_fulfil: Vec<UrgencyPercentiles>,
    /// Fulfilled requests over those no longer pending; 0 when none.
    pub fulfilment_rate: f64,
    /// Requests whose escalation went beyond the first alert.
    pub escalated: i64,
}

#[derive(SimpleObject)]
pub struct StatusCount {
    pub status: RequestStatus,
    pub count: i64,
}

#[derive(SimpleObject)]
pub struct UrgencyCount {
    pub urgency: Urgency,
    pub count: i64,
}

#[derive(SimpleObject)]
pub struct UrgencyPercentiles {
    pub urgency: Urgency,
    pub p50_minutes: f64,
    pub p90_minutes: f64,
}

// The banks and camps the rows name are loaded once per request (one statement each) and
// shared between rows: a year of the network names 200 banks in 3,440 collection rows, and
// a loader call per row cost more than every statement of the figures.

/// Units of one component at one bank that expired on the shelf or were discarded.
#[derive(SimpleObject)]
pub struct WastageStat {
    pub component: Component,
    pub blood_bank: Option<Arc<Organization>>,
    pub expired: i64,
    pub discarded: i64,
}

/// Donations of one UTC month (`YYYY-MM`) at one bank, and at one camp when collected there.
#[derive(SimpleObject)]
pub struct CollectionStat {
    pub month: String,
    pub blood_bank: Option<Arc<Organization>>,
    pub camp: Option<Arc<Camp>>,
    pub donations: i64,
    pub units: i64,
}

/// The banks and camps the figures name, by id.
pub struct Named {
    banks: HashMap<Uuid, Arc<Organization>>,
    camps: HashMap<Uuid, Arc<Camp>>,
}

impl Named {
    /// The banks and camps `stats` names, one statement each whatever the number of rows.
    pub async fn load(req: &RequestCtx, stats: &service::Stats) -> AppResult<Self> {
        let banks =
            (stats.wastage.iter().map(|w| w.bank)).chain(stats.collections.iter().map(|c| c.bank));
        let camps = stats.collections.iter().filter_map(|c| c.camp);
        Ok(Self {
            banks: prime(&req.loaders.orgs, banks).await?,
            camps: (prime(&req.loaders.camps, camps).await?.into_iter())
                .map(|(id, m)| (id, Arc::new(m.into())))
                .collect(),
        })
    }
}

/// Camps starting in the period: registrations not withdrawn, and donors who came.
#[derive(SimpleObject)]
pub struct CampStats {
    pub registrations: i64,
    pub attended: i64,
}

/// Available units over the average daily issue of the last 30 days; null when none issued.
#[derive(SimpleObject)]
pub struct StockStat {
    pub blood_group: BloodGroup,
    pub component: Component,
    pub days_of_stock: Option<f64>,
}

impl NetworkStats {
    /// The figures, with the banks and camps they name from `named`.
    pub fn new(s: service::Stats, named: &Named) -> Self {
        let bank = |id: &Uuid| named.banks.get(id).cloned();
        let pct = |v: Vec<service::Percentiles>| {
            v.into_iter()
                .map(|p| UrgencyPercentiles {
                    urgency: p.urgency,
                    p50_minutes: p.p50,
                    p90_minutes: p.p90,
                })
                .collect()
        };
        let r = s.requests;
        Self {
            requests: RequestStats {
                total: r.total,
                by_status: (r.by_status.into_iter())
                    .map(|(status, count)| StatusCount { status, count })
                    .collect(),
                by_urgency: (r.by_urgency.into_iter())
                    .map(|(urgency, count)| UrgencyCount { urgency, count })
                    .collect(),
                time_to_accept: pct(r.time_to_accept),
                time_to_fulfil: pct(r.time_to_fulfil),
                fulfilment_rate: r.fulfilment_rate,
                escalated: r.escalated,
            },
            wastage: (s.wastage.into_iter())
                .map(|w| WastageStat {
                    component: w.component,
                    blood_bank: bank(&w.bank),
                    expired: w.expired,
                    discarded: w.discarded,
                })
                .collect(),
            collections: (s.collections.into_iter())
                .map(|c| CollectionStat {
                    blood_bank: bank(&c.bank),
                    camp: c.camp.and_then(|id| named.camps.get(&id).cloned()),
                    month: c.month,
                    donations: c.donations,
                    units: c.units,
                })
                .collect(),
            camps: CampStats {
                registrations: s.registrations,
                attended: s.attended,
            },
            stock: (s.stock.into_iter())
                .map(|d| StockStat {
                    blood_group: d.blood_group,
                    component: d.component,
                    days_of_stock: d.days,
                })
                .collect(),
        }
    }
}
