//! The routes the server registers, read from its sources
//! (`web::resource("…")` and the methods chained on it, or
//! `.route("…", web::get()…)`), so a new route without a row in the spec
//! or the table fails the test.

use std::path::Path;

const FLOW_KINDS: [&str; 5] = [
    "login",
    "registration",
    "settings",
    "recovery",
    "verification",
];
const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// `(METHOD, path)` of every registered route; path parameters as `{}`.
pub fn registered() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../services");
    let mut files = Vec::new();
    walk(&root, &mut files);
    let mut routes = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        // `.route("/path", web::get().to(…))` registers a route too.
        let mut rest = text.as_str();
        while let Some(at) = rest.find(".route(\"") {
            rest = &rest[at + ".route(".len()..];
            let call = &rest[..closing(rest)];
            let path = call.split('"').nth(1).unwrap_or_default();
            for method in METHODS {
                if call.contains(&format!("web::{method}()")) {
                    routes.push((method.to_uppercase(), normalize(path)));
                }
            }
        }
        let mut rest = text.as_str();
        while let Some(at) = rest.find("web::resource(") {
            rest = &rest[at + "web::resource(".len()..];
            let (paths, after) = resource_paths(rest);
            for method in chained_methods(after) {
                for path in &paths {
                    routes.push((method.to_uppercase(), normalize(path)));
                }
            }
        }
    }
    routes.sort();
    routes.dedup();
    routes
}

/// `/a/{id}/b` → `/a/{}/b`.
pub fn normalize(path: &str) -> String {
    path.split('/')
        .map(|s| if s.starts_with('{') { "{}" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if !path.ends_with("target") {
                walk(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The paths of one `web::resource(` argument (a literal, or a `format!`
/// over the flow kinds) and the text after its closing parenthesis.
fn resource_paths(text: &str) -> (Vec<String>, &str) {
    let end = closing(text);
    let arg = &text[..end];
    let literal = arg.split('"').nth(1).unwrap_or_default();
    let paths = if arg.trim_start().starts_with("format!") {
        let open = literal.find('{').unwrap_or(literal.len());
        let close = literal[open..]
            .find('}')
            .map_or(literal.len(), |c| open + c + 1);
        FLOW_KINDS
            .iter()
            .map(|kind| format!("{}{kind}{}", &literal[..open], &literal[close..]))
            .collect()
    } else {
        vec![literal.to_owned()]
    };
    (paths, &text[end + 1..])
}

/// The HTTP methods of a chain `.get(…).post(…).wrap(…)`.
fn chained_methods(mut text: &str) -> Vec<&'static str> {
    let mut found = Vec::new();
    loop {
        let trimmed = text.trim_start();
        let Some(call) = trimmed.strip_prefix('.') else {
            return found;
        };
        let Some(open) = call.find('(') else {
            return found;
        };
        let name = call[..open].trim();
        if !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
            return found;
        }
        if let Some(m) = METHODS.iter().find(|m| **m == name) {
            found.push(*m);
        }
        let args = &call[open + 1..];
        text = &args[closing(args) + 1..];
    }
}

/// The index of the `)` closing an already opened parenthesis, skipping
/// string literals.
fn closing(text: &str) -> usize {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '(' => depth += 1,
            ')' if depth == 0 => return i,
            ')' => depth -= 1,
            _ => {}
        }
    }
    text.len().saturating_sub(1)
}
