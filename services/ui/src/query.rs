//! The query of a UI page. Pages never refuse a query: a malformed flow id
//! simply starts a new flow, and empty parameters count as absent, as
//! Ory's servers read them (`http::query`: booleans as Go's ParseBool).

use uuid::Uuid;

#[derive(Debug, Default, Clone, PartialEq)]
pub struct PageQuery {
    pub flow: Option<Uuid>,
    /// The error page's error id.
    pub id: Option<String>,
    pub return_to: Option<String>,
    pub refresh: bool,
    pub aal: Option<String>,
    /// The sessions page after a revocation.
    pub revoked: Option<String>,
    /// The invite page's link token.
    pub token: Option<String>,
}

fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

impl PageQuery {
    pub fn parse(query: &str) -> Self {
        let mut out = Self::default();
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            if value.is_empty() {
                continue;
            }
            match key.as_ref() {
                "flow" => out.flow = Uuid::parse_str(&value).ok(),
                "id" => out.id = Some(value.into_owned()),
                "return_to" => out.return_to = Some(value.into_owned()),
                "refresh" => out.refresh = http::query::parse_go_bool(&value).unwrap_or(false),
                "aal" => out.aal = Some(value.into_owned()),
                "revoked" => out.revoked = Some(value.into_owned()),
                "token" => out.token = Some(value.into_owned()),
                _ => {}
            }
        }
        out
    }

    /// `?return_to=…&refresh=true&aal=…` for a new flow (empty when none
    /// is set); the identity engine checks `return_to` against the
    /// project's allow-list.
    pub fn flow_parameters(&self) -> String {
        let mut pairs = Vec::new();
        if let Some(return_to) = &self.return_to {
            pairs.push(format!("return_to={}", encode(return_to)));
        }
        if self.refresh {
            pairs.push("refresh=true".to_owned());
        }
        if let Some(aal) = &self.aal {
            pairs.push(format!("aal={}", encode(aal)));
        }
        if pairs.is_empty() {
            String::new()
        } else {
            format!("?{}", pairs.join("&"))
        }
    }

    /// `?return_to=…` or nothing: what links between pages carry.
    pub fn return_to_only(return_to: Option<&str>) -> String {
        Self {
            return_to: return_to.map(str::to_owned),
            ..Self::default()
        }
        .flow_parameters()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn parameters_survive_a_restart_and_empty_ones_are_absent() {
        let q = PageQuery::parse(
            "flow=nope&return_to=http%3A%2F%2Fa.localhost%2Fx%3Fy%3D1&refresh=1&aal=",
        );
        assert_eq!(q.flow, None);
        assert!(q.refresh);
        assert_eq!(q.aal, None);
        assert_eq!(
            q.flow_parameters(),
            "?return_to=http%3A%2F%2Fa.localhost%2Fx%3Fy%3D1&refresh=true"
        );
        assert_eq!(PageQuery::parse("").flow_parameters(), "");
    }
}
