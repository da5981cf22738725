//! `keyplane project export|import`: the export and import endpoints
//! driven from a terminal against a running server, streamed both ways
//! (the archive never sits in memory), with a progress bar.

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How much of an export's end the CLI keeps to read its end line.
const TAIL_BYTES: usize = 64 << 10;

#[derive(Subcommand)]
pub enum ProjectAction {
    /// Stream a project's archive (config, schemas, identities, relation
    /// tuples) into a file.
    Export {
        #[command(flatten)]
        target: Target,
        /// Where to write the archive (NDJSON).
        #[arg(long, short)]
        output: PathBuf,
    },
    /// Stream an archive into a project.
    Import {
        #[command(flatten)]
        target: Target,
        /// The archive to read.
        #[arg(long, short)]
        file: PathBuf,
        /// `empty` (the default) or `merge`.
        #[arg(long, value_enum, default_value_t = Mode::Empty)]
        mode: Mode,
        /// `keep` the identities' ids (another server) or give them `new`
        /// ones (a copy on the same server).
        #[arg(long, value_enum, default_value_t = Ids::Keep)]
        ids: Ids,
        /// Whether the archive's config replaces the project's (default:
        /// apply into an empty project, keep in a merge). Not `--config`:
        /// that names the settings file.
        #[arg(long, value_enum)]
        project_config: Option<ConfigChoice>,
    },
}

#[derive(Args)]
pub struct Target {
    /// The server's control-plane URL.
    #[arg(long, env = "KEYPLANE_SERVER", default_value = "http://localhost:4000")]
    server: String,
    /// A personal access token (`keyplane token create`).
    #[arg(long, env = "KEYPLANE_TOKEN", hide_env_values = true)]
    token: String,
    /// The project's id.
    #[arg(long)]
    project: uuid::Uuid,
    /// The archive key second factors are sealed with (at least 32
    /// characters; the same on export and import).
    #[arg(long, env = "KEYPLANE_ARCHIVE_KEY", hide_env_values = true)]
    archive_key: Option<String>,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Mode {
    Empty,
    Merge,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Ids {
    Keep,
    New,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ConfigChoice {
    Apply,
    Keep,
}

fn value_name<T: ValueEnum>(value: T) -> String {
    value
        .to_possible_value()
        .map(|v| v.get_name().to_owned())
        .unwrap_or_default()
}

impl Target {
    fn request(
        &self,
        method: reqwest::Method,
        what: &str,
        query: &[(&str, String)],
    ) -> anyhow::Result<reqwest::RequestBuilder> {
        let url = reqwest::Url::parse_with_params(
            &format!(
                "{}/projects/{}/{what}",
                self.server.trim_end_matches('/'),
                self.project
            ),
            query,
        )
        .with_context(|| format!("--server {}", self.server))?;
        let mut request = reqwest::Client::new()
            .request(method, url)
            .bearer_auth(&self.token);
        if let Some(key) = &self.archive_key {
            request = request.header(transfer::ARCHIVE_KEY_HEADER, key);
        }
        Ok(request)
    }
}

fn bar(length: Option<u64>, message: &'static str) -> ProgressBar {
    let bar = match length {
        Some(length) => ProgressBar::new(length).with_style(
            ProgressStyle::with_template(
                "{msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta} left)",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} {msg} {bytes} ({bytes_per_sec})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    };
    bar.set_message(message);
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// The server's error as the user should read it.
async fn refused(response: reqwest::Response) -> anyhow::Error {
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    let reason = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| {
            let error = &v["error"];
            let text = error["reason"].as_str().or(error["message"].as_str())?;
            let details = &error["details"];
            Some(if details.is_null() {
                text.to_owned()
            } else {
                format!("{text}\n{details}")
            })
        })
        .unwrap_or(body);
    anyhow::anyhow!("the server answered {status}: {reason}")
}

pub async fn run(action: ProjectAction) -> anyhow::Result<()> {
    match action {
        ProjectAction::Export { target, output } => export(&target, &output).await,
        ProjectAction::Import {
            target,
            file,
            mode,
            ids,
            project_config,
        } => {
            let mut query = vec![("mode", value_name(mode)), ("ids", value_name(ids))];
            if let Some(config) = project_config {
                query.push(("config", value_name(config)));
            }
            import(&target, &file, &query).await
        }
    }
}

async fn export(target: &Target, output: &PathBuf) -> anyhow::Result<()> {
    let response = target
        .request(reqwest::Method::GET, "export", &[])?
        .send()
        .await
        .context("reaching the server")?;
    if !response.status().is_success() {
        return Err(refused(response).await);
    }
    let mut file = tokio::fs::File::create(output)
        .await
        .with_context(|| format!("creating {}", output.display()))?;
    let progress = bar(None, "exporting");
    let mut body = response.bytes_stream();
    // The archive's tail, to tell a complete archive (its end line) from
    // a cut one; the end line is short.
    let mut tail: Vec<u8> = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.context("the export stopped before its end")?;
        file.write_all(&chunk).await?;
        progress.inc(chunk.len() as u64);
        tail.extend_from_slice(&chunk);
        if tail.len() > TAIL_BYTES * 2 {
            tail.drain(..tail.len() - TAIL_BYTES);
        }
    }
    file.flush().await?;
    progress.finish_and_clear();
    let last = tail
        .split(|b| *b == b'\n')
        .rfind(|line| !line.is_empty())
        .unwrap_or_default();
    let end: serde_json::Value = serde_json::from_slice(last).unwrap_or_default();
    if end["kind"] != "end" {
        bail!(
            "the export stopped before its end line; {} is incomplete",
            output.display()
        );
    }
    println!(
        "exported {} identities and {} relation tuples to {}",
        end["identities"],
        end["relation_tuples"],
        output.display()
    );
    if let Some(left_out) = end.get("left_out") {
        println!("left out: {left_out}");
    }
    Ok(())
}

async fn import(target: &Target, path: &PathBuf, query: &[(&str, String)]) -> anyhow::Result<()> {
    let file = tokio::fs::File::open(path)
        .await
        .with_context(|| format!("opening {}", path.display()))?;
    let size = file.metadata().await?.len();
    let progress = bar(Some(size), "importing");
    let counter = progress.clone();
    // Read and sent in 256 KiB chunks; the bar follows what was sent.
    let chunks = futures_util::stream::try_unfold(file, move |mut file| {
        let counter = counter.clone();
        async move {
            let mut buffer = vec![0; 256 << 10];
            let read = file.read(&mut buffer).await?;
            if read == 0 {
                return Ok::<_, std::io::Error>(None);
            }
            buffer.truncate(read);
            counter.inc(read as u64);
            Ok(Some((buffer, file)))
        }
    });
    let response = target
        .request(reqwest::Method::POST, "import", query)?
        .header(reqwest::header::CONTENT_TYPE, transfer::handler::NDJSON)
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .context("reaching the server")?;
    progress.finish_and_clear();
    if !response.status().is_success() {
        return Err(refused(response).await);
    }
    let report = response.text().await?;
    match serde_json::from_str::<serde_json::Value>(&report) {
        Ok(report) => println!("{}", serde_json::to_string_pretty(&report)?),
        Err(_) => println!("{report}"),
    }
    Ok(())
}
