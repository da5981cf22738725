//! Bad bodies get Ory JSON 4xx errors with the request id: malformed JSON,
//! a wrong content type, an oversized body. Exercised through the same
//! middleware and extractor configuration the server registers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use actix_web::middleware::from_fn;
use actix_web::{App, HttpResponse, test, web};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
struct Named {
    name: String,
}

async fn echo(body: web::Json<Named>) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "name": body.name }))
}

const LIMIT: usize = 2048;

macro_rules! app {
    () => {
        test::init_service(
            App::new()
                .wrap(from_fn(http::middleware::request_context))
                .app_data(http::extract::json_config(LIMIT))
                .service(web::resource("/echo").post(echo))
                .default_service(web::to(http::middleware::not_found)),
        )
        .await
    };
}

async fn error_of<B: actix_web::body::MessageBody>(
    res: actix_web::dev::ServiceResponse<B>,
) -> (u16, Value) {
    let status = res.status().as_u16();
    let ct = res
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        ct.starts_with("application/json"),
        "error content type is {ct}"
    );
    let body: Value = test::read_body_json(res).await;
    (status, body)
}

#[actix_web::test]
async fn valid_json_is_accepted() {
    let app = app!();
    let req = test::TestRequest::post()
        .uri("/echo")
        .set_json(json!({"name": "a"}))
        .to_request();
    let res = test::call_service(&app, req).await;
    assert_eq!(res.status(), 200);
}

#[actix_web::test]
async fn malformed_json_is_a_400() {
    let app = app!();
    let req = test::TestRequest::post()
        .uri("/echo")
        .insert_header(("content-type", "application/json"))
        .insert_header(("x-request-id", "bad-json-1"))
        .set_payload("{\"name\": ")
        .to_request();
    let (status, body) = error_of(test::call_service(&app, req).await).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], 400);
    assert_eq!(body["error"]["status"], "Bad Request");
    assert_eq!(body["error"]["request"], "bad-json-1");
    assert!(
        body["error"]["reason"]
            .as_str()
            .unwrap()
            .contains("not valid")
    );
}

#[actix_web::test]
async fn a_wrong_field_type_is_a_400_naming_the_field() {
    let app = app!();
    let req = test::TestRequest::post()
        .uri("/echo")
        .set_json(json!({"name": 7}))
        .to_request();
    let (status, body) = error_of(test::call_service(&app, req).await).await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["reason"]
            .as_str()
            .unwrap()
            .contains("invalid type")
    );
}

#[actix_web::test]
async fn a_wrong_content_type_is_a_415() {
    let app = app!();
    let req = test::TestRequest::post()
        .uri("/echo")
        .insert_header(("content-type", "text/plain"))
        .set_payload("{\"name\":\"a\"}")
        .to_request();
    let (status, body) = error_of(test::call_service(&app, req).await).await;
    assert_eq!(status, 415);
    assert_eq!(body["error"]["code"], 415);
    assert!(
        body["error"]["reason"]
            .as_str()
            .unwrap()
            .contains("application/json")
    );
}

#[actix_web::test]
async fn an_oversized_body_is_a_413() {
    let app = app!();
    let big = json!({ "name": "x".repeat(LIMIT * 2) });
    let req = test::TestRequest::post()
        .uri("/echo")
        .set_json(big)
        .to_request();
    let (status, body) = error_of(test::call_service(&app, req).await).await;
    assert_eq!(status, 413);
    assert_eq!(body["error"]["status"], "Payload Too Large");
}

#[actix_web::test]
async fn unknown_route_and_wrong_method_are_json() {
    let app = app!();
    let req = test::TestRequest::get().uri("/nope").to_request();
    let (status, _) = error_of(test::call_service(&app, req).await).await;
    assert_eq!(status, 404);
    let req = test::TestRequest::get().uri("/echo").to_request();
    let (status, body) = error_of(test::call_service(&app, req).await).await;
    assert_eq!(status, 405);
    assert_eq!(body["error"]["status"], "Method Not Allowed");
}
