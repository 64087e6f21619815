//! Command wiring through Tauri's mock runtime: the commands the app registers answer by name,
//! errors cross IPC as `{kind, code, ...facts}` with no words, and a teller asking for a
//! supervisor function is refused in Rust. Plus: the command list in `build.rs`
//! (`command_names.rs`), the commands registered in `ipc.rs` and the window's capability agree.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use desk_config::{Config, LoadedConfig};
use order_workflow::WorkflowError;
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{
    INVOKE_KEY, MockRuntime, get_ipc_response, mock_builder, mock_context, noop_assets,
};
use tauri::webview::InvokeRequest;
use tauri::{App, WebviewWindow, WebviewWindowBuilder};

use crate::state::AppState;
use crate::{COMMAND_NAMES, IpcError};

fn app(
    config: Result<Arc<LoadedConfig>, IpcError>,
) -> (App<MockRuntime>, WebviewWindow<MockRuntime>) {
    let ipc = crate::ipc::mock_builder();
    let app = mock_builder()
        .invoke_handler(ipc.invoke_handler())
        .manage(AppState::new(config, Instant::now()))
        .build(mock_context(noop_assets()))
        .expect("the mock app builds");
    let window = WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .expect("the mock window opens");
    (app, window)
}

fn loaded(config: Config) -> Result<Arc<LoadedConfig>, IpcError> {
    Ok(Arc::new(LoadedConfig {
        config,
        files: Vec::new(),
        env_vars: Vec::new(),
    }))
}

fn invoke(
    window: &WebviewWindow<MockRuntime>,
    command: &str,
    args: serde_json::Value,
) -> Result<serde_json::Value, serde_json::Value> {
    get_ipc_response(
        window,
        InvokeRequest {
            cmd: command.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body: InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_owned(),
        },
    )
    .map(|body| body.deserialize::<serde_json::Value>().unwrap())
}

#[test]
fn a_command_answers_by_its_name_with_typed_json() {
    let (_app, window) = app(loaded(Config::training_defaults()));
    let info = invoke(&window, "app_info", serde_json::json!({})).unwrap();
    assert_eq!(info["environment"], "training");
    assert_eq!(info["productName"], "Issuance Desk");
    assert_eq!(info["idleClearSeconds"], 120);
}

#[test]
fn an_invalid_configuration_crosses_ipc_as_a_code_with_the_keys_and_no_words() {
    let problem = desk_config::Problem {
        key: "ui.idle_clear_second".into(),
        value: None,
        source: Some("/etc/issuance-desk/config.toml".into()),
        message: "unknown key (a typo?)".into(),
    };
    let error = IpcError::from(WorkflowError::ConfigInvalid(vec![problem]));
    let (_app, window) = app(Err(error));
    let answer = invoke(&window, "app_info", serde_json::json!({})).unwrap_err();
    assert_eq!(answer["kind"], "setup");
    assert_eq!(answer["code"], "config_invalid");
    assert_eq!(answer["configProblems"][0]["key"], "ui.idle_clear_second");
    assert_eq!(
        answer["configProblems"][0]["source"],
        "/etc/issuance-desk/config.toml"
    );
    let text = answer.to_string();
    assert!(
        !text.contains("typo"),
        "the English reason stays with IT: {text}"
    );
    for absent in ["message", "whatToDo"] {
        assert!(answer.get(absent).is_none(), "{absent} in {answer}");
    }
}

#[test]
fn a_teller_is_refused_every_supervisor_function_in_rust() {
    let mut config = Config::training_defaults();
    config.supervisors.users = vec!["nobody-at-this-desk".into()];
    let (_app, window) = app(loaded(config));
    let access = invoke(&window, "supervisor_access", serde_json::json!({})).unwrap();
    assert_eq!(access["allowed"], false);
    for (command, args) in [
        ("list_orders", serde_json::json!({"filter": {}})),
        ("order_detail", serde_json::json!({"cardId": "card-1"})),
        ("refresh_orders", serde_json::json!({"cardIds": []})),
        (
            "order_stats",
            serde_json::json!({"from": 0.0, "to": 1.0, "bucket": "day"}),
        ),
        ("order_exceptions", serde_json::json!({})),
        ("export_orders", serde_json::json!({"filter": {}})),
    ] {
        let refused = invoke(&window, command, args).unwrap_err();
        assert_eq!(refused["kind"], "forbidden", "{command}: {refused}");
        assert_eq!(refused["code"], "not_supervisor", "{command}: {refused}");
        assert_eq!(
            refused["user"],
            crate::identity::current().user.as_str(),
            "{command}"
        );
    }
}

#[test]
fn an_unknown_command_is_not_answered() {
    let (_app, window) = app(loaded(Config::training_defaults()));
    assert!(invoke(&window, "drop_journal", serde_json::json!({})).is_err());
}

/// The command names in the generated bindings: what `ipc.rs` registers.
fn registered_commands() -> BTreeSet<String> {
    let dir = tempfile_dir();
    let path = dir.join("bindings.ts");
    crate::ipc::export_bindings(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    text.split("__TAURI_INVOKE(\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_owned)
        .collect()
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "issuance-desk-commands-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn build_rs_declares_exactly_the_registered_commands_and_the_window_may_call_each() {
    let declared: BTreeSet<String> = COMMAND_NAMES.iter().map(|c| (*c).to_owned()).collect();
    assert_eq!(
        declared.len(),
        COMMAND_NAMES.len(),
        "a command listed twice"
    );
    assert_eq!(
        declared,
        registered_commands(),
        "src/command_names.rs (build.rs) and src/ipc.rs list different commands"
    );
    let capability: serde_json::Value =
        serde_json::from_str(include_str!("../capabilities/main-window.json")).unwrap();
    let allowed: BTreeSet<String> = capability["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p.as_str()?.strip_prefix("allow-"))
        .map(|p| p.replace('-', "_"))
        .collect();
    assert_eq!(
        declared, allowed,
        "capabilities/main-window.json allows a different set of commands"
    );
}

#[test]
fn the_app_identifier_is_the_one_the_composition_root_uses() {
    let conf: serde_json::Value = serde_json::from_str(include_str!("../tauri.conf.json")).unwrap();
    assert_eq!(conf["identifier"], order_workflow::APP_IDENTIFIER);
}
