//! The test harness: `TestApp::spawn()` starts Leadline on a fresh database with a small
//! organisation, and hands out API clients and browser-like sessions per user.

use std::sync::OnceLock;

use leadline_domain::{Role, TeamId, UserId};
use leadline_store::db::test_db::TestDb;
use leadline_store::{Db, auth::users, db_run};
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};

pub const PASSWORD: &str = "correct-horse-9";

/// One hash for every fixture account: argon2 is deliberately slow.
fn password_hash() -> String {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| users::hash_password(PASSWORD)).clone()
}

/// The fixture organisation: two teams, each with a supervisor and agents.
pub struct Org {
    pub admin: UserId,
    pub sup_a: UserId,
    pub sup_b: UserId,
    pub agent_a1: UserId,
    pub agent_a2: UserId,
    pub agent_b1: UserId,
    pub sales: UserId,
    pub team_a: TeamId,
    pub team_b: TeamId,
}

async fn user(db: &Db, username: &str, name: &str, role: Role, team: Option<TeamId>) -> UserId {
    let new = users::NewUser {
        username: username.into(),
        display_name: name.into(),
        role,
        team_id: team,
        password_hash: password_hash(),
    };
    users::create_user(db, &new, None).await.unwrap().id
}

pub async fn seed_org(db: &Db) -> Org {
    let team_a = users::create_team(db, "电销一组", None).await.unwrap();
    let team_b = users::create_team(db, "电销二组", None).await.unwrap();
    let org = Org {
        admin: user(db, "admin", "管理员", Role::Admin, None).await,
        sup_a: user(db, "sup_a", "王主管", Role::Supervisor, Some(team_a)).await,
        sup_b: user(db, "sup_b", "李主管", Role::Supervisor, Some(team_b)).await,
        agent_a1: user(db, "agent_a1", "张伟", Role::Agent, Some(team_a)).await,
        agent_a2: user(db, "agent_a2", "李娜", Role::Agent, Some(team_a)).await,
        agent_b1: user(db, "agent_b1", "赵磊", Role::Agent, Some(team_b)).await,
        sales: user(db, "sales1", "黄磊", Role::Sales, None).await,
        team_a,
        team_b,
    };
    users::set_supervisor(db, team_a, org.sup_a, true, None)
        .await
        .unwrap();
    users::set_supervisor(db, team_b, org.sup_b, true, None)
        .await
        .unwrap();
    org
}

pub struct TestApp {
    pub base: String,
    pub db: Db,
    pub org: Org,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    _test_db: TestDb,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(|_| {}).await
    }

    /// `spawn` with the application's state adjusted first (limits, directories).
    pub async fn spawn_with(configure: impl FnOnce(&mut leadline_web::AppState)) -> TestApp {
        let test_db = TestDb::fresh().await.expect("a fresh test database");
        let db = test_db.db.clone();
        let org = seed_org(&db).await;
        let mut state = leadline_web::AppState::new(db.clone());
        configure(&mut state);
        let app = leadline_web::App::bind("127.0.0.1:0", state).await.unwrap();
        let base = format!("http://{}", app.local_addr());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(app.serve(async {
            let _ = rx.await;
        }));
        TestApp {
            base,
            db,
            org,
            shutdown: Some(tx),
            _test_db: test_db,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// An API client authenticated with a fresh bearer token for `username`.
    pub async fn api(&self, username: &str) -> Api {
        let http = Client::new();
        let res = http
            .post(self.url("/api/v1/auth/token"))
            .json(&json!({"username": username, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED, "token for {username}");
        let token = res.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_string();
        Api {
            http,
            base: self.base.clone(),
            token: Some(token),
        }
    }

    /// A client with no credentials.
    pub fn anonymous(&self) -> Api {
        Api {
            http: Client::new(),
            base: self.base.clone(),
            token: None,
        }
    }

    /// A browser-like client (cookie jar, no redirects followed) signed in through the login form.
    pub async fn browser(&self, username: &str) -> Browser {
        let http = Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let res = http
            .post(self.url("/login"))
            .form(&[
                ("username", username),
                ("password", PASSWORD),
                ("next", "/leads"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "login for {username}");
        Browser {
            http,
            base: self.base.clone(),
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

pub struct Api {
    pub http: Client,
    pub base: String,
    pub token: Option<String>,
}

impl Api {
    fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let r = self.http.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    }

    pub async fn get(&self, path: &str) -> Response {
        self.req(reqwest::Method::GET, path).send().await.unwrap()
    }

    pub async fn post(&self, path: &str, body: Value) -> Response {
        self.req(reqwest::Method::POST, path)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn patch(&self, path: &str, body: Value) -> Response {
        self.req(reqwest::Method::PATCH, path)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.req(reqwest::Method::DELETE, path)
            .send()
            .await
            .unwrap()
    }

    /// Creates a lead and returns its JSON, asserting success.
    pub async fn create_lead(&self, body: Value) -> Value {
        let res = self.post("/api/v1/leads", body.clone()).await;
        let status = res.status();
        let json: Value = res.json().await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "creating {body}: {json}");
        json
    }

    /// GET returning (status, JSON body).
    pub async fn get_json(&self, path: &str) -> (StatusCode, Value) {
        let res = self.get(path).await;
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }
}

pub struct Browser {
    pub http: Client,
    pub base: String,
}

impl Browser {
    pub async fn get(&self, path: &str) -> (StatusCode, String) {
        let res = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        (res.status(), res.text().await.unwrap())
    }

    /// The CSRF token embedded in a page's forms.
    pub async fn csrf(&self, path: &str) -> String {
        let (_, html) = self.get(path).await;
        let marker = "name=\"_csrf\" value=\"";
        let start = html.find(marker).expect("page has a CSRF field") + marker.len();
        html[start..start + 64].to_string()
    }

    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        self.http
            .post(format!("{}{path}", self.base))
            .form(fields)
            .send()
            .await
            .unwrap()
    }
}

/// A unique, valid mainland mobile number for test leads.
pub fn mobile(n: u32) -> String {
    format!("139{:08}", n)
}

// ---------------------------------------------------------------------------------------------
// JSON requests, and fixtures written straight into the store
// ---------------------------------------------------------------------------------------------

/// A request with a JSON body as `api`'s user: the answer's status and JSON body (`Null` when the
/// body is not JSON).
pub async fn send(
    api: &Api,
    method: reqwest::Method,
    path: &str,
    body: Value,
) -> (StatusCode, Value) {
    let res = api.req(method, path).json(&body).send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// [`send`] with POST.
pub async fn post(api: &Api, path: &str, body: Value) -> (StatusCode, Value) {
    send(api, reqwest::Method::POST, path, body).await
}

/// [`send`] with PUT.
pub async fn put(api: &Api, path: &str, body: Value) -> (StatusCode, Value) {
    send(api, reqwest::Method::PUT, path, body).await
}

/// A finance (财务) user, `cashier`, with a bearer token made in the store.
pub async fn finance(app: &TestApp) -> Api {
    let user = users::create_user(
        &app.db,
        &users::NewUser {
            username: "cashier".into(),
            display_name: "出纳".into(),
            role: Role::Finance,
            team_id: None,
            password_hash: "x".into(),
        },
        None,
    )
    .await
    .unwrap();
    let (_, token) = leadline_store::auth::create_token(&app.db, user.id, "finance")
        .await
        .unwrap();
    Api {
        http: Client::new(),
        base: app.base.clone(),
        token: Some(token),
    }
}

/// A customer (a company, a prospect) owned by `owner`, written straight into the table.
pub async fn customer(app: &TestApp, name: &str, owner: UserId) -> i64 {
    let now = leadline_store::now();
    db_run!(&app.db, |pool| sqlx::query_scalar(
        "INSERT INTO customers (kind, name, owner_id, status, created_at, updated_at) \
         VALUES ('company', $1, $2, 'prospect', $3, $3) RETURNING id"
    )
    .bind(name)
    .bind(owner)
    .bind(now)
    .fetch_one(pool)
    .await
    .unwrap())
}

// ---------------------------------------------------------------------------------------------
// More app servers on one database (the agent workspace's job tests, issue 4)
// ---------------------------------------------------------------------------------------------

/// One more app server on an existing database, as a second machine would run; `stop` shuts it
/// down gracefully (its job worker and event streams end too).
pub struct Server {
    pub base: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

pub async fn start_server(db: &Db) -> Server {
    start_server_with(db, |_| {}).await
}

/// [`start_server`] with the application's state adjusted first (limits, directories).
pub async fn start_server_with(
    db: &Db,
    configure: impl FnOnce(&mut leadline_web::AppState),
) -> Server {
    let mut state = leadline_web::AppState::new(db.clone());
    configure(&mut state);
    let app = leadline_web::App::bind("127.0.0.1:0", state).await.unwrap();
    let base = format!("http://{}", app.local_addr());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(app.serve(async {
        let _ = rx.await;
    }));
    Server {
        base,
        shutdown: Some(tx),
        served: Some(served),
    }
}

impl Server {
    /// Stops the server and waits until it has stopped.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(served) = self.served.take() {
            served.await.unwrap().unwrap();
        }
    }

    /// An API client of this server for `username` (bearer token).
    pub async fn api(&self, username: &str) -> Api {
        api_client(&self.base, username).await
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// An API client of the server at `base` with a fresh bearer token for `username`.
pub async fn api_client(base: &str, username: &str) -> Api {
    let http = Client::new();
    let res = http
        .post(format!("{base}/api/v1/auth/token"))
        .json(&json!({"username": username, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED, "token for {username}");
    let token = res.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    Api {
        http,
        base: base.to_string(),
        token: Some(token),
    }
}

/// Reads a server-sent event stream until the next event named `name`; returns its data (the
/// `data:` lines joined by newlines). Fails when none comes within `wait`.
pub async fn next_sse(
    res: &mut reqwest::Response,
    buf: &mut String,
    name: &str,
    wait: std::time::Duration,
) -> String {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            let mut event = "";
            let mut data = Vec::new();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    event = v.trim();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push(v.strip_prefix(' ').unwrap_or(v));
                }
            }
            if event == name {
                return data.join("\n");
            }
        }
        let chunk = tokio::time::timeout_at(deadline, res.chunk())
            .await
            .unwrap_or_else(|_| panic!("`{name}` within {wait:?}"))
            .unwrap()
            .expect("the stream stays open");
        buf.push_str(&String::from_utf8_lossy(&chunk));
    }
}
