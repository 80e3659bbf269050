//! The real parts the call tests start on loopback, shared by this crate's tests and the web
//! tests (feature `testkit`): Kamailio with the shipped configuration, baresip seats that answer
//! by themselves (or never), SIPp seats (busy, or answering and hanging up) and SIPp callers.
//! Every process is a child of the test and is killed (by its own id) when dropped.

use crate::ivr::Flow;
use crate::kamailio::Floor;
use crate::{pacing, wav};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A fresh scratch folder for this test process.
pub fn scratch(name: &str) -> PathBuf {
    // Numbered: tests of one binary run at once and may ask for the same name.
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("leadline-test-{}-{n}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch folder");
    dir
}

/// A UDP port free on loopback now.
pub fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|socket| socket.local_addr())
        .expect("a free UDP port")
        .port()
}

/// Every prompt the flow names, in each of its languages, as a 300 ms tone (the fragments
/// answers are spoken from as 40 ms tones): real files, short enough that a scenario's keys and
/// audio land where the flow expects them.
pub fn write_prompts(dir: &Path, flow: &Flow) {
    let fragments = crate::speech::fragment_names();
    for language in &flow.languages {
        std::fs::create_dir_all(dir.join(language)).expect("prompt folder");
        for prompt in crate::prompts::prompt_names(flow) {
            let length = if fragments.contains(&prompt) { 40 } else { 300 };
            let path = dir.join(language).join(format!("{prompt}.wav"));
            let file = std::fs::File::create(path).expect("prompt file");
            let mut writer = wav::WavWriter::new(file).expect("prompt file");
            writer
                .write_samples(&pacing::tone(440.0, Duration::from_millis(length), 6000))
                .expect("prompt written");
            writer.finish().expect("prompt closed");
        }
    }
}

/// A scenario shipped in `crates/telephony/tests/sipp/`, or one written by `caller_scenario`
/// (an absolute path).
pub fn scenario(name: &str) -> PathBuf {
    if Path::new(name).is_absolute() {
        return PathBuf::from(name);
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sipp")
        .join(name)
}

fn sipp(scenario_name: &str, target: SocketAddr, port: u16, extra: &[&str]) -> Command {
    let mut command = Command::new("sipp");
    command
        .arg(target.to_string())
        .arg("-sf")
        .arg(scenario(scenario_name))
        .args(["-m", "1", "-i", "127.0.0.1", "-mi", "127.0.0.1"])
        .args(["-p", &port.to_string(), "-timeout", "60", "-nostdin"])
        .args(extra);
    command
}

/// Runs a SIPp caller to its end (one call).
pub async fn run_sipp(scenario_name: &str, target: SocketAddr, extra: &[&str]) -> Output {
    let mut command = sipp(scenario_name, target, free_udp_port(), extra);
    tokio::task::spawn_blocking(move || {
        command
            .output()
            .expect("sipp must be installed (apt-get install sip-tester)")
    })
    .await
    .expect("sipp ran")
}

/// Fails the test with SIPp's output unless it succeeded.
pub fn assert_sipp_passed(output: &Output) {
    assert!(
        output.status.success(),
        "sipp failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A child process killed when dropped.
pub struct Process {
    child: Child,
    pub log: PathBuf,
}

impl Process {
    fn spawn(mut command: Command, log: PathBuf) -> Self {
        let file = std::fs::File::create(&log).expect("log file");
        let child = command
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("log file"))
            .stderr(file)
            .spawn()
            .unwrap_or_else(|error| panic!("{command:?} does not start: {error}"));
        Self { child, log }
    }

    /// Waits until the log holds `text`; panics with the log otherwise.
    fn wait_for_log(&mut self, text: &str, limit: Duration) {
        if let Err(problem) = self.until_logged(text, limit) {
            panic!("{problem}");
        }
    }

    /// Waits until the log holds `text`; the log (and why) when the process ended first.
    fn until_logged(&mut self, text: &str, limit: Duration) -> Result<(), String> {
        let start = Instant::now();
        while start.elapsed() < limit {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            if log.contains(text) {
                return Ok(());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("{} ended ({status}): {log}", self.log.display()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        Err(format!(
            "{text:?} not in {} after {limit:?}: {log}",
            self.log.display()
        ))
    }
}

impl Drop for Process {
    /// SIGTERM first, so that Kamailio ends its own children (a SIGKILL would leave them
    /// running), then SIGKILL if it has not ended within three seconds.
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(3) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback address with a free UDP port.
pub fn free_address() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], free_udp_port()))
}

/// Kamailio with the shipped configuration on loopback.
pub struct Kamailio {
    pub address: SocketAddr,
    pub process: Process,
}

impl Kamailio {
    /// Starts it on `address` (see `free_address`) in front of `call_service` and waits until it
    /// listens.
    pub fn start(address: SocketAddr, call_service: SocketAddr) -> Self {
        let run_dir = scratch(&format!("kamailio-{}", address.port()));
        let floor = Floor {
            listen: address,
            call_service,
        };
        let command = floor.prepare(&run_dir).expect("kamailio configuration");
        let mut process = Process::spawn(command, run_dir.join("kamailio.log"));
        // Kamailio's children log their start once the socket is bound.
        process.wait_for_log("SO_RCVBUF is finally", Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(200));
        Self { address, process }
    }
}

/// The call service with `flow` (prompts written as tones) behind a fresh Kamailio it rings
/// seats and customers through; its `CallEvent`s with it.
pub async fn service_behind_kamailio(
    name: &str,
    flow: Flow,
) -> (
    crate::service::CallService,
    tokio::sync::mpsc::UnboundedReceiver<crate::service::CallEvent>,
    Kamailio,
) {
    let proxy = free_address();
    let prompt_dir = scratch(&format!("{name}-prompts"));
    write_prompts(&prompt_dir, &flow);
    let config = crate::service::ServiceConfig {
        flow: tokio::sync::watch::channel(flow).1,
        prompt_dir,
        voicemail_dir: scratch(&format!("{name}-recordings")),
        seat_proxy: Some(proxy),
        lookups: None,
    };
    let (service, events) =
        crate::service::CallService::start(SocketAddr::from(([127, 0, 0, 1], 0)), config)
            .await
            .expect("the call service starts");
    let kamailio = Kamailio::start(proxy, service.address());
    (service, events, kamailio)
}

/// How a baresip seat answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// At once (`answermode=auto`).
    Auto,
    /// Never: it rings until the caller gives up.
    Never,
}

/// A seat registered with Kamailio as `sip:<name>@<kamailio>`.
pub struct Seat {
    pub name: String,
    /// Where a baresip seat writes what it heard and said (its `sndfile` module:
    /// `dump-<call>-dec.wav` is what it heard).
    pub recordings: Option<PathBuf>,
    _processes: Vec<Process>,
}

impl Seat {
    /// baresip as the seat: PCMU/PCMA, no sound card (it speaks a 600 Hz tone from a file;
    /// what it hears is written under `recordings`).
    pub fn baresip(name: &str, kamailio: &Kamailio, answer: Answer) -> Self {
        let dir = scratch(&format!("seat-{name}"));
        let say = dir.join("say.wav");
        let file = std::fs::File::create(&say).expect("seat audio");
        let mut writer = wav::WavWriter::new(file).expect("seat audio");
        writer
            .write_samples(&pacing::tone(600.0, Duration::from_secs(60), 5000))
            .expect("seat audio");
        writer.finish().expect("seat audio");
        let recordings = dir.join("recordings");
        std::fs::create_dir_all(&recordings).expect("seat recordings");
        let mode = match answer {
            Answer::Auto => "auto",
            Answer::Never => "manual",
        };
        let account = format!(
            "<sip:{name}@{kamailio}>;regint=300;answermode={mode};audio_codecs=PCMU,PCMA;outbound=sip:{kamailio}\n",
            kamailio = kamailio.address
        );
        std::fs::write(dir.join("accounts"), account).expect("baresip accounts");
        // The free port may be taken by another test between the look and baresip's bind: then
        // another port.
        let mut tries = 0;
        let process = loop {
            tries += 1;
            let config = format!(
                "poll_method\tepoll\nsip_listen\t127.0.0.1:{port}\nsip_trans_def\tudp\n\
                 net_interface\t127.0.0.1\naudio_source\taufile,{say}\n\
                 module_path\t/usr/lib/baresip/modules\nmodule\tg711.so\nmodule\taufile.so\n\
                 module\tsndfile.so\nsnd_path\t{recordings}\nmodule_app\taccount.so\n\
                 call_max_calls\t1\n",
                port = free_udp_port(),
                recordings = recordings.display(),
                say = say.display(),
            );
            std::fs::write(dir.join("config"), config).expect("baresip config");
            let mut command = Command::new("baresip");
            command.arg("-f").arg(&dir);
            let mut process = Process::spawn(command, dir.join("baresip.log"));
            match process.until_logged("200 OK", Duration::from_secs(10)) {
                Ok(()) => break process,
                Err(problem) if tries < 5 && problem.contains("Address already in use") => {}
                Err(problem) => panic!("{problem}"),
            }
        };
        Self {
            name: name.to_owned(),
            recordings: Some(recordings),
            _processes: vec![process],
        }
    }

    /// A SIPp seat playing `scenario_name` (e.g. `seat_busy.xml`) for one call, registered with
    /// Kamailio under `name`.
    pub async fn sipp(name: &str, kamailio: &Kamailio, scenario_name: &str) -> Self {
        let dir = scratch(&format!("seat-{name}"));
        let port = free_udp_port();
        let mut uas = sipp(scenario_name, kamailio.address, port, &["-s", name]);
        uas.args(["-mp", &free_udp_port().to_string()]);
        let process = Process::spawn(uas, dir.join("sipp.log"));
        let registered = run_sipp(
            "seat_register.xml",
            kamailio.address,
            &["-s", name, "-key", "contact_port", &port.to_string()],
        )
        .await;
        assert_sipp_passed(&registered);
        Self {
            name: name.to_owned(),
            recordings: None,
            _processes: vec![process],
        }
    }
}

/// The samples of the first WAV file in `dir` whose name contains `part` (e.g. baresip's
/// `-dec.wav`, what a seat heard).
pub fn recorded_samples(dir: &Path, part: &str) -> Vec<i16> {
    let entries = std::fs::read_dir(dir).expect("recordings folder");
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.contains(part) && name.ends_with(".wav") {
            let bytes = std::fs::read(entry.path()).expect("recording");
            // The header's sizes may not be final while the seat runs: read the data after it.
            return bytes
                .get(44..)
                .unwrap_or_default()
                .chunks_exact(2)
                .map(|pair| i16::from_le_bytes([pair[0], pair[1]]))
                .collect();
        }
    }
    panic!("no {part} recording in {}", dir.display());
}

/// One thing a `caller_scenario` caller does after the call is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// 500 ms, then a key as an RFC 4733 event (SIPp's recorded `dtmf_2833_*.pcap`).
    Key(char),
    /// 500 ms, then a key by SIP INFO (`application/dtmf-relay`).
    Info(char),
    Pause {
        ms: u64,
    },
}

/// Keys as `Step::Key`s.
pub fn keys(text: &str) -> Vec<Step> {
    text.chars().map(Step::Key).collect()
}

/// How a `caller_scenario` call ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The caller hangs up (BYE) after the last step.
    CallerHangsUp,
    /// The service hangs up: the caller waits for its BYE and answers 200.
    ServiceHangsUp,
}

/// Writes a SIPp caller scenario (PCMA with telephone-events) that dials `number` from `caller`
/// and does `steps`; returns its path, for `run_sipp`. For callers whose keys are known only
/// when the test runs (an order number from the database).
pub fn caller_scenario(number: &str, caller: &str, steps: &[Step], end: End) -> PathBuf {
    let head = |method: &str, cseq: &str, tag: &str| {
        format!(
            "      {method} sip:{number}@[remote_ip]:[remote_port] SIP/2.0\n\
             \x20     Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]\n\
             \x20     From: <sip:{caller}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]\n\
             \x20     To: <sip:{number}@[remote_ip]:[remote_port]>{tag}\n\
             \x20     Call-ID: [call_id]\n\
             \x20     CSeq: {cseq}\n\
             \x20     Contact: <sip:{caller}@[local_ip]:[local_port]>\n\
             \x20     Max-Forwards: 70\n"
        )
    };
    let mut xml =
        String::from("<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<scenario name=\"caller\">\n");
    xml += "  <send retrans=\"500\">\n    <![CDATA[\n";
    xml += &head("INVITE", "1 INVITE", "");
    xml += "      Content-Type: application/sdp\n      Content-Length: [len]\n\n\
             \x20     v=0\n\
             \x20     o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]\n\
             \x20     s=-\n\
             \x20     c=IN IP[media_ip_type] [media_ip]\n\
             \x20     t=0 0\n\
             \x20     m=audio [auto_media_port] RTP/AVP 8 101\n\
             \x20     a=rtpmap:8 PCMA/8000\n\
             \x20     a=rtpmap:101 telephone-event/8000\n\
             \x20     a=fmtp:101 0-11,16\n    ]]>\n  </send>\n";
    xml += "  <recv response=\"100\" optional=\"true\"/>\n  <recv response=\"180\" optional=\"true\"/>\n  <recv response=\"200\" rtd=\"true\"/>\n";
    xml += "  <send>\n    <![CDATA[\n";
    xml += &head("ACK", "1 ACK", "[peer_tag_param]");
    xml += "      Content-Length: 0\n    ]]>\n  </send>\n  <pause milliseconds=\"300\"/>\n";
    let mut cseq = 2;
    for step in steps {
        match *step {
            Step::Key(key) => {
                let name = match key {
                    '#' => "pound".to_owned(),
                    '*' => "star".to_owned(),
                    digit => digit.to_string(),
                };
                xml += &format!(
                    "  <pause milliseconds=\"500\"/>\n  <nop><action><exec play_pcap_audio=\"/usr/share/sip-tester/dtmf_2833_{name}.pcap\"/></action></nop>\n"
                );
            }
            Step::Info(key) => {
                xml += "  <pause milliseconds=\"500\"/>\n  <send retrans=\"500\">\n    <![CDATA[\n";
                xml += &head("INFO", &format!("{cseq} INFO"), "[peer_tag_param]");
                xml += &format!(
                    "      Content-Type: application/dtmf-relay\n      Content-Length: [len]\n\n      Signal={key}\n      Duration=160\n    ]]>\n  </send>\n  <recv response=\"200\"/>\n"
                );
                cseq += 1;
            }
            Step::Pause { ms } => xml += &format!("  <pause milliseconds=\"{ms}\"/>\n"),
        }
    }
    match end {
        End::CallerHangsUp => {
            xml += "  <send retrans=\"500\">\n    <![CDATA[\n";
            xml += &head("BYE", &format!("{cseq} BYE"), "[peer_tag_param]");
            xml += "      Content-Length: 0\n    ]]>\n  </send>\n  <recv response=\"200\" crlf=\"true\"/>\n";
        }
        End::ServiceHangsUp => {
            xml += "  <recv request=\"BYE\"/>\n  <send>\n    <![CDATA[\n\
                    \x20     SIP/2.0 200 OK\n\
                    \x20     [last_Via:]\n      [last_From:]\n      [last_To:]\n      [last_Call-ID:]\n      [last_CSeq:]\n\
                    \x20     Content-Length: 0\n    ]]>\n  </send>\n";
        }
    }
    xml += "</scenario>\n";
    let dir = scratch(&format!("scenario-{}", unique_number()));
    let path = dir.join("caller.xml");
    std::fs::write(&path, xml).expect("scenario written");
    path
}

fn unique_number() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
