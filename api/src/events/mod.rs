//! The event bus: alerts, request transitions and notifications, published after their
//! transaction commits and delivered to this instance's subscribers at once, and to every
//! other instance through the transport (Redis pub/sub when `REDIS_URL` is set).
//!
//! Events carry their whole payload, so subscribers filter them in memory: an event never
//! costs a database query per subscriber.

pub mod redis_transport;
pub mod session;

use async_graphql::SimpleObject;
use chrono::{DateTime, Utc};
use entity::{
    AlertKind, BloodDeliveryStatus, BloodGroup, CampStatus, Component, NotificationKind,
    RequestStatus, Severity,
};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tokio::sync::broadcast;
use uuid::Uuid;

/// What an alert says: the same in the database, on the bus and in GraphQL.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, SimpleObject)]
pub struct AlertContent {
    pub kind: AlertKind,
    pub severity: Severity,
    /// A short line for lists and lock screens (no health data).
    pub title: String,
    pub message: String,
    /// The blood group the alert concerns (emergencies, stock), if any.
    pub blood_group: Option<BloodGroup>,
    /// The component the alert concerns (emergencies, stock), if any.
    pub component: Option<Component>,
}

impl AlertContent {
    /// An alert about no particular blood group or component.
    pub fn new(kind: AlertKind, severity: Severity, title: String, message: String) -> Self {
        Self {
            kind,
            severity,
            title,
            message,
            blood_group: None,
            component: None,
        }
    }

    /// The same alert, about this blood group and component.
    pub fn about(self, group: BloodGroup, component: Component) -> Self {
        Self {
            blood_group: Some(group),
            component: Some(component),
            ..self
        }
    }
}

/// An alert as raised, with who it is for.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AlertEvent {
    /// The alert's id.
    pub id: Uuid,
    #[serde(flatten)]
    pub content: AlertContent,
    /// The organization it is about.
    pub organization_id: Option<Uuid>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    /// Radius it was sent to.
    pub radius_km: Option<f64>,
    pub recipients: Vec<Uuid>,
    /// Whether super admins are the audience.
    pub super_admins: bool,
    /// Kind of the related entity.
    pub related_entity_type: Option<String>,
    pub related_entity_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

/// A blood request changed state.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RequestEvent {
    pub request_id: Uuid,
    pub hospital_id: Uuid,
    /// The accepting bank, if any.
    pub blood_bank_id: Option<Uuid>,
    pub status: RequestStatus,
    pub escalation_level: i32,
    pub at: DateTime<Utc>,
}

/// A notification for one user.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct NotificationEvent {
    pub id: Uuid,
    pub user_id: Uuid,
    pub kind: NotificationKind,
    pub priority: Severity,
    pub title: String,
    pub body: String,
    /// The alert behind it.
    pub alert_id: Option<Uuid>,
    /// Kind of the related entity (absent from events of older instances).
    #[serde(default)]
    pub related_entity_type: Option<String>,
    /// The related entity (absent from events of older instances).
    #[serde(default)]
    pub related_entity_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

/// A camp changed: a slot's places were taken or given back, or the camp moved state.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CampEvent {
    pub camp_id: Uuid,
    pub status: CampStatus,
    /// The slot whose places changed, with its booked count and capacity after the change.
    pub slot: Option<SlotPlaces>,
    pub at: DateTime<Utc>,
}

/// A slot's places after a change.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct SlotPlaces {
    pub slot_id: Uuid,
    pub booked: i32,
    pub capacity: i32,
}

/// A delivery moved or changed state: a position reported, dispatched, delivered, failed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DeliveryEvent {
    pub delivery_id: Uuid,
    pub request_id: Uuid,
    pub status: BloodDeliveryStatus,
    /// The position reported, if this event is one.
    pub position: Option<DeliveryPoint>,
    pub eta: Option<DateTime<Utc>>,
    pub at: DateTime<Utc>,
}

/// A reported position of a delivery.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct DeliveryPoint {
    pub latitude: f64,
    pub longitude: f64,
    pub recorded_at: DateTime<Utc>,
    pub temperature_c: Option<f64>,
}

/// Everything that flows on the bus.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type")]
pub enum Event {
    /// An alert was raised.
    Alert(AlertEvent),
    /// A request changed state.
    RequestChanged(RequestEvent),
    /// A user was notified.
    Notification(NotificationEvent),
    /// A camp's slots or state changed.
    CampChanged(CampEvent),
    /// A delivery reported a position or changed state.
    DeliveryTracked(DeliveryEvent),
    /// Access granted earlier was withdrawn: the streams it authorized end.
    Revoked(crate::auth::revocation::Revocation),
    /// Deliveries were queued in the outbox: its workers wake (notifications wake them by
    /// themselves).
    OutboxQueued,
}

/// What crosses instances: the event and the instance that published it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Envelope {
    /// The publishing instance (it already delivered locally and ignores its own echo).
    pub origin: Uuid,
    pub event: Event,
}

/// How events reach other instances.
#[async_trait::async_trait]
pub trait Transport: Send + Sync {
    /// Sends an envelope to the other instances without waiting on them (it may queue);
    /// failures are logged, never raised: local delivery has already happened.
    async fn publish(&self, envelope: &Envelope);
    /// `disabled`, `up` or `down`, for `/readyz`.
    fn state(&self) -> &'static str;
}

/// Single instance: nothing to send.
pub struct InProcess;

#[async_trait::async_trait]
impl Transport for InProcess {
    async fn publish(&self, _: &Envelope) {}
    fn state(&self) -> &'static str {
        "disabled"
    }
}

/// The bus of one instance.
#[derive(Clone)]
pub struct EventBus {
    local: broadcast::Sender<Arc<Event>>,
    transport: Arc<dyn Transport>,
    instance: Uuid,
}

impl EventBus {
    /// A bus whose local channel holds `capacity` events per lagging subscriber before that
    /// subscriber is told it missed some.
    pub fn new(capacity: usize, transport: Arc<dyn Transport>, instance: Uuid) -> Self {
        let (local, _) = broadcast::channel(capacity.max(16));
        Self {
            local,
            transport,
            instance,
        }
    }

    /// The same local channel with another transport (the Redis transport needs the local
    /// sender before the bus that owns it exists).
    pub fn new_sharing(bus: EventBus, transport: Arc<dyn Transport>) -> Self {
        Self {
            local: bus.local,
            transport,
            instance: bus.instance,
        }
    }

    /// An in-process bus (no Redis).
    pub fn in_process(capacity: usize) -> Self {
        Self::new(capacity, Arc::new(InProcess), Uuid::now_v7())
    }

    /// The sender that a transport feeds remote events into.
    pub fn local_sender(&self) -> broadcast::Sender<Arc<Event>> {
        self.local.clone()
    }

    /// A receiver of every event from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.local.subscribe()
    }

    /// Publishes committed events: here at once (all of them before anything is handed to
    /// the transport), elsewhere through the transport.
    pub async fn publish(&self, events: Vec<Event>) {
        for event in &events {
            let _ = self.local.send(Arc::new(event.clone()));
        }
        for event in events {
            self.transport
                .publish(&Envelope {
                    origin: self.instance,
                    event,
                })
                .await;
        }
    }

    /// The transport's state.
    pub fn transport_state(&self) -> &'static str {
        self.transport.state()
    }
}
