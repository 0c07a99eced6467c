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
    name: String,
    description: String,
    channels: Vec<String>,
    /// Of the workflow file.
    digest: Digest,
    source: String,
    loaded_at: DateTime<Utc>,
    /// The plugin of each decision and the version it serves with.
    plugins: Vec<StepView>,
    last_error: Option<LoadFailure>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct StepView {
    kind: String,
    plugin: String,
    digest: Digest,
}

/// Every workflow: its file, its channels and the plugin version of each decision.
#[utoipa::path(get, path = "/api/v1/workflows", tag = "plugins", operation_id = "list_workflows",
    responses((status = 200, description = "Every workflow that serves", body = Vec<WorkflowView>), Unauthorized, Forbidden),
    security(("bearer" = [])))]
async fn list(State(state): State<AppState>, _: AdminUser) -> axum::Json<Vec<WorkflowView>> {
    let serving: Arc<Serving> = state.registry.current();
    let dir = state.registry.workflow_dir();
    axum::Json(
        serving
            .workflows
            .values()
            .map(|w| WorkflowView {
                name: w.name.clone(),
                description: w.description.clone(),
                channels: w.channels.clone(),
                digest: w.digest.clone(),
                source: dir.join(format!("{}.toml", w.name)).display().to_string(),
                loaded_at: w.loaded_at.into(),
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
            })
            .collect(),
    )
}
