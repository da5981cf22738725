#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine as _;
use password_hash::phc::PasswordHash;
use password_hash::{CustomizedPasswordHasher as _, PasswordHasher as _};

use super::*;

/// The project every hash here runs for.
const P: uuid::Uuid = uuid::Uuid::nil();

fn bcrypt_settings(cost: u32) -> HasherSettings {
    HasherSettings {
        algorithm: HashAlgorithm::Bcrypt,
        bcrypt_cost: cost,
        ..HasherSettings::default()
    }
}

fn argon2_settings(memory_kib: u32) -> HasherSettings {
    HasherSettings {
        algorithm: HashAlgorithm::Argon2id,
        argon2_memory_kib: memory_kib,
        argon2_iterations: 1,
        argon2_parallelism: 1,
        ..HasherSettings::default()
    }
}

fn verifier() -> PasswordHasher {
    PasswordHasher::new(&bcrypt_settings(4))
}

async fn verifies(hash: &str, password: &str) -> bool {
    verifier()
        .verify(P, password.to_owned(), hash.to_owned())
        .await
        .unwrap()
}

#[test]
fn defaults_are_valid_and_as_documented() {
    let s = HasherSettings::default();
    assert_eq!(s.algorithm, HashAlgorithm::Bcrypt);
    assert_eq!(s.bcrypt_cost, 12);
    assert_eq!(
        (
            s.argon2_memory_kib,
            s.argon2_iterations,
            s.argon2_parallelism
        ),
        (65536, 3, 1)
    );
    assert_eq!(s.max_concurrent, 0);
    s.validate().unwrap();
}

#[test]
fn validate_names_the_bad_key() {
    let err = bcrypt_settings(3).validate().unwrap_err();
    assert!(err.contains("bcrypt_cost"), "{err}");
    let err = bcrypt_settings(32).validate().unwrap_err();
    assert!(err.contains("bcrypt_cost"), "{err}");

    let mut s = argon2_settings(64 * 1024);
    s.argon2_iterations = 0;
    assert!(s.validate().unwrap_err().contains("argon2_iterations"));
    let mut s = argon2_settings(64 * 1024);
    s.argon2_parallelism = 0;
    assert!(s.validate().unwrap_err().contains("argon2_parallelism"));
    let mut s = argon2_settings(64 * 1024);
    s.argon2_parallelism = 4;
    s.argon2_memory_kib = 16;
    assert!(s.validate().unwrap_err().contains("argon2_memory_kib"));
    assert!(
        argon2_settings(4 * 1024 * 1024)
            .validate()
            .unwrap_err()
            .contains("argon2_memory_kib")
    );
}

#[test]
fn settings_deserialize_with_defaults_and_kratos_alias() {
    let s: HasherSettings =
        serde_json::from_value(serde_json::json!({"algorithm": "argon2"})).unwrap();
    assert_eq!(s.algorithm, HashAlgorithm::Argon2id);
    assert_eq!(s.bcrypt_cost, 12);
    let s: HasherSettings = serde_json::from_value(
        serde_json::json!({"algorithm": "argon2id", "argon2_memory_kib": 1024}),
    )
    .unwrap();
    assert_eq!(s.argon2_memory_kib, 1024);
    assert_eq!(
        serde_json::to_value(HashAlgorithm::Bcrypt).unwrap(),
        serde_json::json!("bcrypt")
    );
    assert!(serde_json::from_value::<HasherSettings>(serde_json::json!({"cost": 4})).is_err());
}

#[tokio::test]
async fn bcrypt_round_trip() {
    let hasher = PasswordHasher::new(&bcrypt_settings(4));
    let hash = hasher.hash(P, "correct horse".into()).await.unwrap();
    assert!(hash.starts_with("$2b$04$"), "{hash}");
    assert_eq!(hash.len(), 60);
    assert!(
        hasher
            .verify(P, "correct horse".into(), hash.clone())
            .await
            .unwrap()
    );
    assert!(!hasher.verify(P, "wrong horse".into(), hash).await.unwrap());
}

#[tokio::test]
async fn argon2id_round_trip() {
    let hasher = PasswordHasher::new(&argon2_settings(256));
    let hash = hasher.hash(P, "correct horse".into()).await.unwrap();
    assert!(hash.starts_with("$argon2id$v=19$m=256,t=1,p=1$"), "{hash}");
    assert!(
        hasher
            .verify(P, "correct horse".into(), hash.clone())
            .await
            .unwrap()
    );
    assert!(!hasher.verify(P, "wrong horse".into(), hash).await.unwrap());
}

#[tokio::test]
async fn bcrypt_refuses_passwords_over_72_bytes() {
    let hasher = PasswordHasher::new(&bcrypt_settings(4));
    let err = hasher.hash(P, "x".repeat(73)).await.unwrap_err();
    assert_eq!(err.status(), 400);
    let hash = hasher.hash(P, "x".repeat(72)).await.unwrap();
    assert!(
        hasher
            .verify(P, "x".repeat(72), hash.clone())
            .await
            .unwrap()
    );
    assert!(!hasher.verify(P, "x".repeat(73), hash).await.unwrap());
}

#[tokio::test]
async fn verifies_known_bcrypt_vectors() {
    // From other implementations (online tool, python, node), all variants.
    let a = "$2a$04$UuTkLRZZ6QofpDOlMz32MuuxEHA43WOemOYHPz6.SjsVsyO1tDU96";
    assert!(verifies(a, "password").await);
    assert!(!verifies(a, "Password").await);
    let b = "$2b$04$EGdrhbKUv8Oc9vGiXX0HQOxSg445d458Muh7DAHskb6QbtCvdxcie";
    assert!(verifies(b, "correctbatteryhorsestapler").await);
    // $2y$ (PHP) is the same algorithm: re-label a generated hash.
    let parts = bcrypt::hash_with_result("test", 4).unwrap();
    let y = parts.format_for_version(bcrypt::Version::TwoY);
    assert!(y.starts_with("$2y$04$"));
    assert!(verifies(&y, "test").await);
    assert!(!verifies(&y, "test2").await);
}

#[tokio::test]
async fn verifies_argon2i_and_argon2id_from_the_argon2_crate() {
    let params = argon2::Params::new(64, 2, 1, Some(32)).unwrap();
    for algorithm in [argon2::Algorithm::Argon2i, argon2::Algorithm::Argon2id] {
        let ctx = argon2::Argon2::new(algorithm, argon2::Version::V0x13, params.clone());
        let phc: PasswordHash = ctx
            .hash_password_with_salt(b"hunter2", b"somesaltsomesalt")
            .unwrap();
        let hash = phc.to_string();
        assert!(hash.starts_with(&format!("${}$v=19$", algorithm.as_str())));
        assert!(verifies(&hash, "hunter2").await, "{hash}");
        assert!(!verifies(&hash, "hunter3").await, "{hash}");
    }
}

#[tokio::test]
async fn verifies_pbkdf2_phc_from_the_pbkdf2_crate() {
    // Fixed vector from the pbkdf2 crate (RFC 6070 style input, l=40).
    let fixed = "$pbkdf2-sha256$i=4096,l=40\
                 $c2FsdFNBTFRzYWx0U0FMVHNhbHRTQUxUc2FsdFNBTFRzYWx0\
                 $NIyJ28vTKy8y2BS4EW6EzysXNH68GAAYHE4qH7jdU+HGNVGMfaxH6Q";
    assert!(verifies(fixed, "passwordPASSWORDpassword").await);
    assert!(!verifies(fixed, "passwordPASSWORDpassworD").await);

    for (ctx, prefix) in [
        (pbkdf2::Pbkdf2::SHA256, "$pbkdf2-sha256$i=1000,l=32$"),
        (pbkdf2::Pbkdf2::SHA512, "$pbkdf2-sha512$i=1000,l=32$"),
    ] {
        let phc: PasswordHash = ctx
            .hash_password_with_params(
                b"hunter2",
                b"saltsaltsalt",
                pbkdf2::Params::new(1000).unwrap(),
            )
            .unwrap();
        let hash = phc.to_string();
        assert!(hash.starts_with(prefix), "{hash}");
        assert!(verifies(&hash, "hunter2").await, "{hash}");
        assert!(!verifies(&hash, "hunter3").await, "{hash}");
    }
}

#[tokio::test]
async fn verifies_scrypt_phc_and_kratos_format() {
    // Fixed vector from the scrypt crate (ln = log2 N = 16).
    let fixed =
        "$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E";
    assert!(verifies(fixed, "password").await);
    assert!(!verifies(fixed, "passwort").await);

    // Generated with the scrypt crate's PHC support.
    let params = scrypt::Params::new(10, 8, 1).unwrap();
    let phc: PasswordHash = scrypt::Scrypt::new_with_params(params)
        .hash_password_with_salt(b"hunter2", b"saltsaltsalt")
        .unwrap();
    let hash = phc.to_string();
    assert!(hash.starts_with("$scrypt$ln=10,r=8,p=1$"), "{hash}");
    assert!(verifies(&hash, "hunter2").await);
    assert!(!verifies(&hash, "hunter3").await);

    // Kratos' import format: ln is N itself, padded standard base64.
    let mut out = [0u8; 32];
    scrypt::scrypt(b"hunter2", b"kratos-salt", &params, &mut out).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD;
    let kratos = format!(
        "$scrypt$ln=1024,r=8,p=1${}${}",
        b64.encode(b"kratos-salt"),
        b64.encode(out)
    );
    assert!(kratos.contains('='), "padded: {kratos}");
    assert!(verifies(&kratos, "hunter2").await, "{kratos}");
    assert!(!verifies(&kratos, "hunter3").await, "{kratos}");
}

/// A stored hash that cannot be used (from before imports were checked
/// strictly) fails the login like a wrong password, never a 500.
#[tokio::test]
async fn an_unusable_stored_hash_fails_the_login_instead_of_a_500() {
    for stored in [
        "$2b$04$nope",
        "plain",
        // A non-canonical salt: bcrypt itself refuses it at verification.
        "$2b$04$EGdrhbKUv8Oc9vGiXX0HQPxSg445d458Muh7DAHskb6QbtCvdxcie",
        // Past today's bounds.
        "$2b$31$EGdrhbKUv8Oc9vGiXX0HQOxSg445d458Muh7DAHskb6QbtCvdxcie",
    ] {
        let verified = verifier().verify(P, "x".into(), stored.into()).await;
        assert!(matches!(verified, Ok(false)), "{stored}: {verified:?}");
    }
}

#[tokio::test]
async fn needs_rehash_compares_algorithm_and_parameters() {
    let bcrypt5 = PasswordHasher::new(&bcrypt_settings(5));
    let hash4 = PasswordHasher::new(&bcrypt_settings(4))
        .hash(P, "pw".into())
        .await
        .unwrap();
    let hash5 = bcrypt5.hash(P, "pw".into()).await.unwrap();
    assert!(bcrypt5.needs_rehash(&hash4), "lower bcrypt cost");
    assert!(!bcrypt5.needs_rehash(&hash5));

    let argon = PasswordHasher::new(&argon2_settings(256));
    let argon_hash = argon.hash(P, "pw".into()).await.unwrap();
    assert!(
        argon.needs_rehash(&hash5),
        "bcrypt while argon2id is configured"
    );
    assert!(!argon.needs_rehash(&argon_hash));
    assert!(
        PasswordHasher::new(&argon2_settings(512)).needs_rehash(&argon_hash),
        "different argon2 memory"
    );
    assert!(
        bcrypt5.needs_rehash(&argon_hash),
        "argon2id while bcrypt is configured"
    );
    assert!(bcrypt5.needs_rehash("garbage"));
}

#[test]
fn validate_import_accepts_supported_formats() {
    for hash in [
        "$2a$04$UuTkLRZZ6QofpDOlMz32MuuxEHA43WOemOYHPz6.SjsVsyO1tDU96",
        "$2b$04$EGdrhbKUv8Oc9vGiXX0HQOxSg445d458Muh7DAHskb6QbtCvdxcie",
        "$2y$12$L6Bc/AlTQHyd9liGgGEZyOFLPHNgyxeEPfgYfBCVxJ7JIlwxyVU3u",
        "$argon2id$v=19$m=65536,t=3,p=1$c29tZXNhbHRzb21lc2FsdA$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY",
        "$argon2i$v=19$m=4096,t=3,p=1$c29tZXNhbHRzb21lc2FsdA$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY",
        "$pbkdf2-sha256$i=4096,l=40$c2FsdFNBTFRzYWx0U0FMVHNhbHRTQUxUc2FsdFNBTFRzYWx0$NIyJ28vTKy8y2BS4EW6EzysXNH68GAAYHE4qH7jdU+HGNVGMfaxH6Q",
        "$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E",
        "$scrypt$ln=16384,r=8,p=1$c2FsdA==$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E=",
    ] {
        PasswordHasher::validate_import(hash).unwrap_or_else(|e| panic!("{hash}: {e}"));
    }
}

#[test]
fn validate_import_rejects_unsupported_and_malformed() {
    for hash in [
        "plain",
        "",
        "$md5$pf=e1NBTFR9e1BBU1NXT1JEfQ==$MTIzNDU=$q+RdKCrpnCnHd0ZBKnXf/w==",
        "$1$saltsalt$hash",
        "$2b$04$short",
        "$2b$99$EGdrhbKUv8Oc9vGiXX0HQOxSg445d458Muh7DAHskb6QbtCvdxcie",
        // Issue 20: costs that would stall every tenant's logins.
        "$2b$31$EGdrhbKUv8Oc9vGiXX0HQOxSg445d458Muh7DAHskb6QbtCvdxcie",
        "$2b$15$EGdrhbKUv8Oc9vGiXX0HQOxSg445d458Muh7DAHskb6QbtCvdxcie",
        "$pbkdf2-sha256$i=10000000,l=16$c2FsdA$YWJjZGVmZ2hpamtsbW5vcA",
        "$pbkdf2-sha512$i=1000001,l=16$c2FsdA$YWJjZGVmZ2hpamtsbW5vcA",
        "$scrypt$ln=20,r=8,p=16$c2FsdA$YWJjZGVmZ2hpamtsbW5vcA",
        "$scrypt$ln=17,r=8,p=8$c2FsdA$YWJjZGVmZ2hpamtsbW5vcA",
        "$argon2id$v=19$m=1048576,t=3,p=1$c29tZXNhbHRzb21lc2FsdA$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY",
        "$argon2id$v=19$m=65536,t=50,p=1$c29tZXNhbHRzb21lc2FsdA$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY",
        // A non-canonical bcrypt salt (its last character has unused bits
        // set): accepted once, it made every later login a 500.
        "$2b$04$EGdrhbKUv8Oc9vGiXX0HQPxSg445d458Muh7DAHskb6QbtCvdxcie",
        "$2b$04$EGdrhbKUv8Oc9vGiXX0HQOxSg445d458Muh7DAHskb6QbtCvdxcif",
        "$argon2id$m=65536,t=3,p=1$c29tZXNhbHRzb21lc2FsdA$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY",
        "$argon2id$v=19$m=67108864,t=3,p=1$c29tZXNhbHRzb21lc2FsdA$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY",
        "$argon2d$v=19$m=65536,t=3,p=1$c29tZXNhbHRzb21lc2FsdA$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY",
        "$pbkdf2-md5$i=4096,l=16$c2FsdA$YWJjZGVmZ2hpamtsbW5vcA",
        "$pbkdf2-sha256$i=4096,l=16$c2FsdA$YWJj",
        "$pbkdf2-sha256$i=999999999$c2FsdA$YWJjZGVmZ2hpamtsbW5vcA",
        "$pbkdf2-sha256$i=999$c2FsdA$YWJjZGVmZ2hpamtsbW5vcA",
        "$pbkdf2-sha256$l=3$c2FsdA$YWJj",
        "$scrypt$ln=30,r=8,p=1$c2FsdA$YWJjZGVmZ2hpamtsbW5vcA",
        "$scrypt$ln=1000,r=8,p=1$c2FsdA$YWJjZGVmZ2hpamtsbW5vcA",
        "$scrypt$ln=10,r=8,p=1$c2FsdA",
        "$scrypt$ln=10,r=8,p=1$not base64!$YWJj",
    ] {
        let err = PasswordHasher::validate_import(hash)
            .err()
            .unwrap_or_else(|| panic!("{hash} accepted"));
        assert_eq!(err.status(), 400, "{hash}");
        let reason = err.reason.unwrap_or_default();
        assert!(
            reason.starts_with("The hashed password"),
            "{hash}: {reason}"
        );
        assert!(!reason.contains(hash) || hash.is_empty(), "hash not echoed");
    }
    let reason = PasswordHasher::validate_import("plain")
        .unwrap_err()
        .reason
        .unwrap();
    assert!(reason.contains("unsupported format"), "{reason}");
    assert!(
        reason.contains("bcrypt") && reason.contains("scrypt"),
        "{reason}"
    );
}

#[tokio::test]
async fn one_permit_still_completes_parallel_work() {
    let settings = HasherSettings {
        max_concurrent: 1,
        ..bcrypt_settings(4)
    };
    let hasher = PasswordHasher::new(&settings);
    let (a, b) = tokio::join!(hasher.hash(P, "one".into()), hasher.hash(P, "two".into()));
    let (a, b) = (a.unwrap(), b.unwrap());
    let (va, vb) = tokio::join!(
        hasher.verify(P, "one".into(), a),
        hasher.verify(P, "two".into(), b)
    );
    assert!(va.unwrap() && vb.unwrap());
}

#[test]
fn zero_max_concurrent_means_one_thread_per_core() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert_eq!(HasherSettings::default().permits(), cores);
    let two = HasherSettings {
        max_concurrent: 2,
        ..HasherSettings::default()
    };
    assert_eq!(two.permits(), 2);
}

#[test]
fn niceness_is_bounded() {
    let bad = HasherSettings {
        thread_niceness: 20,
        ..HasherSettings::default()
    };
    assert!(bad.validate().unwrap_err().starts_with("thread_niceness"));
}

#[tokio::test]
async fn dropping_the_hasher_stops_its_threads() {
    let hasher = PasswordHasher::new(&bcrypt_settings(4));
    hasher.hash(P, "x".into()).await.unwrap();
    drop(hasher); // must not hang or panic: the queue closes, threads exit
}

/// One project's flood of hashes takes at most its share of the threads
/// and queues behind its own semaphore: another project's hash starts as
/// soon as a thread is free, not after the whole flood (issue 20's
/// resource isolation). Checked by start order, not by timing.
#[tokio::test]
async fn a_flooding_project_does_not_queue_ahead_of_another() {
    let hasher = PasswordHasher::new(&HasherSettings {
        max_concurrent: 2,
        ..bcrypt_settings(4)
    });
    assert_eq!(hasher.inner.settings.per_project(), 1);
    let started = Arc::new(std::sync::Mutex::new(Vec::new()));
    let job = |name: &'static str| {
        let started = Arc::clone(&started);
        move || {
            started.lock().unwrap().push(name);
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    };
    let (a, b) = (uuid::Uuid::from_u128(1), uuid::Uuid::from_u128(2));
    let flood: Vec<_> = (0..6)
        .map(|_| {
            let hasher = hasher.clone();
            let work = job("a");
            tokio::spawn(async move { hasher.run_blocking(a, work).await })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    hasher.run_blocking(b, job("b")).await.unwrap();
    for handle in flood {
        handle.await.unwrap().unwrap();
    }
    let order = started.lock().unwrap().clone();
    assert_eq!(order.len(), 7);
    assert_eq!(
        order.iter().position(|n| *n == "b"),
        Some(1),
        "b started second, right after a's one running job: {order:?}"
    );
}

#[test]
fn the_per_project_share_is_half_the_threads_unless_set() {
    let share = |max_concurrent, per_project| {
        HasherSettings {
            max_concurrent,
            max_concurrent_per_project: per_project,
            ..HasherSettings::default()
        }
        .per_project()
    };
    assert_eq!(share(1, 0), 1);
    assert_eq!(share(8, 0), 4);
    assert_eq!(share(8, 3), 3);
    assert_eq!(share(2, 5), 2, "never more than the threads");
}
