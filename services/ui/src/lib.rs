//! The hosted self-service UI of every tenant (`/ui/…` on the project's
//! host): Ory's "managed UI". Pages are rendered on the server from the
//! identity engine's flows (read in-process, with the browser's cookies),
//! in the person's language and the project's branding; the forms post to
//! the identity engine itself. Templates, catalogues, CSS and the small
//! script are compiled into the binary.

pub mod account;
pub mod branding;
pub mod flows;
pub mod i18n;
pub mod invite;
pub mod query;
pub mod render;
pub mod view;

use actix_web::{HttpResponse, web};
use identity::flow::model::FlowKind;

const STYLESHEET: &str = include_str!("../assets/ui.css");
const SCRIPT: &str = include_str!("../assets/ui.js");

fn asset(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(body)
}

fn flow_page(cfg: &mut web::ServiceConfig, kind: FlowKind) {
    cfg.service(
        web::resource(format!("/ui/{}", kind.as_str()))
            .get(move |ui, engine, tenant, req| flows::show_flow(ui, engine, tenant, req, kind)),
    );
}

/// Registers the UI's routes on the tenant scope.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::Data::new(render::Ui::default()));
    for kind in [
        FlowKind::Login,
        FlowKind::Registration,
        FlowKind::Settings,
        FlowKind::Recovery,
        FlowKind::Verification,
    ] {
        flow_page(cfg, kind);
    }
    cfg.service(web::resource("/ui/welcome").get(account::welcome))
        .service(web::resource("/ui/sessions").get(account::sessions))
        .service(web::resource("/ui/sessions/revoke").post(account::revoke))
        .service(web::resource("/ui/error").get(account::error_page))
        .service(
            web::resource("/ui/invites/{invite_id}")
                .get(invite::show_invite)
                .post(invite::answer_invite),
        )
        .service(
            web::resource("/ui/assets/ui.css")
                .get(|| async { asset("text/css; charset=utf-8", STYLESHEET) }),
        )
        .service(
            web::resource("/ui/assets/ui.js")
                .get(|| async { asset("text/javascript; charset=utf-8", SCRIPT) }),
        )
        // The UI's home: where a person lands without a page.
        .service(web::resource("/ui").get(|| async { flows::see_other("/ui/welcome".to_owned()) }));
}
