fn main() -> std::process::ExitCode {
    webhook::jsonnet_worker_main()
}
