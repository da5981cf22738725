//! The npm packages of the tests' Node.js peers (`tests/oidc`, the OpenID
//! provider; `tests/openapi_client`, the generated client), installed with
//! `npm ci` on first use when `.ci/services` has not installed them already.

use serde_json::Value;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs `npm ci` in `dir` unless its `node_modules` holds every version its
/// package.json pins. A file lock serializes the check across threads and
/// processes; the install is skipped by whoever comes second.
pub fn ensure_node_modules(dir: &Path) {
    static IN_PROCESS: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = IN_PROCESS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if installed(dir) {
        return;
    }
    let name = dir.file_name().unwrap().to_string_lossy();
    let lock_path = std::env::temp_dir().join(format!("keyplane-tests-{name}-npm-ci.lock"));
    let lock = std::fs::File::create(&lock_path).unwrap();
    lock.lock().unwrap();
    if !installed(dir) {
        let started = std::time::Instant::now();
        let out = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--prefix"])
            .arg(dir)
            .output()
            .expect("npm must be installed (see .ci/services)");
        assert!(
            out.status.success(),
            "npm ci --prefix {}: {}{}",
            dir.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!(
            "[npm] npm ci in {} took {:?}",
            dir.display(),
            started.elapsed()
        );
    }
    // The lock goes with the file handle.
}

/// Whether `node_modules` holds every (dev) dependency at the exact version
/// package.json pins.
pub fn installed(dir: &Path) -> bool {
    let Some(wanted) = read_json(&dir.join("package.json")) else {
        return false;
    };
    // npm ci writes node_modules/.package-lock.json last: without it an
    // install was cut short.
    if !dir.join("node_modules/.package-lock.json").exists() {
        return false;
    }
    ["dependencies", "devDependencies"]
        .iter()
        .filter_map(|section| wanted[section].as_object())
        .flatten()
        .all(|(package, version)| {
            let manifest = dir.join("node_modules").join(package).join("package.json");
            read_json(&manifest).is_some_and(|have| &have["version"] == version)
        })
}

fn read_json(path: &PathBuf) -> Option<Value> {
    let mut text = String::new();
    std::fs::File::open(path)
        .ok()?
        .read_to_string(&mut text)
        .ok()?;
    serde_json::from_str(&text).ok()
}
