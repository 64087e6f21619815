//! How long loading and validating the configuration takes (it is on the app's start path).

use criterion::{Criterion, criterion_group, criterion_main};
use desk_config::{Config, ConfigSources, EXAMPLE_CONFIG};

fn load(c: &mut Criterion) {
    c.bench_function("load defaults only", |b| {
        b.iter(|| Config::load(&ConfigSources::defaults_only()).is_ok())
    });
    let dir = tempfile::tempdir().ok();
    let Some(dir) = dir else { return };
    let path = dir.path().join("config.toml");
    if std::fs::write(&path, EXAMPLE_CONFIG).is_err() {
        return;
    }
    let sources = ConfigSources::defaults_only()
        .with_machine_file(&path)
        .with_env("ISSUANCE_DESK__UI__LANGUAGE", "es");
    c.bench_function("load example machine file + env", |b| {
        b.iter(|| Config::load(&sources).is_ok())
    });
}

criterion_group!(benches, load);
criterion_main!(benches);
