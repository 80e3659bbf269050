//! What the tests that run the `leadline` binary share.

use std::process::{Command, Stdio};

use leadline_domain::Role;
use leadline_store::{Db, auth::users};

/// `leadline --database-url URL …`, its output captured.
pub fn leadline(url: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_leadline"));
    c.arg("--database-url")
        .arg(url)
        .env("LEADLINE_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// The migrated database at `url`, with the `admin` that `leadline import` acts as.
pub async fn database_with_admin(url: &str) -> Db {
    let db = Db::connect(url).await.unwrap();
    db.migrate().await.unwrap();
    users::create_user(
        &db,
        &users::NewUser {
            username: "admin".into(),
            display_name: "管理员".into(),
            role: Role::Admin,
            team_id: None,
            password_hash: "x".into(),
        },
        None,
    )
    .await
    .unwrap();
    db
}
