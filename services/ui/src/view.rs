//! A flow's `ui` container as the templates see it: nodes grouped into
//! sections (one form each), labels and messages translated, ids tied
//! between labels, inputs and their messages.
//!
//! Nothing here knows a particular method: every node is rendered by its
//! type (`input`, `text`, `img`, `a`, `script`) and attributes, so a method
//! the identity engine adds later shows up without a template change.

use crate::i18n::Translator;
use identity::flow::model::{UiContainer, UiNode, UiText};
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Serialize)]
pub struct MessageView {
    pub id: u64,
    /// `info`, `error` or `success`.
    pub kind: String,
    pub text: String,
}

/// A link from the error summary to the field it is about.
#[derive(Debug, Serialize)]
pub struct ErrorLink {
    pub text: String,
    pub target: Option<String>,
}

#[derive(Debug, Default, Serialize)]
pub struct NodeView {
    /// How the template draws it: `hidden`, `input`, `checkbox`, `submit`,
    /// `text`, `img`, `a` or `script`.
    pub kind: &'static str,
    pub id: String,
    pub name: String,
    pub input_type: String,
    pub value: String,
    /// A choice among the schema's `enum` values (drawn as a `select`).
    pub options: Vec<String>,
    pub checked: bool,
    pub required: bool,
    pub disabled: bool,
    pub autocomplete: Option<String>,
    pub pattern: Option<String>,
    pub label: Option<String>,
    pub messages: Vec<MessageView>,
    pub invalid: bool,
    /// `text` nodes: the text, and the codes of a secrets list.
    pub text: Option<String>,
    pub secrets: Vec<String>,
    /// `a`, `img` and `script` nodes.
    pub href: Option<String>,
    pub src: Option<String>,
    pub width: Option<String>,
    pub height: Option<String>,
    pub integrity: Option<String>,
    pub crossorigin: Option<String>,
    pub referrerpolicy: Option<String>,
    pub script_type: Option<String>,
    pub is_async: bool,
}

#[derive(Debug, Serialize)]
pub struct SectionView {
    pub group: String,
    pub title: String,
    /// Whether the section has anything a person sees (a form of hidden
    /// inputs only is left out).
    pub visible: bool,
    pub nodes: Vec<NodeView>,
}

#[derive(Debug, Serialize)]
pub struct FormView {
    pub action: String,
    pub method: String,
    pub sections: Vec<SectionView>,
    /// Form-level messages (not about one field).
    pub messages: Vec<MessageView>,
    /// Every error of the form and its fields, for the summary on top.
    pub errors: Vec<ErrorLink>,
}

fn message_view(t: &Translator<'_>, message: &UiText) -> MessageView {
    MessageView {
        id: message.id,
        kind: message.kind.clone(),
        text: t.message(message.id, &message.text, message.context.as_ref()),
    }
}

/// A `uiText` held in a JSON attribute (labels, `text` and `a` titles).
fn text_of(t: &Translator<'_>, value: &Value) -> Option<String> {
    let message: UiText = serde_json::from_value(value.clone()).ok()?;
    Some(t.message(message.id, &message.text, message.context.as_ref()))
}

fn string_attr(attributes: &Value, key: &str) -> Option<String> {
    match attributes.get(key)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn bool_attr(attributes: &Value, key: &str) -> bool {
    attributes
        .get(key)
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// An HTML id from the section and the node's name or id.
fn html_id(group: &str, node: &UiNode) -> String {
    let name = string_attr(&node.attributes, "name")
        .or_else(|| string_attr(&node.attributes, "id"))
        .unwrap_or_else(|| node.kind.clone());
    let raw = format!("{group}-{name}");
    raw.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

fn input_value(attributes: &Value) -> String {
    match attributes.get("value") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn node_view(t: &Translator<'_>, section: &str, node: &UiNode) -> NodeView {
    let attributes = &node.attributes;
    let label = node.meta.get("label").and_then(|l| text_of(t, l));
    let messages: Vec<MessageView> = node.messages.iter().map(|m| message_view(t, m)).collect();
    let mut view = NodeView {
        id: html_id(section, node),
        label,
        invalid: messages.iter().any(|m| m.kind == "error"),
        messages,
        ..NodeView::default()
    };
    match node.kind.as_str() {
        "input" => {
            let input_type = string_attr(attributes, "type").unwrap_or_else(|| "text".into());
            view.kind = match input_type.as_str() {
                "hidden" => "hidden",
                "submit" | "button" => "submit",
                "checkbox" => "checkbox",
                _ => "input",
            };
            view.name = string_attr(attributes, "name").unwrap_or_default();
            view.checked = attributes.get("value") == Some(&Value::Bool(true));
            view.value = input_value(attributes);
            view.input_type = input_type;
            view.required = bool_attr(attributes, "required");
            view.disabled = bool_attr(attributes, "disabled");
            // Password managers fill the login identifier only when told.
            view.autocomplete = string_attr(attributes, "autocomplete")
                .or_else(|| (view.name == "identifier").then(|| "username".to_owned()));
            view.pattern = string_attr(attributes, "pattern");
            view.options = attributes
                .get("options")
                .and_then(Value::as_array)
                .map(|values| {
                    values
                        .iter()
                        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            if view.kind == "input" && !view.options.is_empty() {
                view.kind = "select";
            }
        }
        "text" => {
            view.kind = "text";
            let text = attributes.get("text");
            view.text = text.and_then(|v| text_of(t, v));
            view.secrets = text
                .and_then(|v| v.pointer("/context/secrets"))
                .and_then(Value::as_array)
                .map(|list| list.iter().filter_map(|s| text_of(t, s)).collect())
                .unwrap_or_default();
        }
        "img" => {
            view.kind = "img";
            view.src = string_attr(attributes, "src");
            view.width = string_attr(attributes, "width");
            view.height = string_attr(attributes, "height");
        }
        "a" => {
            view.kind = "a";
            view.href = string_attr(attributes, "href");
            view.text = attributes.get("title").and_then(|v| text_of(t, v));
        }
        "script" => {
            view.kind = "script";
            view.src = string_attr(attributes, "src");
            view.integrity = string_attr(attributes, "integrity");
            view.crossorigin = string_attr(attributes, "crossorigin");
            view.referrerpolicy = string_attr(attributes, "referrerpolicy");
            view.script_type = string_attr(attributes, "type");
            view.is_async = bool_attr(attributes, "async");
        }
        // A node type this UI does not know is left out rather than
        // guessed at.
        _ => view.kind = "unknown",
    }
    view
}

/// The groups whose nodes fill in a credential: the `default` group's
/// visible nodes (the identifier) belong in the first of them.
const CREDENTIAL_GROUPS: &[&str] = &["password", "webauthn", "profile", "link", "code"];

/// The flow's form: one section per method group, each carrying the
/// `default` group's hidden nodes (the CSRF token) so it can be sent on its
/// own; the `default` group's visible nodes go with the first credential
/// method.
pub fn form_view(t: &Translator<'_>, ui: &UiContainer) -> FormView {
    let mut groups: Vec<&str> = Vec::new();
    for node in &ui.nodes {
        if node.group != "default" && !groups.contains(&node.group.as_str()) {
            groups.push(&node.group);
        }
    }
    let home = groups
        .iter()
        .copied()
        .find(|g| CREDENTIAL_GROUPS.contains(g))
        .or_else(|| groups.first().copied())
        .unwrap_or("default");
    let mut sections: Vec<SectionView> = Vec::new();
    let section_groups: Vec<&str> = if groups.is_empty() {
        vec!["default"]
    } else {
        groups.clone()
    };
    for group in section_groups {
        let nodes: Vec<NodeView> = ui
            .nodes
            .iter()
            .filter(|n| {
                n.group == group || (n.group == "default" && (group == home || is_hidden(n)))
            })
            .map(|n| node_view(t, group, n))
            .filter(|n| n.kind != "unknown")
            .collect();
        sections.push(SectionView {
            group: group.to_owned(),
            title: t.ui(&format!("ui.group.{group}"), &[]),
            visible: nodes.iter().any(|n| n.kind != "hidden"),
            nodes,
        });
    }
    let messages: Vec<MessageView> = ui.messages.iter().map(|m| message_view(t, m)).collect();
    let mut errors: Vec<ErrorLink> = messages
        .iter()
        .filter(|m| m.kind == "error")
        .map(|m| ErrorLink {
            text: m.text.clone(),
            target: None,
        })
        .collect();
    for section in &sections {
        for node in &section.nodes {
            for message in node.messages.iter().filter(|m| m.kind == "error") {
                let field = node.label.clone().unwrap_or_else(|| node.name.clone());
                errors.push(ErrorLink {
                    text: format!("{field}: {}", message.text),
                    target: Some(node.id.clone()),
                });
            }
        }
    }
    FormView {
        action: ui.action.clone(),
        method: ui.method.clone(),
        sections,
        messages,
        errors,
    }
}

fn is_hidden(node: &UiNode) -> bool {
    node.kind == "input" && node.attributes.get("type").and_then(Value::as_str) == Some("hidden")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::i18n::Catalogues;
    use serde_json::json;

    fn node(group: &str, kind: &str, attributes: Value, label: Option<Value>) -> UiNode {
        UiNode {
            kind: kind.into(),
            group: group.into(),
            attributes,
            messages: vec![],
            meta: label.map_or(json!({}), |l| json!({ "label": l })),
        }
    }

    #[test]
    fn every_node_type_renders_and_hidden_defaults_reach_every_section() {
        let catalogues = Catalogues::default();
        let t = catalogues.translator("en");
        let mut password = node(
            "password",
            "input",
            json!({"name": "password", "type": "password", "required": true}),
            Some(json!({"id": 1070001, "text": "Password", "type": "info"})),
        );
        password.messages.push(UiText::error(
            4000005,
            "too short",
            Some(json!({"reason": "it is too short"})),
        ));
        let ui = UiContainer {
            action: "http://t.example/self-service/login?flow=1".into(),
            method: "POST".into(),
            nodes: vec![
                node(
                    "default",
                    "input",
                    json!({"name": "csrf_token", "type": "hidden", "value": "abc"}),
                    None,
                ),
                node(
                    "default",
                    "input",
                    json!({"name": "identifier", "type": "text"}),
                    None,
                ),
                password,
                node(
                    "lookup_secret",
                    "text",
                    json!({"id": "codes", "text": {"id": 1050015, "text": "codes", "type": "info", "context": {"secrets": [{"id": 1050009, "text": "ab12", "type": "info", "context": {"secret": "ab12"}}]}}}),
                    None,
                ),
                node(
                    "totp",
                    "img",
                    json!({"id": "qr", "src": "data:image/png;base64,AA=="}),
                    None,
                ),
                node(
                    "oidc",
                    "a",
                    json!({"id": "link", "href": "https://x", "title": {"id": 1, "text": "X", "type": "info"}}),
                    None,
                ),
                node(
                    "webauthn",
                    "script",
                    json!({"id": "w", "src": "/.well-known/ory/webauthn.js", "async": true}),
                    None,
                ),
            ],
            messages: vec![],
        };
        let form = form_view(&t, &ui);
        let groups: Vec<_> = form.sections.iter().map(|s| s.group.as_str()).collect();
        assert_eq!(
            groups,
            ["password", "lookup_secret", "totp", "oidc", "webauthn"]
        );
        for section in &form.sections {
            assert!(
                section.nodes.iter().any(|n| n.name == "csrf_token"),
                "{}",
                section.group
            );
        }
        let identifier_in: Vec<_> = form
            .sections
            .iter()
            .filter(|s| s.nodes.iter().any(|n| n.name == "identifier"))
            .map(|s| s.group.as_str())
            .collect();
        assert_eq!(identifier_in, ["password"]);
        assert_eq!(form.sections[1].nodes[1].secrets, ["ab12"]);
        assert_eq!(form.sections[2].nodes[1].kind, "img");
        assert_eq!(form.sections[3].nodes[1].text.as_deref(), Some("X"));
        assert!(form.sections[4].nodes[1].is_async);
        assert_eq!(form.errors.len(), 1);
        assert_eq!(form.errors[0].target.as_deref(), Some("password-password"));
        assert!(form.errors[0].text.contains("it is too short"));
    }
}
