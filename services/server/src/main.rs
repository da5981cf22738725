//! `keyplane`: serve, migrate, version (and, internally, `render-jsonnet`:
//! the sandboxed Jsonnet worker the web hooks start).

use clap::{Parser, Subcommand};
use keyplane_server::{Services, Settings, bind, start_on, telemetry};
use std::path::PathBuf;
use std::process::ExitCode;

mod transfer_cli;

#[derive(Parser)]
#[command(
    name = "keyplane",
    version,
    about = "Keyplane: a multi-tenant identity and permission cloud"
)]
struct Cli {
    /// Settings file (YAML); environment variables override it.
    #[arg(long, global = true, env = "KEYPLANE_CONFIG_FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server.
    Serve {
        /// Do not run pending migrations at start.
        #[arg(long)]
        no_migrate: bool,
    },
    /// Manage the database schema.
    Migrate {
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Print the version.
    Version,
    /// Print every route the server serves: host (tenant or control
    /// plane), method and path, as the router holds them.
    Routes,
    /// Manage personal access tokens for the control-plane API.
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
    /// Manage the keys that seal secrets at rest (`encryption.keys`).
    Encryption {
        #[command(subcommand)]
        action: EncryptionAction,
    },
    /// Export or import a whole project through a running server.
    Project {
        #[command(subcommand)]
        action: transfer_cli::ProjectAction,
    },
}

#[derive(Subcommand)]
enum EncryptionAction {
    /// Print a new random key (put it first in `encryption.keys`).
    GenerateKey,
    /// Re-seal every stored secret with the first key, so older keys can
    /// be removed afterwards. Safe to run while servers run, and again.
    Rotate,
}

#[derive(Subcommand)]
enum TokenAction {
    /// Create the account if needed and print a new token (shown only once).
    Create {
        #[arg(long)]
        email: String,
        /// A label for the token.
        #[arg(long, default_value = "cli")]
        name: String,
    },
}

#[derive(Subcommand)]
enum MigrateAction {
    /// Apply every pending migration.
    Up,
    /// Revert migrations (the last one by default).
    Down {
        #[arg(long, default_value_t = 1)]
        steps: u32,
    },
    /// List migrations and whether each is applied.
    Status,
}

fn main() -> ExitCode {
    // The web hooks' Jsonnet worker is this binary started by the server
    // itself. It is dispatched before clap and everything else, so that it
    // sets its rlimits first and never shows up as a user-facing command.
    if std::env::args_os()
        .nth(1)
        .is_some_and(|arg| arg == webhook::JSONNET_WORKER_ARG)
    {
        return webhook::jsonnet_worker_main();
    }
    // One TLS stack for every outbound client (breach checks, SMTP, ...):
    // rustls with ring. Installing twice is harmless, so the result is ignored.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    if let Command::Version = cli.command {
        println!("keyplane {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    let command = cli.command;
    if let Command::Routes = command {
        return block_on(print_routes());
    }
    // A client of a running server: no settings of its own.
    if let Command::Project { action } = command {
        return block_on(transfer_cli::run(action));
    }
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("keyplane: {e}");
            return ExitCode::from(2);
        }
    };
    block_on(run(command, settings))
}

async fn print_routes() -> anyhow::Result<()> {
    for route in keyplane_server::routing::table().await? {
        let host = match route.host {
            keyplane_server::routing::Host::Tenant => "tenant",
            keyplane_server::routing::Host::ControlPlane => "control-plane",
        };
        println!("{host}\t{}\t{}", route.method, route.path);
    }
    Ok(())
}

/// Runs `work` on a new runtime; its error is printed.
fn block_on(work: impl std::future::Future<Output = anyhow::Result<()>>) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("keyplane: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(work) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("keyplane: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, mut settings: Settings) -> anyhow::Result<()> {
    match command {
        Command::Serve { no_migrate } => {
            if no_migrate {
                settings.database.migrate_on_start = false;
            }
            let _telemetry = telemetry::init(&settings)?;
            // Bound first: with port 0 the system picks one, and the tenant
            // URLs handed out must carry it.
            let listener = bind(&settings.serve.host, settings.serve.port)?;
            settings.serve.port = listener.local_addr()?.port();
            let services = Services::connect(settings).await?;
            let mut server = start_on(listener, services, true).await?;
            // Resolves after SIGTERM/SIGINT once in-flight requests drained.
            (&mut server.task).await??;
            server.stop_grpc();
            tracing::info!("keyplane stopped");
        }
        Command::Migrate { action } => {
            let db = store::connect(&settings.database.url, 2).await?;
            match action {
                MigrateAction::Up => {
                    store::migrate_up(&db).await?;
                    println!("migrations applied");
                }
                MigrateAction::Down { steps } => {
                    store::migrate_down(&db, Some(steps)).await?;
                    println!("reverted {steps} migration(s)");
                }
                MigrateAction::Status => {
                    for (name, applied) in store::migrate_status(&db).await? {
                        println!("{} {name}", if applied { "applied" } else { "pending" });
                    }
                }
            }
        }
        Command::Token {
            action: TokenAction::Create { email, name },
        } => {
            // The account is an identity of the console project, which the
            // full wiring creates on first start.
            let services = keyplane_server::Services::connect(settings).await?;
            let accounts = &services.control_plane.accounts;
            let (account_id, token) = accounts.create_token(&email, &name).await?;
            eprintln!("account {account_id} ({email}); the token is shown only this once:");
            println!("{token}");
        }
        Command::Encryption { action } => match action {
            EncryptionAction::GenerateKey => {
                println!("{}", kernel::sealed::SecretBox::generate_key());
            }
            EncryptionAction::Rotate => {
                let sealing = settings.encryption.secret_box(&settings.database.url)?;
                let db = store::connect(&settings.database.url, 2).await?;
                let config = controlplane::revision::sealed::reseal_all(&db.conn, &sealing).await?;
                let mail = courier::outbox::reseal(&db.conn, &sealing).await?;
                println!(
                    "re-sealed {config} project config secret(s) and {mail} queued message(s) \
                     with key {}",
                    sealing.current_key_id()
                );
            }
        },
        // Handled before the settings are loaded.
        Command::Version | Command::Routes | Command::Project { .. } => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    /// Clap's own checks of the command line (names used twice, e.g. a
    /// subcommand's `--config` against the global one).
    #[test]
    fn the_command_line_is_consistent() {
        super::Cli::command().debug_assert();
    }

    /// The global `--config` (a settings file) and the import's
    /// `--project-config` parse side by side.
    #[test]
    fn an_import_command_line_parses_with_the_global_config() {
        let cli = super::Cli::try_parse_from([
            "keyplane",
            "--config",
            "keyplane.yaml",
            "project",
            "import",
            "--token",
            "t",
            "--project",
            "6f1c0e52-5d1a-4a8e-9d61-3f0c7b1e2a44",
            "--file",
            "archive.ndjson",
            "--project-config",
            "keep",
        ]);
        let cli = match cli {
            Ok(cli) => cli,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(
            cli.config.as_deref(),
            Some(std::path::Path::new("keyplane.yaml"))
        );
        assert!(matches!(cli.command, super::Command::Project { .. }));
    }
}
