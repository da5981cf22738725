//! The time of one password hash and one verify with the default hasher
//! (bcrypt, cost 12) and with argon2id at its default parameters. The login
//! throughput target is derived from it: cores ÷ this time.

use criterion::{Criterion, criterion_group, criterion_main};
use keyplane_identity::hash::{HashAlgorithm, HasherSettings, PasswordHasher};

/// The project every hash here runs for.
const P: uuid::Uuid = uuid::Uuid::nil();

fn hashers(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    let mut group = c.benchmark_group("password");
    group.sample_size(10);
    for (name, settings) in [
        ("bcrypt-12", HasherSettings::default()),
        (
            "argon2id-default",
            HasherSettings {
                algorithm: HashAlgorithm::Argon2id,
                ..HasherSettings::default()
            },
        ),
    ] {
        let hasher = PasswordHasher::new(&settings);
        let stored = runtime
            .block_on(hasher.hash(P, "correct horse battery staple".into()))
            .unwrap_or_else(|e| panic!("hash: {e}"));
        group.bench_function(format!("{name}/verify"), |b| {
            b.iter(|| {
                runtime
                    .block_on(hasher.verify(
                        P,
                        "correct horse battery staple".into(),
                        stored.clone(),
                    ))
                    .unwrap_or_else(|e| panic!("verify: {e}"))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, hashers);
criterion_main!(benches);
