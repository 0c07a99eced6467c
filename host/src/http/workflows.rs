//! The workflows as they serve: `/api/v1/workflows`.

use super::AppState;
use super::auth::AdminUser;
use super::responses::{Forbidden, Unauthorized};
use crate::domain::Digest;
use crate::plugins::{LoadFailure, Serving};
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::sync::Arc;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/workflows", get(list))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct WorkflowView {
    /// The workflow's name: its file's, without `.toml`.
    name: String,
    description: String,
    channels: Vec<String>,
    /// Of the workflow file as it serves; none if no version of the file ever loaded.
    digest: Option<Digest>,
    source: String,
    /// None if no version of the file ever loaded.
    loaded_at: Option<DateTime<Utc>>,
    /// The plugin of each decision and the version it serves with (none for a file that
    /// never loaded).
    plugins: Vec<StepView>,
    /// Why the file as it is now does not serve: then the version listed is the last that
    /// loaded, or, with no digest and no plugins, none ever did.
    last_error: Option<LoadFailure>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct StepView {
    kind: String,
    plugin: String,
    digest: Digest,
}

/// Every workflow: its file, its channels and the plugin version of each decision; and
/// every workflow file that never loaded, with why (as `/health` lists it).
#[utoipa::path(get, path = "/api/v1/workflows", tag = "plugins", operation_id = "list_workflows",
    responses((status = 200, description = "Every workflow, by name: those that serve, and the files that never loaded with their error", body = Vec<WorkflowView>), Unauthorized, Forbidden),
    security(("bearer" = [])))]
async fn list(State(state): State<AppState>, _: AdminUser) -> axum::Json<Vec<WorkflowView>> {
    let serving: Arc<Serving> = state.registry.current();
    let dir = state.registry.workflow_dir();
    let source = |name: &str| dir.join(format!("{name}.toml")).display().to_string();
    let loaded = serving.workflows.values().map(|w| WorkflowView {
        name: w.name.clone(),
        description: w.description.clone(),
        channels: w.channels.clone(),
        digest: Some(w.digest.clone()),
        source: source(&w.name),
        loaded_at: Some(w.loaded_at.into()),
        plugins: w
            .plugins()
            .iter()
            .map(|p| StepView {
                kind: p.kind().to_string(),
                plugin: p.component().name.clone(),
                digest: p.component().digest.clone(),
            })
            .collect(),
        last_error: serving.errors.get(&format!("{}.toml", w.name)).cloned(),
    });
    let never_loaded = (serving.errors.iter())
        .filter_map(|(file, failure)| Some((file.strip_suffix(".toml")?, failure)))
        .filter(|(name, _)| !serving.workflows.contains_key(*name))
        .map(|(name, failure)| WorkflowView {
            name: name.to_owned(),
            description: String::new(),
            channels: Vec::new(),
            digest: None,
            source: source(name),
            loaded_at: None,
            plugins: Vec::new(),
            last_error: Some(failure.clone()),
        });
    let mut all: Vec<WorkflowView> = loaded.chain(never_loaded).collect();
    all.sort_by(|a, b| a.name.cmp(&b.name));
    axum::Json(all)
}
