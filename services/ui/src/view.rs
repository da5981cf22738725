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
    /// `button`, `text`, `img`, `a` or `script`.
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
    /// `button` nodes: the function of the node's `onclick`
    /// (`window.f(<json>)`) and its JSON argument. The page's CSP allows no
    /// inline handler, so `ui.js` calls it on click (WebAuthn triggers).
    pub trigger: Option<String>,
    pub trigger_options: Option<String>,
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

/// The function and JSON argument of an `onclick` of the form
/// `window.f(<json>)`, the only form the engine writes; anything else is
/// not run.
fn onclick_call(attributes: &Value) -> Option<(String, String)> {
    let call = attributes.get("onclick")?.as_str()?.trim();
    let (function, rest) = call.strip_prefix("window.")?.split_once('(')?;
    let options = rest.strip_suffix(')')?;
    let named = !function.is_empty()
        && function
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    (named && serde_json::from_str::<Value>(options).is_ok())
        .then(|| (function.to_owned(), options.to_owned()))
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
            let call = (input_type == "button")
                .then(|| onclick_call(attributes))
                .flatten();
            view.kind = match input_type.as_str() {
                "hidden" => "hidden",
                "button" if call.is_some() => "button",
                "submit" | "button" => "submit",
                "checkbox" => "checkbox",
                _ => "input",
            };
            view.name = string_attr(attributes, "name").unwrap_or_default();
            view.checked = attributes.get("value") == Some(&Value::Bool(true));
            view.value = input_value(attributes);
            view.input_type = input_type;
            if let Some((function, options)) = call {
                view.trigger = Some(function);
                view.trigger_options = Some(options);
            }
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

/// The methods one signs up and in with by saying who one is: each of their
/// forms is sent on its own, so each carries the `default` group's visible
/// nodes (the login identifier) and the traits another of them holds (the
/// engine gives a registration's traits to the first such method only).
const FIRST_FACTOR_GROUPS: &[&str] = &["password", "webauthn"];

/// Whether `node`, of another group, is also drawn in `group`'s section.
fn shared_with(ui: &UiContainer, group: &str, home: &str, node: &UiNode) -> bool {
    // A first-factor method's form of its own: a field or button to send.
    let first_factor = FIRST_FACTOR_GROUPS.contains(&group)
        && ui
            .nodes
            .iter()
            .any(|n| n.group == group && n.kind == "input" && !is_hidden(n));
    if node.group == "default" {
        return group == home || is_hidden(node) || first_factor;
    }
    first_factor
        && FIRST_FACTOR_GROUPS.contains(&node.group.as_str())
        && node.kind == "input"
        && node.name().starts_with("traits.")
        && !ui
            .nodes
            .iter()
            .any(|n| n.group == group && n.name() == node.name())
}

/// The flow's form: one section per method group, each carrying the
/// `default` group's hidden nodes (the CSRF token) so it can be sent on its
/// own; the `default` group's visible nodes go with the first credential
/// method (and each first-factor method).
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
            .filter(|n| n.group == group || shared_with(ui, group, home, n))
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
                let text = format!("{field}: {}", message.text);
                // A shared node's error is listed once, at its first form.
                if errors.iter().any(|e| e.text == text) {
                    continue;
                }
                errors.push(ErrorLink {
                    text,
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

    #[test]
    fn first_factor_forms_each_carry_the_identifier_and_the_traits() {
        let catalogues = Catalogues::default();
        let t = catalogues.translator("en");
        let input = |group: &str, name: &str, kind: &str| {
            node(group, "input", json!({"name": name, "type": kind}), None)
        };
        let names = |form: &FormView, group: &str| -> Vec<String> {
            let section = form.sections.iter().find(|s| s.group == group).unwrap();
            section.nodes.iter().map(|n| n.name.clone()).collect()
        };
        let ui = |nodes| UiContainer {
            action: "http://t.example/self-service/x?flow=1".into(),
            method: "POST".into(),
            nodes,
            messages: vec![],
        };
        // Login: the identifier with the password and with the key.
        let login = form_view(
            &t,
            &ui(vec![
                input("default", "csrf_token", "hidden"),
                input("default", "identifier", "text"),
                input("password", "password", "password"),
                input("password", "method", "submit"),
                input("webauthn", "method", "submit"),
            ]),
        );
        assert_eq!(
            names(&login, "password"),
            ["csrf_token", "identifier", "password", "method"]
        );
        assert_eq!(
            names(&login, "webauthn"),
            ["csrf_token", "identifier", "method"]
        );
        // Registration: the password's traits go with the key as well.
        let registration = form_view(
            &t,
            &ui(vec![
                input("default", "csrf_token", "hidden"),
                input("password", "traits.email", "email"),
                input("password", "password", "password"),
                input("webauthn", "webauthn_register_displayname", "text"),
            ]),
        );
        assert_eq!(
            names(&registration, "webauthn"),
            [
                "csrf_token",
                "traits.email",
                "webauthn_register_displayname"
            ]
        );
        // Settings: the profile's traits stay in the profile.
        let settings = form_view(
            &t,
            &ui(vec![
                input("default", "csrf_token", "hidden"),
                input("profile", "traits.email", "email"),
                input("password", "password", "password"),
                input("webauthn", "webauthn_register_displayname", "text"),
            ]),
        );
        assert_eq!(names(&settings, "password"), ["csrf_token", "password"]);
        assert_eq!(
            names(&settings, "webauthn"),
            ["csrf_token", "webauthn_register_displayname"]
        );
    }

    #[test]
    fn an_onclick_trigger_is_a_button_the_script_runs() {
        let catalogues = Catalogues::default();
        let t = catalogues.translator("en");
        let trigger = |onclick: &str| {
            node(
                "webauthn",
                "input",
                json!({"name": "webauthn_login_trigger", "type": "button", "value": "", "onclick": onclick}),
                None,
            )
        };
        let view = node_view(
            &t,
            "webauthn",
            &trigger(r#"window.__oryWebAuthnLogin({"publicKey":{"challenge":"AA"}})"#),
        );
        assert_eq!(view.kind, "button");
        assert_eq!(view.trigger.as_deref(), Some("__oryWebAuthnLogin"));
        assert_eq!(
            view.trigger_options.as_deref(),
            Some(r#"{"publicKey":{"challenge":"AA"}}"#)
        );
        // Anything but `window.f(<json>)` is not run: a plain button.
        for onclick in ["alert(1)", "window.f(1); alert(2)", "window.a.b({})"] {
            let view = node_view(&t, "webauthn", &trigger(onclick));
            assert_eq!(view.kind, "submit", "{onclick}");
            assert_eq!(view.trigger, None);
        }
    }
}
