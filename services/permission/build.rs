//! Compiles `proto/` (Keto's `ory.keto.relation_tuples.v1alpha2`) with
//! protox, a pure-Rust protobuf compiler, so no system `protoc` is needed.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = "../../proto";
    let dir = "ory/keto/relation_tuples/v1alpha2";
    let files: Vec<String> = [
        "relation_tuples",
        "read_service",
        "write_service",
        "check_service",
        "expand_service",
        "version",
    ]
    .iter()
    .map(|name| format!("{root}/{dir}/{name}.proto"))
    .collect();
    println!("cargo:rerun-if-changed={root}");
    let descriptors = protox::compile(&files, [root])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(descriptors)?;
    Ok(())
}
