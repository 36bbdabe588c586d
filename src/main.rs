//! Parses the command line, loads configuration, and dispatches. Everything else lives in the library.

use std::io::Read;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use escalating_reminders::cli::{AdminCommand, Cli, Command};
use escalating_reminders::config::Config;
use escalating_reminders::{admin, roles, telemetry};
use tokio_util::sync::CancellationToken;

/// Exit code for bad configuration or usage (clap uses 2 as well).
const EXIT_CONFIG: u8 = 2;

fn main() -> ExitCode {
    escalating_reminders::install_crypto_provider();
    // A missing .env is normal; a malformed one is reported by the variables it fails to set.
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    let config = match Config::from_env() {
        Ok(config) => Arc::new(config),
        Err(err) => {
            eprintln!("{err}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    if matches!(cli.command, Some(Command::CheckConfig)) {
        println!("configuration ok (APP_ENV={:?}, role={})", config.app_env, cli.role.label());
        return ExitCode::SUCCESS;
    }
    let _telemetry = telemetry::init(&config);
    for name in &config.generated_secrets {
        tracing::warn!(variable = name, "{name} is not set; generated a random one for this development run");
    }
    if config.vapid.is_none() {
        tracing::warn!(variable = "VAPID_PRIVATE_KEY", "VAPID_PRIVATE_KEY is not set; browser push is off");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async move {
        match cli.command {
            Some(Command::Migrate) => {
                let state = roles::build_state(config, cli.role.clone())?;
                roles::migrate(&state).await
            }
            Some(Command::Admin(AdminCommand::Create(args))) => {
                let password = if args.password_stdin {
                    let mut text = String::new();
                    std::io::stdin().read_to_string(&mut text)?;
                    Some(text.trim_end_matches(['\r', '\n']).to_owned())
                } else {
                    None
                };
                let request = admin::bootstrap::AdminRequest {
                    email: args.email,
                    role: args.admin_role,
                    password,
                    promote_existing: args.promote_existing,
                };
                admin::bootstrap::create(config, request).await
            }
            Some(Command::CheckConfig) | None => {
                let state = roles::build_state(config, cli.role.clone())?;
                let shutdown = CancellationToken::new();
                let signals = tokio::spawn(roles::cancel_on_signal(shutdown.clone()));
                tracing::info!(role = %cli.role.label(), version = escalating_reminders::VERSION, "starting");
                let result = roles::run(state, None, shutdown.clone()).await;
                shutdown.cancel();
                let _ = signals.await;
                tracing::info!("stopped");
                result
            }
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = format!("{err:#}"), "exiting with an error");
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
