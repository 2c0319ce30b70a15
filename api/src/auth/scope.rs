//! What an API client may be granted. Stored and sent as wire names (`stock:read`); inside
//! the server only this enum is compared, so a misspelt scope cannot compile.

use crate::error::{AppError, AppResult};

/// One grant an organization's admin gives a partner system's token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Read the organization's profile and members.
    OrganizationsRead,
    /// Read the organization's blood requests.
    BloodRequestsRead,
    /// Create and act on blood requests for the organization.
    BloodRequestsWrite,
    /// Read the organization's units and stock levels.
    StockRead,
    /// Add, release and discard units; record donations.
    StockWrite,
    /// Read the alerts addressed to the organization.
    AlertsRead,
    /// Acknowledge and resolve the organization's alerts.
    AlertsWrite,
    /// Read the organization's medical reports.
    ReportsRead,
    /// Claim reports for analysis and submit AI analyses.
    ReportsAnalysisWrite,
    /// Report the positions and temperatures of the bank's deliveries (a courier's device
    /// or a fleet tracker).
    DeliveriesWrite,
}

impl Scope {
    /// Every scope, in the order they are documented.
    pub const ALL: [Scope; 10] = [
        Scope::OrganizationsRead,
        Scope::BloodRequestsRead,
        Scope::BloodRequestsWrite,
        Scope::StockRead,
        Scope::StockWrite,
        Scope::AlertsRead,
        Scope::AlertsWrite,
        Scope::ReportsRead,
        Scope::ReportsAnalysisWrite,
        Scope::DeliveriesWrite,
    ];

    /// The name stored with a client and given in `createApiClient`.
    pub fn wire_name(self) -> &'static str {
        match self {
            Scope::OrganizationsRead => "organizations:read",
            Scope::BloodRequestsRead => "blood-requests:read",
            Scope::BloodRequestsWrite => "blood-requests:write",
            Scope::StockRead => "stock:read",
            Scope::StockWrite => "stock:write",
            Scope::AlertsRead => "alerts:read",
            Scope::AlertsWrite => "alerts:write",
            Scope::ReportsRead => "reports:read",
            Scope::ReportsAnalysisWrite => "reports:analysis:write",
            Scope::DeliveriesWrite => "deliveries:write",
        }
    }

    /// The scope with this wire name.
    pub fn from_wire(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.wire_name() == name)
    }

    /// Parses the scopes an admin asks for: at least one, each known, duplicates dropped.
    pub fn parse_list(names: &[String], field: &str) -> AppResult<Vec<Scope>> {
        if names.is_empty() {
            return Err(AppError::bad_input(field, "give at least one scope"));
        }
        let mut out = Vec::new();
        for name in names {
            let name = name.trim();
            let scope = Self::from_wire(name)
                .ok_or_else(|| AppError::bad_input(field, format!("unknown scope {name:?}")))?;
            if !out.contains(&scope) {
                out.push(scope);
            }
        }
        Ok(out)
    }

    /// Reads the scopes stored with a client; a name this version does not know grants
    /// nothing.
    pub fn from_stored(value: &serde_json::Value) -> Vec<Scope> {
        value
            .as_array()
            .map(|names| {
                names
                    .iter()
                    .filter_map(|n| n.as_str().and_then(Self::from_wire))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The stored form of a list of scopes.
    pub fn to_stored(scopes: &[Scope]) -> serde_json::Value {
        serde_json::Value::from(scopes.iter().map(|s| s.wire_name()).collect::<Vec<_>>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scope_reads_back_from_its_wire_name() {
        for s in Scope::ALL {
            assert_eq!(Scope::from_wire(s.wire_name()), Some(s));
        }
    }

    #[test]
    fn an_unknown_or_missing_scope_is_refused_and_duplicates_are_dropped() {
        assert!(Scope::parse_list(&[], "input.scopes").is_err());
        assert!(Scope::parse_list(&["stock:delete".into()], "input.scopes").is_err());
        let got = Scope::parse_list(
            &["stock:read".into(), " stock:read ".into()],
            "input.scopes",
        );
        assert_eq!(got.ok(), Some(vec![Scope::StockRead]));
    }
}
