//! Jsonnet rendering. Tenant templates are untrusted and the evaluator has no
//! CPU or memory bounds of its own, so the server renders in a child process
//! (the worker) that limits itself with rlimits and is killed after a
//! wall-clock deadline. The evaluation itself (`render_in_process`) is the
//! same code in the worker and in unit tests.

use crate::error::WebHookFailure;
use crate::slots::RenderSlots;
use jrsonnet_evaluator::{State, Val, apply_tla, trace::PathResolver};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::process::{ExitCode, Stdio};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

/// The argument that makes the server binary act as the Jsonnet worker
/// (`keyplane render-jsonnet`).
pub const JSONNET_WORKER_ARG: &str = "render-jsonnet";

/// Address-space limit of the worker, in MiB (set by the parent).
const MEMORY_ENV: &str = "KEYPLANE_JSONNET_MEMORY_MB";
/// CPU-time limit of the worker, in seconds (set by the parent).
const CPU_ENV: &str = "KEYPLANE_JSONNET_CPU_SECS";
/// Limits a worker started by hand falls back to, so it is never unbounded.
const DEFAULT_MEMORY_MB: u64 = 256;
const DEFAULT_CPU_SECS: u64 = 3;
/// Largest rendered body accepted from the worker.
pub(crate) const MAX_RENDERED_BYTES: usize = 1024 * 1024;
/// How much of the worker's stderr is kept for the error message.
const MAX_ERROR_CHARS: usize = 2_000;

#[derive(Serialize, Deserialize)]
struct WorkerInput {
    template: String,
    ctx: Value,
    /// More external variables (a claims mapper's `claims`).
    #[serde(default)]
    vars: std::collections::BTreeMap<String, Value>,
}

/// Evaluates `template` with `ctx` available both as `std.extVar('ctx')` and,
/// when the template is a function (Kratos writes `function(ctx) {...}`), as
/// its `ctx` argument. `import` is refused: there is no import resolver.
pub fn render_in_process(template: &str, ctx: &Value) -> Result<Value, String> {
    render_with_vars(template, ctx, &std::collections::BTreeMap::new())
}

/// As [`render_in_process`], with more external variables: an OIDC claims
/// mapper reads `std.extVar('claims')`, as Kratos' do.
pub fn render_with_vars(
    template: &str,
    ctx: &Value,
    vars: &std::collections::BTreeMap<String, Value>,
) -> Result<Value, String> {
    let ctx_val =
        Val::from_serde(numbers_as_floats(ctx)).map_err(|e| format!("the context: {e}"))?;
    let stdlib = jrsonnet_stdlib::ContextInitializer::new(PathResolver::FileName);
    stdlib.add_ext_var("ctx".into(), ctx_val.clone());
    for (name, value) in vars {
        let val = Val::from_serde(numbers_as_floats(value))
            .map_err(|e| format!("the variable {name}: {e}"))?;
        stdlib.add_ext_var(name.as_str().into(), val);
    }
    let mut builder = State::builder();
    builder.context_initializer(stdlib);
    let state = builder.build();
    // Thunks and std functions look the state up through a thread-local.
    let _entered = state.try_enter();
    let value = state
        .evaluate_snippet("body.jsonnet", template)
        .map_err(|e| e.to_string())?;
    // jrsonnet turns a function that returns its parameter into the builtin
    // `std.id`, whose parameter is `x`, so `function(ctx) ctx` would fail
    // as "parameter ctx is not defined"; Kratos sends the context. (An
    // identity over another parameter name stays an error, as in Kratos.)
    if let Val::Func(f) = &value
        && f.is_identity()
        && template
            .split_whitespace()
            .collect::<String>()
            .contains("function(ctx)")
    {
        return Ok(ctx.clone());
    }
    // IStr's interior mutability is its interning refcount; its hash and
    // equality never change, which is what the lint worries about.
    #[allow(clippy::mutable_key_type)]
    let mut tla = HashMap::new();
    tla.insert("ctx".into(), jrsonnet_evaluator::tla::TlaArg::Val(ctx_val));
    let value = apply_tla(&tla, value).map_err(|e| e.to_string())?;
    // Manifested as JSON text, as go-jsonnet does for Kratos: jrsonnet's
    // serde bridge would cast every whole number to i64, turning 1e20 into
    // 9223372036854775807.
    let json = value
        .manifest(jrsonnet_evaluator::manifest::JsonFormat::minify())
        .map_err(|e| format!("the result is not JSON: {e}"))?;
    serde_json::from_str(&json).map_err(|e| format!("the result is not JSON: {e}"))
}

/// jrsonnet's serde bridge turns 64-bit integers into *strings* (so that
/// `ctx.n * 2` would repeat a string); Jsonnet numbers are doubles anyway, as
/// in Kratos' go-jsonnet, so every number is handed over as one.
fn numbers_as_floats(value: &Value) -> Value {
    match value {
        Value::Number(n) => n
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::Null, Value::Number),
        Value::Array(items) => Value::Array(items.iter().map(numbers_as_floats).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), numbers_as_floats(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Entry point of the worker process: `{"template", "ctx"}` JSON on stdin,
/// the rendered JSON on stdout and exit 0; an error on stderr and exit 1.
pub fn jsonnet_worker_main() -> ExitCode {
    if let Err(e) = limit_self() {
        // Never render without the limits: that is the point of the worker.
        let _ = writeln!(std::io::stderr(), "cannot limit the worker: {e}");
        return ExitCode::FAILURE;
    }
    let mut input = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut input) {
        let _ = writeln!(std::io::stderr(), "cannot read the input: {e}");
        return ExitCode::FAILURE;
    }
    let input: WorkerInput = match serde_json::from_slice(&input) {
        Ok(i) => i,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "invalid input: {e}");
            return ExitCode::FAILURE;
        }
    };
    let rendered = render_with_vars(&input.template, &input.ctx, &input.vars)
        .and_then(|v| serde_json::to_vec(&v).map_err(|e| e.to_string()));
    match rendered {
        Ok(bytes) => {
            let mut out = std::io::stdout().lock();
            if out.write_all(&bytes).and_then(|()| out.flush()).is_err() {
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            let _ = write!(std::io::stderr(), "{e}");
            ExitCode::FAILURE
        }
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn limit_self() -> std::io::Result<()> {
    use rustix::process::{Resource, Rlimit, setrlimit};
    let bytes = env_u64(MEMORY_ENV, DEFAULT_MEMORY_MB).saturating_mul(1024 * 1024);
    let secs = env_u64(CPU_ENV, DEFAULT_CPU_SECS);
    setrlimit(
        Resource::As,
        Rlimit {
            current: Some(bytes),
            maximum: Some(bytes),
        },
    )?;
    // The soft limit sends SIGXCPU; the hard limit one second later kills.
    setrlimit(
        Resource::Cpu,
        Rlimit {
            current: Some(secs),
            maximum: Some(secs + 1),
        },
    )?;
    // A worker must not leave core dumps of tenant data behind.
    setrlimit(
        Resource::Core,
        Rlimit {
            current: Some(0),
            maximum: Some(0),
        },
    )?;
    Ok(())
}

/// How the parent starts workers.
#[derive(Debug, Clone)]
pub(crate) struct WorkerCommand {
    pub program: std::path::PathBuf,
    pub timeout: Duration,
    pub memory_mb: u64,
    /// Bounds the workers alive at once: a burst of sign-ups must not fork
    /// hundreds of processes, each allowed `memory_mb`; and one project's
    /// burst must not take every slot (see `slots`).
    pub slots: RenderSlots,
}

impl WorkerCommand {
    /// Renders `project`'s template in a fresh worker process; a template
    /// that runs past the deadline is killed.
    pub async fn render(
        &self,
        project: Uuid,
        template: &str,
        ctx: &Value,
    ) -> Result<Value, WebHookFailure> {
        self.render_with_vars(project, template, ctx, Default::default())
            .await
    }

    /// As `render`, with more external variables.
    pub async fn render_with_vars(
        &self,
        project: Uuid,
        template: &str,
        ctx: &Value,
        vars: std::collections::BTreeMap<String, Value>,
    ) -> Result<Value, WebHookFailure> {
        let failed = |m: String| WebHookFailure::Template(m);
        let input = serde_json::to_vec(&WorkerInput {
            template: template.to_owned(),
            ctx: ctx.clone(),
            vars,
        })
        .map_err(|e| failed(format!("cannot encode the context: {e}")))?;
        // Waiting for a slot counts against the same deadline: a project
        // flooding past its share runs out of time in its own queue.
        let started = tokio::time::Instant::now();
        let _slot = tokio::time::timeout(self.timeout, self.slots.enter(project))
            .await
            .map_err(|_| failed("too many templates are rendering at once".into()))?
            .ok_or_else(|| failed("the template renderer is shut down".into()))?;
        let deadline = self.timeout.saturating_sub(started.elapsed());
        let cpu_secs = self.timeout.as_secs() + 1;
        let mut child = tokio::process::Command::new(&self.program)
            .arg(JSONNET_WORKER_ARG)
            // The server's environment holds database URLs and keys; the
            // worker needs none of it.
            .env_clear()
            .env(MEMORY_ENV, self.memory_mb.to_string())
            .env(CPU_ENV, cpu_secs.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                tracing::error!(program = %self.program.display(), error = %e, "cannot start the Jsonnet worker");
                failed("the template renderer could not be started".into())
            })?;
        let (Some(mut stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(failed("the template renderer has no pipes".into()));
        };
        // Input, output and error are pumped together so that a large
        // context or a chatty template never deadlocks on a full pipe.
        let feed = async move {
            // A worker that dies early closes its stdin: the error shows in
            // the exit status, not here.
            let _ = stdin.write_all(&input).await;
            drop(stdin);
        };
        let read_out = async move {
            let mut buf = Vec::new();
            let limit = (MAX_RENDERED_BYTES + 1) as u64;
            let _ = stdout.take(limit).read_to_end(&mut buf).await;
            buf
        };
        let read_err = async move {
            let mut buf = Vec::new();
            let _ = stderr.take(64 * 1024).read_to_end(&mut buf).await;
            buf
        };
        let work = async {
            let ((), out, err) = tokio::join!(feed, read_out, read_err);
            if out.len() > MAX_RENDERED_BYTES {
                // The worker may be blocked writing the rest: stop it.
                let _ = child.kill().await;
                return (out, err, None);
            }
            let status = child.wait().await;
            (out, err, Some(status))
        };
        let (out, err, status) = match tokio::time::timeout(deadline, work).await {
            Ok(done) => done,
            Err(_) => {
                // `work` borrowed the child; dropping it released the borrow,
                // and kill_on_drop reaps what the explicit kill misses.
                let _ = child.kill().await;
                return Err(failed(format!(
                    "rendering took longer than {} ms and was stopped",
                    self.timeout.as_millis()
                )));
            }
        };
        let Some(status) = status else {
            return Err(failed(format!(
                "the rendered body is larger than {MAX_RENDERED_BYTES} bytes"
            )));
        };
        let status = status.map_err(|e| failed(format!("the template renderer failed: {e}")))?;
        if !status.success() {
            let message = String::from_utf8_lossy(&err);
            let message = message.trim();
            if status.code().is_none() || message.contains("memory allocation") {
                return Err(failed(
                    "rendering exceeded its memory or CPU limit and was stopped".into(),
                ));
            }
            let message: String = message.chars().take(MAX_ERROR_CHARS).collect();
            return Err(failed(message));
        }
        serde_json::from_slice(&out)
            .map_err(|e| failed(format!("the renderer's output is not JSON: {e}")))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    /// The example mapper of `docs/social-sign-in.md`.
    #[test]
    fn the_documented_claims_mapper_keeps_only_vouched_for_addresses() {
        let mapper = "local claims = std.extVar('claims');
{
  identity: {
    traits: {
      [if std.objectHas(claims, 'email') && claims.email_verified then 'email']: claims.email,
      [if std.objectHas(claims, 'name') then 'name']: claims.name,
    },
  },
}";
        let map = |claims: Value| {
            let vars = [("claims".to_owned(), claims)].into();
            render_with_vars(mapper, &json!({}), &vars).unwrap()
        };
        assert_eq!(
            map(json!({"sub": "1", "email": "a@b.c", "email_verified": true, "name": "A"})),
            json!({"identity": {"traits": {"email": "a@b.c", "name": "A"}}})
        );
        assert_eq!(
            map(json!({"sub": "1", "email": "a@b.c", "email_verified": false})),
            json!({"identity": {"traits": {}}})
        );
    }

    #[test]
    fn ctx_is_an_ext_var_and_a_function_argument() {
        let ctx = json!({"flow": {"id": "f1"}, "identity": {"traits": {"email": "a@b.c"}}});
        assert_eq!(
            render_in_process("function(ctx) { email: ctx.identity.traits.email }", &ctx).unwrap(),
            json!({"email": "a@b.c"})
        );
        assert_eq!(
            render_in_process(
                "local ctx = std.extVar('ctx'); { flow: ctx.flow.id, n: 1 + 1 }",
                &ctx
            )
            .unwrap(),
            json!({"flow": "f1", "n": 2})
        );
        let numbers = json!({"n": 21, "big": 9_007_199_254_740_993_u64, "f": 1.5, "list": [1, 2]});
        assert_eq!(
            render_in_process(
                "function(ctx) { n: ctx.n * 2, t: std.type(ctx.big), f: ctx.f * 2, s: std.sum(ctx.list) }",
                &numbers
            )
            .unwrap(),
            json!({"n": 42, "t": "number", "f": 3, "s": 3})
        );
    }

    #[test]
    fn import_is_refused_and_errors_are_reported() {
        let ctx = json!({});
        assert!(render_in_process("import '/etc/passwd'", &ctx).is_err());
        assert!(render_in_process("importstr '/etc/passwd'", &ctx).is_err());
        let err = render_in_process("error 'boom'", &ctx).unwrap_err();
        assert!(err.contains("boom"), "{err}");
        assert!(render_in_process("{ a: ", &ctx).is_err(), "syntax error");
        // Found by the webhook_jsonnet fuzz target: the identity template
        // returns the whole context, and whole numbers past i64 survive.
        assert_eq!(render_in_process("function( ctx ) ctx", &ctx).unwrap(), ctx);
        assert_eq!(
            render_in_process("function(ctx) { n: ctx.n }", &json!({ "n": 1e20 })).unwrap(),
            json!({ "n": 1e20 })
        );
        assert!(
            render_in_process("function(x) x", &ctx).is_err(),
            "unknown argument"
        );
    }
}
