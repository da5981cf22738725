//! Project config → normalized revision (`controlplane::revision`), the
//! code path of `PUT /projects/{id}` and of every config import.
//!
//! The input is JSON. A document with `services` is a project update: the
//! identity config gets its redacted secrets restored from the current
//! revision (as the endpoint does) and both configs replace the current
//! ones. Anything else is normalized as an identity config and, on its
//! own, as a permission config.
//!
//! Invariant (the round trip the revision store relies on): a config that
//! normalizes assembles back to documents that normalize without error or
//! warning to the same content, and assembling that again changes nothing.

#![no_main]

use controlplane::project::secrets;
use controlplane::revision::{
    RevisionContent, assemble, defaults, replace_identity, replace_permission,
};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use std::sync::LazyLock;

static CURRENT: LazyLock<RevisionContent> = LazyLock::new(|| {
    defaults::default_revision("Fuzz", "https://fuzz.projects.localhost")
        .unwrap_or_else(|e| panic!("the default revision: {e}"))
});

/// normalize(assemble(content)) == content, with no warnings.
fn round_trip(content: &RevisionContent) {
    let identity = assemble::identity_config(content);
    let permission = assemble::permission_config(content);
    let _ = assemble::tenant_config(content);
    let mut again = RevisionContent {
        name: content.name.clone(),
        ..RevisionContent::default()
    };
    let w1 = replace_identity(&mut again, &identity)
        .unwrap_or_else(|e| panic!("the assembled identity config is refused: {e}\n{identity:#}"));
    let w2 = replace_permission(&mut again, &permission).unwrap_or_else(|e| {
        panic!("the assembled permission config is refused: {e}\n{permission:#}")
    });
    assert!(
        w1.is_empty() && w2.is_empty(),
        "assembled configs carry warnings: {w1:?} {w2:?}\n{identity:#}\n{permission:#}"
    );
    assert_eq!(&again, content, "normalize(assemble(x)) != x\n{identity:#}");
    assert_eq!(
        assemble::identity_config(&again),
        identity,
        "assembling is not stable"
    );
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let mut content = CURRENT.clone();
    if let Some(services) = input.get("services") {
        if let Some(identity) = services.pointer("/identity/config") {
            let mut config = identity.clone();
            if secrets::restore(&mut config, &assemble::identity_config(&content)).is_err()
                || replace_identity(&mut content, &config).is_err()
            {
                return;
            }
        }
        if let Some(permission) = services.pointer("/permission/config")
            && replace_permission(&mut content, permission).is_err()
        {
            return;
        }
        round_trip(&content);
        return;
    }
    if replace_identity(&mut content, &input).is_ok() {
        round_trip(&content);
    }
    let mut content = CURRENT.clone();
    if replace_permission(&mut content, &input).is_ok() {
        round_trip(&content);
    }
});
