//! Accounts whose platform role must have MFA (`MFA_REQUIRED_ROLES`) and do not yet may
//! only enrol: this schema extension refuses any document that selects another root field,
//! over HTTP and websocket alike, before anything runs. The one place this rule lives.
//! Each refused request writes its FAILURE audit row here (`mfa.enrolment_required`, with
//! the root fields it asked for), in a statement of its own: no operation ran, so the
//! pipeline never saw it.

use super::{Actor, Viewer};
use crate::{
    audit::{AuditAction, Origin, record::record_refusal},
    error::{AppError, current_request_id},
    events::session::Session,
    graphql::context::RequestCtx,
    state::AppState,
};
use async_graphql::{
    ServerResult, Variables,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery},
    parser::types::{ExecutableDocument, Selection, SelectionSet},
};
use entity::PlatformRole;
use std::{collections::HashSet, sync::Arc};
use uuid::Uuid;

/// What an account held to enrolment may still ask for.
pub const ENROLMENT_FIELDS: &[&str] = &[
    "enableMfa",
    "confirmMfa",
    "me",
    "logout",
    "__typename",
    "__schema",
    "__type",
];

/// Whether a viewer is held to enrolment under `required` roles.
pub fn must_enrol(viewer: &Viewer, required: &[PlatformRole]) -> bool {
    matches!(viewer, Viewer::User(u) if !u.mfa && required.contains(&u.platform_role))
}

/// The audit action of a request refused until the account enrols.
pub const REFUSAL_ACTION: &str = "mfa.enrolment_required";

/// The extension (registered in `schema.rs`).
pub struct MfaGate;

impl ExtensionFactory for MfaGate {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(MfaGateExt)
    }
}

struct MfaGateExt;

/// Adds every root field `set` selects (through fragments) to `out`.
fn root_fields<'a>(
    doc: &'a ExecutableDocument,
    set: &'a SelectionSet,
    seen: &mut HashSet<&'a str>,
    out: &mut Vec<&'a str>,
) {
    for item in &set.items {
        match &item.node {
            Selection::Field(f) => out.push(f.node.name.node.as_str()),
            Selection::InlineFragment(i) => root_fields(doc, &i.node.selection_set.node, seen, out),
            Selection::FragmentSpread(s) => {
                let name = s.node.fragment_name.node.as_str();
                if seen.insert(name)
                    && let Some(frag) = doc.fragments.get(&s.node.fragment_name.node)
                {
                    root_fields(doc, &frag.node.selection_set.node, seen, out);
                }
            }
        }
    }
}

#[async_trait::async_trait]
impl Extension for MfaGateExt {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let doc = next.run(ctx, query, variables).await?;
        let Some(app) = ctx.data_opt::<AppState>() else {
            return Ok(doc);
        };
        let req = ctx.data_opt::<Arc<RequestCtx>>();
        let viewer = match req {
            Some(req) => &req.viewer,
            None => match ctx.data_opt::<Session>() {
                Some(s) => &s.viewer,
                None => return Ok(doc),
            },
        };
        if !must_enrol(viewer, &app.config.mfa_required_roles) {
            return Ok(doc);
        }
        let mut fields = Vec::new();
        let mut seen = HashSet::new();
        for (_, op) in doc.operations.iter() {
            root_fields(&doc, &op.node.selection_set.node, &mut seen, &mut fields);
        }
        if let Some(refused) = fields.iter().find(|f| !ENROLMENT_FIELDS.contains(f)) {
            tracing::info!(field = refused, "refused until the account enrols in MFA");
            let err = AppError::MfaEnrolmentRequired;
            let mut what = AuditAction::new(REFUSAL_ACTION, "user");
            what.entity_id = viewer.user_id();
            let attempted = serde_json::json!({ "fields": fields });
            let actor = Actor::of(viewer);
            // Outside any transaction: nothing has started one yet.
            match req {
                Some(req) => {
                    record_refusal(&req.db, req.origin(), &what, &actor, &err, attempted).await
                }
                None => {
                    // A websocket operation: no HTTP request of its own.
                    let id = current_request_id().unwrap_or_else(|| Uuid::now_v7().to_string());
                    let origin = Origin {
                        request_id: &id,
                        ip: None,
                        user_agent: None,
                    };
                    record_refusal(&app.db, origin, &what, &actor, &err, attempted).await
                }
            }
            let e: async_graphql::Error = err.into();
            return Err(e.into_server_error(Default::default()));
        }
        Ok(doc)
    }
}
