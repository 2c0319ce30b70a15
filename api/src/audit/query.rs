//! The audit rows a caller asked for, shared by `auditLogs` and `GET /exports/audit.csv` so
//! both apply the same rules (`auth::audit`) and the same filter; and the CSV export itself,
//! streamed in keyset batches so memory stays constant however many rows it holds.

use super::types::{AuditLog, AuditLogFilter};
use crate::{
    auth::{self, Viewer},
    error::{AppError, AppResult},
    graphql::ids::parse_id,
};
use entity::{WireName, audit_log};
use futures_util::Stream;
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select,
};
use uuid::Uuid;

/// The rows `viewer` may read that match `f`.
pub fn filtered(viewer: &Viewer, f: &AuditLogFilter) -> AppResult<Select<audit_log::Entity>> {
    let org = f
        .organization_id
        .as_ref()
        .map(|id| parse_id(id, "filter.organizationId"))
        .transpose()?;
    let visible = auth::audit::visible(viewer, org)?;
    let mut q = audit_log::Entity::find().filter(visible);
    if let Some(actions) = &f.actions {
        q = q.filter(audit_log::Column::Action.is_in(actions.clone()));
    }
    if let Some(o) = f.outcome {
        q = q.filter(audit_log::Column::Outcome.eq(o));
    }
    if let Some(e) = &f.entity_id {
        q = q.filter(audit_log::Column::EntityId.eq(parse_id(e, "filter.entityId")?));
    }
    if let Some(a) = &f.actor_user_id {
        q = q.filter(audit_log::Column::ActorUserId.eq(parse_id(a, "filter.actorUserId")?));
    }
    if let Some(t) = &f.entity_type {
        q = q.filter(audit_log::Column::EntityType.eq(t.trim()));
    }
    if let (Some(from), Some(to)) = (f.from, f.to)
        && to <= from
    {
        return Err(AppError::bad_input("filter.to", "must be after from"));
    }
    if let Some(from) = f.from {
        q = q.filter(audit_log::Column::CreatedAt.gte(from));
    }
    if let Some(to) = f.to {
        q = q.filter(audit_log::Column::CreatedAt.lt(to));
    }
    Ok(q)
}

/// Rows fetched per statement while exporting.
pub const EXPORT_BATCH: u64 = 1_000;

/// The header line of the export.
pub const CSV_HEADER: &str = "id,createdAt,outcome,action,entityType,entityId,organizationId,\
actorUserId,actorApiClientId,actorRole,errorCode,requestId,ip,userAgent,oldValues,newValues\r\n";

/// One cell: quoted when it holds a comma, quote or line break; a cell a spreadsheet would
/// read as a formula (starting with `=`, `+`, `-`, `@`, a tab or a carriage return) is
/// prefixed with `'` so it is shown as text.
pub fn cell(raw: &str, out: &mut String) {
    let guarded = raw.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let quote = guarded || raw.contains([',', '"', '\n', '\r']);
    if quote {
        out.push('"');
    }
    if guarded {
        out.push('\'');
    }
    for c in raw.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    if quote {
        out.push('"');
    }
}

/// One row as `viewer` reads it (values hidden as in `auditLogs`), as a CSV line.
pub fn csv_line(viewer: &Viewer, m: audit_log::Model) -> String {
    let r = AuditLog::seen_by(viewer, m);
    let opt = |v: Option<async_graphql::ID>| v.map(|i| i.0).unwrap_or_default();
    let json = |v: Option<async_graphql::Json<serde_json::Value>>| {
        v.map(|j| j.0.to_string()).unwrap_or_default()
    };
    let cells = [
        r.id.0,
        r.created_at.to_rfc3339(),
        r.outcome.wire_name(),
        r.action,
        r.entity_type.unwrap_or_default(),
        opt(r.entity_id),
        opt(r.organization_id),
        opt(r.actor_user_id),
        opt(r.actor_api_client_id),
        r.actor_role,
        r.error_code.unwrap_or_default(),
        r.request_id.unwrap_or_default(),
        r.ip.unwrap_or_default(),
        r.user_agent.unwrap_or_default(),
        json(r.old_values),
        json(r.new_values),
    ];
    let mut out = String::with_capacity(256);
    for (i, c) in cells.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        cell(c, &mut out);
    }
    out.push_str("\r\n");
    out
}

/// The export as a stream of chunks: the header, then one chunk per batch of rows in id
/// (time) order, each batch read after the last id of the previous one.
pub fn csv_stream(
    db: DatabaseConnection,
    viewer: Viewer,
    rows: Select<audit_log::Entity>,
) -> impl Stream<Item = Result<String, std::io::Error>> + Send {
    enum At {
        Start,
        After(Option<Uuid>),
        Done,
    }
    futures_util::stream::unfold(At::Start, move |at| {
        let (db, viewer, rows) = (db.clone(), viewer.clone(), rows.clone());
        async move {
            let after = match at {
                At::Done => return None,
                At::Start => return Some((Ok(CSV_HEADER.to_string()), At::After(None))),
                At::After(after) => after,
            };
            let mut q = rows.order_by_asc(audit_log::Column::Id).limit(EXPORT_BATCH);
            if let Some(id) = after {
                q = q.filter(audit_log::Column::Id.gt(id));
            }
            match q.all(&db).await {
                Err(e) => {
                    tracing::error!(error = %e, "audit export stopped");
                    Some((Err(std::io::Error::other("export failed")), At::Done))
                }
                Ok(batch) if batch.is_empty() => None,
                Ok(batch) => {
                    let full = batch.len() as u64 == EXPORT_BATCH;
                    let last = batch.last().map(|m| m.id);
                    let mut chunk = String::with_capacity(batch.len() * 256);
                    for m in batch {
                        chunk.push_str(&csv_line(&viewer, m));
                    }
                    Some((Ok(chunk), if full { At::After(last) } else { At::Done }))
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::cell;

    fn c(raw: &str) -> String {
        let mut s = String::new();
        cell(raw, &mut s);
        s
    }

    #[test]
    fn plain_cells_are_left_as_they_are() {
        assert_eq!(c("blood_request.accept"), "blood_request.accept");
        assert_eq!(c(""), "");
    }

    #[test]
    fn commas_quotes_and_line_breaks_are_quoted() {
        assert_eq!(c("a,b"), "\"a,b\"");
        assert_eq!(c("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(c("two\nlines"), "\"two\nlines\"");
    }

    #[test]
    fn formulas_are_turned_into_text() {
        assert_eq!(c("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(c("+1"), "\"'+1\"");
        assert_eq!(c("-1"), "\"'-1\"");
        assert_eq!(c("@SUM(A1)"), "\"'@SUM(A1)\"");
    }
}
