//! Compiles `proto/` (Keto's `ory.keto.relation_tuples.v1alpha2` and
//! Keyplane's `keyplane.permission.v1`) with protox, a pure-Rust protobuf
//! compiler, so no system `protoc` is needed.

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
    // Keyplane's services use Keto's messages as generated above (the
    // modules are flat, `grpc::pb` and `grpc::lookup_pb`, not nested by
    // package).
    let lookups = protox::compile(
        [format!(
            "{root}/keyplane/permission/v1/lookup_service.proto"
        )],
        [root],
    )?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .extern_path(".ory.keto.relation_tuples.v1alpha2", "crate::grpc::pb")
        .compile_fds(lookups)?;
    Ok(())
}
