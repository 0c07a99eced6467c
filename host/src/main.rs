//! The `orderflow` command.

use anyhow::Context;
use clap::{Parser, Subcommand};
use orderflow::http::auth::{Claims, mint};
use orderflow::plugin_test;
use orderflow::plugins::{LimitsOverride, PluginKind, Runtime, RuntimeConfig};
use orderflow::scaffold::{self, Lang};
use orderflow::serve::{CommonConfig, ServeConfig, serve};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

// glibc's malloc was a tenth of the request path under load (small JSON and HTTP buffers
// freed on other threads); mimalloc's thread-local heaps take most of that away.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "orderflow",
    version,
    about = "Order management with WebAssembly business rules"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the order service.
    Serve(Box<ServeConfig>),
    /// Mint a bearer token for development (HS256, with the service's secret: JWT_SECRET,
    /// or the development secret the service keeps in DATA_DIR). Says on stderr which.
    Token {
        /// The user id (`sub`).
        #[arg(long, default_value = "dev-user")]
        user: String,
        /// Give the token the admin role.
        #[arg(long)]
        admin: bool,
        #[arg(long)]
        email: Option<String>,
        /// Validity in hours.
        #[arg(long, default_value_t = 24)]
        hours: u64,
        /// Create the development secret if DATA_DIR has none (otherwise that is an error:
        /// the service, which creates it when it first starts, would not know it).
        #[arg(long)]
        create_secret: bool,
        #[command(flatten)]
        common: CommonConfig,
    },
    /// Work with plugin components, without the service.
    #[command(subcommand)]
    Plugin(PluginCommand),
}

#[derive(Subcommand)]
enum PluginCommand {
    /// Run a component on a directory of JSON fixtures; exits 1 on any mismatch.
    Test {
        /// The component (.wasm).
        component: PathBuf,
        /// Directory of fixtures (*.json, with an optional params.json for all of them).
        fixtures: PathBuf,
        /// Fuel limit per call [default: the component's, as the service gives it].
        #[arg(long)]
        fuel: Option<u64>,
        /// Memory cap per instance, MiB [default: the component's].
        #[arg(long)]
        memory_mib: Option<u32>,
        /// A workflow file whose step for this component's decision gives the parameters
        /// (in place of params.json; a fixture's own `params` still wins) and the limits
        /// (under --fuel and --memory-mib), as the service would run it.
        #[arg(long)]
        workflow: Option<PathBuf>,
    },
    /// Say which decision a component makes, its contract version and digest.
    Inspect { component: PathBuf },
    /// Start a plugin: rules to edit, the glue to the contract, fixtures, unit tests, a
    /// README; it builds into a component and passes its fixtures as it is.
    New {
        /// The decision it makes: validation, pricing or lifecycle.
        #[arg(value_parser = scaffold::kind)]
        kind: PluginKind,
        /// The plugin's name, also its crate's or package's (lowercase words joined by
        /// dashes).
        name: String,
        /// Where to create the plugin (DIR/NAME). A Rust crate in the workspace's `plugins`
        /// is a member, anywhere else a workspace of its own; a JavaScript or Python project
        /// there is added to the workspace's `exclude`.
        #[arg(long, default_value = "plugins")]
        dir: PathBuf,
        /// The language it is written in: a Rust crate, or a JavaScript (jco) or Python
        /// (componentize-py) project.
        #[arg(long, value_enum, default_value_t = Lang::Rust)]
        lang: Lang,
        /// Start from a standard rule of the kind (standard-validation, standard-pricing,
        /// standard-lifecycle), with its fixtures and the standard workflow's parameters,
        /// rather than from a small template.
        #[arg(long, value_name = "RULE")]
        from: Option<String>,
    },
}

fn main() -> ExitCode {
    // Colours for a person at a terminal only: a log file, a pipe or a collector gets plain
    // text, with no escape codes to strip (and none at all with NO_COLOR set).
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .init();
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve(config) => {
            tokio::runtime::Runtime::new()?.block_on(serve(*config))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Token {
            user,
            admin,
            email,
            hours,
            create_secret,
            common,
        } => {
            let claims = Claims::development(user, admin, email, hours);
            let (secret, said) = common.token_secret(create_secret)?;
            println!("{}", mint(&secret, &claims)?);
            eprintln!("orderflow token: {said}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Plugin(PluginCommand::Inspect { component }) => {
            let runtime = Runtime::new(RuntimeConfig {
                prepared_instances: 0,
                ..RuntimeConfig::default()
            })?;
            let loaded = load(&runtime, &component)?;
            println!(
                "{}: {} plugin, wit {}, {}, {} bytes",
                component.display(),
                loaded.kind,
                loaded.contract,
                loaded.digest.full(),
                loaded.size
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Plugin(PluginCommand::New {
            kind,
            name,
            dir,
            lang,
            from,
        }) => {
            let created = scaffold::new_plugin(kind, &name, lang, from.as_deref(), &dir)?;
            println!("created {}, {}:", created.dir.display(), created.what);
            for file in &created.files {
                println!("  {file}");
            }
            println!("next, from {}:", created.from);
            for command in &created.commands {
                println!("  {command}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Plugin(PluginCommand::Test {
            component,
            fixtures: dir,
            fuel,
            memory_mib,
            workflow,
        }) => {
            let runtime = Runtime::new(RuntimeConfig {
                prepared_instances: 0,
                ..RuntimeConfig::default()
            })?;
            let loaded = load(&runtime, &component)?;
            let mut suite = plugin_fixtures::load(&dir)?;
            let step = match &workflow {
                Some(path) => Some(plugin_test::workflow_step(path, loaded.kind)?),
                None => None,
            };
            println!(
                "{}: {} plugin, wit {}, {}",
                component.display(),
                loaded.kind,
                loaded.contract,
                loaded.digest
            );
            let mut limits = LimitsOverride {
                fuel,
                memory_mib,
                ..LimitsOverride::default()
            };
            if let (Some(step), Some(path)) = (&step, &workflow) {
                println!(
                    "parameters and limits: the {} step of {} (plugin {})",
                    step.kind,
                    path.display(),
                    step.plugin
                );
                limits = limits.or(step.limits);
                for (fixture, params) in &mut suite.cases {
                    if fixture.params.is_none() {
                        *params = step.params.clone();
                    }
                }
            }
            let limits = limits.resolve(loaded.default_limits());
            println!(
                "limits: {} fuel, {} MiB, {} log lines of {} bytes a call",
                limits.fuel, limits.memory_mib, limits.log_lines, limits.log_bytes
            );
            let outcomes = plugin_test::run(&runtime, &loaded, &suite, limits);
            let width = outcomes.iter().map(|o| o.name.len()).max().unwrap_or(0);
            for o in &outcomes {
                let fuel = o.fuel.map_or("-".into(), |f| f.to_string());
                let memory = o.memory.map_or("-".into(), |m| {
                    format!("{:.1} MiB", m as f64 / (1024.0 * 1024.0))
                });
                let mark = if o.result.is_ok() { "ok  " } else { "FAIL" };
                println!(
                    "  {mark} {:width$}  fuel {fuel:>9}  memory {memory:>8}  {:>7.1?}  {}",
                    o.name, o.elapsed, o.description
                );
                if let Err(why) = &o.result {
                    for line in why.lines() {
                        println!("       {line}");
                    }
                }
                for line in &o.logs.lines {
                    println!("       {:5} {}", line.level.as_str(), line.message);
                }
                if o.logs.cut > 0 {
                    println!(
                        "       ({} more lines not kept whole: log_lines, log_bytes)",
                        o.logs.cut
                    );
                }
            }
            let failed = outcomes.iter().filter(|o| o.result.is_err()).count();
            println!("{} passed, {failed} failed", outcomes.len() - failed);
            Ok(if failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}

fn load(
    runtime: &Runtime,
    path: &PathBuf,
) -> anyhow::Result<std::sync::Arc<orderflow::plugins::LoadedComponent>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    runtime
        .load(&name, &bytes)
        .with_context(|| format!("{} cannot serve as a plugin", path.display()))
}
