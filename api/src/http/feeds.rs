//! Shared subscription feeds: a websocket subscription's events are resolved and serialized
//! once per distinct (document, variables, operation name, visibility class), and the same
//! bytes go to every subscriber of that class, each under its own operation id.
//!
//! Each `subscribe` still runs through the schema for its own subscriber, with its own
//! session, exactly as before: validation, limits, the resolver's checks and the
//! connection's subscription cap. When the resolver admits it (an [`Admission`] in the
//! request: the stream stops after its checks and hands over its slot and its
//! [`StreamClass`]), the subscriber joins the feed of its key, started on first use with a
//! session of the same class and ended when its last member leaves. Anything else (a
//! refusal, a query or mutation over the socket, a document this module does not share)
//! keeps the stream it was given and is served as before.

use super::metrics::Metrics;
use crate::{
    events::session::{Admission, Session, StreamClass, StreamSlot, lagged_message},
    schema::AppSchema,
};
use async_graphql::{
    Name, PathSegment, Pos, Request, Response, ServerError, Variables,
    parser::types::{DocumentOperations, OperationType, Selection},
};
use axum::extract::ws::Utf8Bytes;
use futures_util::{StreamExt as _, stream::BoxStream};
use std::{
    collections::HashMap,
    pin::Pin,
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::Instant,
};
use tokio::sync::broadcast::{self, error::RecvError};

/// The most results a member may leave unsent before it is told it fell behind. A feed's
/// channel holds this many results from the start (~40 bytes each), so a feed per user
/// (`notificationReceived`) stays cheap; these are results for the member's own class, so
/// it is cut only when its socket has stopped draining, where before a subscriber was cut
/// after `EVENT_BUFFER` events of every kind had passed it by.
const MEMBER_LAG: usize = 64;

/// Distinct (protocol word, operation id) pairs whose whole message a [`Frame`] keeps for
/// its members: clients number their operations alike ("1" for the first), so a handful
/// covers nearly every member; a member with an id beyond them builds its own text.
const SHARED_MESSAGES: usize = 8;

/// One result of a feed, serialized once: its payload, and the whole message built once per
/// (protocol word, operation id) and shared by every member with that id (`Utf8Bytes` are
/// reference-counted, so a member's send copies no text). It also times the fan-out: from
/// the feed's send to the write of the last member that was in the feed then.
pub struct Frame {
    payload: Box<str>,
    sent: Instant,
    /// Members that have not written it yet.
    pending: AtomicUsize,
    messages: Mutex<Vec<(&'static str, Arc<str>, Utf8Bytes)>>,
}

impl Frame {
    /// The message for a member's protocol word and operation id.
    fn message(&self, word: &'static str, id_json: &Arc<str>) -> Utf8Bytes {
        let mut shared = self.messages.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, _, m)) = shared
            .iter()
            .find(|(w, id, _)| *w == word && (Arc::ptr_eq(id, id_json) || id == id_json))
        {
            return m.clone();
        }
        let m = Utf8Bytes::from(next_message(word, id_json, &self.payload));
        if shared.len() < SHARED_MESSAGES {
            shared.push((word, id_json.clone(), m.clone()));
        }
        m
    }
}

/// A message for the socket, and the feed result it carries, if any (told when written).
pub struct Outgoing {
    pub text: Utf8Bytes,
    frame: Option<Arc<Frame>>,
}

impl Outgoing {
    /// After the socket's write: the last member to write a result records the fan-out's
    /// duration.
    pub fn written(self, metrics: &Metrics) {
        if let Some(f) = self.frame
            && f.pending.fetch_sub(1, Ordering::AcqRel) == 1
        {
            metrics.feeds.record_fanout(f.sent.elapsed());
        }
    }
}

impl From<String> for Outgoing {
    fn from(text: String) -> Self {
        Self {
            text: text.into(),
            frame: None,
        }
    }
}

/// What decides a feed's bytes.
#[derive(Debug, PartialEq, Eq, Hash)]
struct FeedKey {
    query: String,
    /// The variables as JSON.
    variables: String,
    operation: Option<String>,
    classes: Vec<StreamClass>,
}

struct Entry {
    /// Tells this feed from a later one under the same key.
    id: u64,
    tx: broadcast::Sender<Arc<Frame>>,
    members: usize,
    task: tokio::task::AbortHandle,
}

#[derive(Default)]
struct Inner {
    next: u64,
    feeds: HashMap<Arc<FeedKey>, Entry>,
}

/// The feeds running on this instance.
#[derive(Default)]
pub struct Feeds {
    inner: Mutex<Inner>,
}

impl Feeds {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Forgets feed `id` once its stream has ended; its members are told by the channel
    /// closing.
    fn ended(&self, key: &FeedKey, id: u64, metrics: &Metrics) {
        let mut inner = self.lock();
        if inner.feeds.get(key).is_some_and(|e| e.id == id) {
            inner.feeds.remove(key);
            metrics.feeds.live.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// A member's place in a feed; the last one to leave ends the feed.
struct Ticket {
    hub: Arc<Hub>,
    key: Arc<FeedKey>,
    id: u64,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let counters = &self.hub.metrics.feeds;
        counters.members.fetch_sub(1, Ordering::Relaxed);
        let mut inner = self.hub.feeds.lock();
        let Some(e) = inner.feeds.get_mut(&self.key).filter(|e| e.id == self.id) else {
            return;
        };
        e.members -= 1;
        if e.members == 0 {
            e.task.abort();
            inner.feeds.remove(&self.key);
            counters.live.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// What a connection's subscriptions need to join feeds.
pub struct Hub {
    pub feeds: Arc<Feeds>,
    pub schema: AppSchema,
    pub metrics: Arc<Metrics>,
    /// The connection's session: its viewer starts the feeds its subscriptions need.
    pub session: Session,
    /// Results a member may fall behind its feed: `EVENT_BUFFER`, at most [`MEMBER_LAG`].
    pub buffer: usize,
    /// `next` (graphql-transport-ws) or `data` (the legacy protocol).
    pub word: &'static str,
}

/// A subscription that may be served by a feed: a single subscription operation with one
/// root field and no request extensions.
pub struct Plan {
    query: String,
    variables: Variables,
    variables_key: String,
    operation: Option<String>,
    /// The root field's position and response key, for a member's "fell behind" error.
    field: (Pos, Name),
}

impl Plan {
    pub fn of(request: &Request) -> Option<Self> {
        if !request.extensions.is_empty() {
            return None;
        }
        let doc = async_graphql::parser::parse_query(&request.query).ok()?;
        let op = match (&doc.operations, request.operation_name.as_deref()) {
            (DocumentOperations::Single(op), None) => op,
            (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name)?,
            (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next()?,
            _ => return None,
        };
        if op.node.ty != OperationType::Subscription {
            return None;
        }
        let [item] = op.node.selection_set.node.items.as_slice() else {
            return None;
        };
        let Selection::Field(field) = &item.node else {
            return None;
        };
        Some(Self {
            query: request.query.clone(),
            variables: request.variables.clone(),
            variables_key: serde_json::to_string(&request.variables).ok()?,
            operation: request.operation_name.clone(),
            field: (field.pos, field.node.response_key().node.clone()),
        })
    }
}

/// The text of a result message.
fn next_message(word: &str, id_json: &str, payload: &str) -> String {
    format!(r#"{{"type":"{word}","id":{id_json},"payload":{payload}}}"#)
}

/// The text of a `complete` message.
pub fn complete_message(id: &str) -> String {
    format!(
        r#"{{"type":"complete","id":{}}}"#,
        serde_json::Value::from(id)
    )
}

/// The text of a result message for a response of a subscriber's own stream.
fn own_message(word: &str, id_json: &str, resp: &Response) -> Option<String> {
    Some(next_message(
        word,
        id_json,
        &serde_json::to_string(resp).ok()?,
    ))
}

struct Fed {
    rx: broadcast::Receiver<Arc<Frame>>,
    /// The end of the member's session. Made once: a timer made per result would be
    /// registered and removed again for every member of every fan-out.
    until: Pin<Box<tokio::time::Sleep>>,
    field: (Pos, Name),
    _slots: Vec<StreamSlot>,
    _ticket: Ticket,
}

enum Phase {
    /// The subscriber's own execution: its checks, and all of it when not admitted to a
    /// feed.
    Own {
        stream: BoxStream<'static, Response>,
        admission: Option<Arc<Admission>>,
        plan: Option<Plan>,
        answered: bool,
    },
    Fed(Box<Fed>),
    Done,
}

/// Starts subscription `id` (a `subscribe` message's request) for the connection: the
/// messages to send for it, ending when it completes.
pub fn subscribe(
    hub: &Arc<Hub>,
    id: &str,
    request: Request,
    data: Arc<async_graphql::Data>,
) -> BoxStream<'static, Outgoing> {
    let plan = Plan::of(&request);
    let admission = plan.as_ref().map(|_| Arc::new(Admission::default()));
    let request = match &admission {
        Some(a) => request.data(a.clone()),
        None => request,
    };
    // As the protocol machine ran it: the connection's session as session data.
    let stream = async_graphql::Executor::execute_stream(&hub.schema, request, Some(data));
    let phase = Phase::Own {
        stream,
        admission,
        plan,
        answered: false,
    };
    let id_json: Arc<str> = serde_json::Value::from(id).to_string().into();
    let hub = hub.clone();
    futures_util::stream::unfold(phase, move |phase| {
        let (hub, id_json) = (hub.clone(), id_json.clone());
        async move { step(&hub, &id_json, phase).await }
    })
    .boxed()
}

async fn step(hub: &Arc<Hub>, id_json: &Arc<str>, mut phase: Phase) -> Option<(Outgoing, Phase)> {
    loop {
        match phase {
            Phase::Own {
                mut stream,
                admission,
                plan,
                answered,
            } => match stream.next().await {
                Some(resp) => {
                    let text = own_message(hub.word, id_json, &resp)?.into();
                    let phase = Phase::Own {
                        stream,
                        admission,
                        plan,
                        answered: true,
                    };
                    return Some((text, phase));
                }
                None => {
                    let admitted = admission.map(|a| a.take()).unwrap_or_default();
                    match plan {
                        Some(plan) if !answered && !admitted.is_empty() => {
                            phase = Phase::Fed(Box::new(join(hub, plan, admitted)));
                        }
                        _ => return None,
                    }
                }
            },
            Phase::Fed(mut fed) => {
                let got = tokio::select! {
                    biased;
                    () = &mut fed.until => return None,
                    got = fed.rx.recv() => got,
                };
                return match got {
                    Ok(frame) => {
                        hub.metrics.feeds.delivered.fetch_add(1, Ordering::Relaxed);
                        let out = Outgoing {
                            text: frame.message(hub.word, id_json),
                            frame: Some(frame),
                        };
                        Some((out, Phase::Fed(fed)))
                    }
                    Err(RecvError::Lagged(n)) => {
                        let (pos, key) = fed.field.clone();
                        let err = ServerError::new(lagged_message(n), Some(pos))
                            .with_path(vec![PathSegment::Field(key.to_string())]);
                        let text =
                            own_message(hub.word, id_json, &Response::from_errors(vec![err]))?;
                        Some((text.into(), Phase::Done))
                    }
                    Err(RecvError::Closed) => None,
                };
            }
            Phase::Done => return None,
        }
    }
}

/// Joins the feed of `plan` and the admitted classes, starting it if it is not running.
fn join(hub: &Arc<Hub>, plan: Plan, admitted: Vec<(StreamSlot, StreamClass)>) -> Fed {
    let (slots, classes): (Vec<_>, Vec<_>) = admitted.into_iter().unzip();
    let key = Arc::new(FeedKey {
        query: plan.query,
        variables: plan.variables_key,
        operation: plan.operation,
        classes,
    });
    let counters = &hub.metrics.feeds;
    let mut inner = hub.feeds.lock();
    let (rx, id) = match inner.feeds.get_mut(&key) {
        Some(e) => {
            e.members += 1;
            (e.tx.subscribe(), e.id)
        }
        None => {
            inner.next += 1;
            let id = inner.next;
            let (tx, rx) = broadcast::channel(hub.buffer.clamp(1, MEMBER_LAG));
            // A session of the members' class, with no cap and no expiry of its own: each
            // member keeps its slot and its token's expiry.
            let session = Session {
                viewer: hub.session.viewer.clone(),
                expires_at: None,
                open: Arc::default(),
                max: usize::MAX,
            };
            let mut request = Request::new(key.query.clone())
                .variables(plan.variables)
                .data(session);
            if let Some(op) = &key.operation {
                request = request.operation_name(op.clone());
            }
            let task = tokio::spawn(run(
                hub.clone(),
                key.clone(),
                id,
                tx.clone(),
                hub.schema.execute_stream(request),
            ));
            inner.feeds.insert(
                key.clone(),
                Entry {
                    id,
                    tx,
                    members: 1,
                    task: task.abort_handle(),
                },
            );
            counters.live.fetch_add(1, Ordering::Relaxed);
            (rx, id)
        }
    };
    drop(inner);
    counters.members.fetch_add(1, Ordering::Relaxed);
    Fed {
        rx,
        until: Box::pin(tokio::time::sleep(hub.session.lifetime())),
        field: plan.field,
        _slots: slots,
        _ticket: Ticket {
            hub: hub.clone(),
            key,
            id,
        },
    }
}

/// Runs a feed: each result serialized once, for every member.
async fn run(
    hub: Arc<Hub>,
    key: Arc<FeedKey>,
    id: u64,
    tx: broadcast::Sender<Arc<Frame>>,
    mut stream: BoxStream<'static, Response>,
) {
    let serialized: &AtomicU64 = &hub.metrics.feeds.serialized;
    while let Some(resp) = stream.next().await {
        match serde_json::to_string(&resp) {
            Ok(text) => {
                serialized.fetch_add(1, Ordering::Relaxed);
                let frame = Frame {
                    payload: text.into(),
                    sent: Instant::now(),
                    pending: AtomicUsize::new(tx.receiver_count()),
                    messages: Mutex::default(),
                };
                let _ = tx.send(Arc::new(frame));
            }
            Err(e) => tracing::error!(error = %e, "a subscription result could not be serialized"),
        }
    }
    hub.feeds.ended(&key, id, &hub.metrics);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared(query: &str, op: Option<&str>) -> bool {
        let mut r = Request::new(query);
        if let Some(op) = op {
            r = r.operation_name(op);
        }
        Plan::of(&r).is_some()
    }

    #[test]
    fn only_a_subscription_operation_with_one_root_field_is_shared() {
        assert!(shared("subscription { alertRaised { id } }", None));
        assert!(shared("subscription A { a: alertRaised { id } }", None));
        assert!(shared(
            "query Q { me { id } } subscription S { alertRaised { id } }",
            Some("S")
        ));
        assert!(!shared("{ me { id } }", None));
        assert!(!shared("mutation { logout }", None));
        assert!(!shared(
            "subscription { alertRaised { id } notificationReceived { id } }",
            None
        ));
        assert!(!shared(
            "subscription { ...F } fragment F on SubscriptionRoot { alertRaised { id } }",
            None
        ));
        assert!(!shared(
            "query Q { me { id } } subscription S { alertRaised { id } }",
            None
        ));
        assert!(!shared("subscription {", None));
    }
}
