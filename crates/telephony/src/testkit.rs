//! The real parts the call tests start on loopback, shared by this crate's tests and the web
//! tests (feature `testkit`): Kamailio with the shipped configuration, baresip seats that answer
//! by themselves (or never), SIPp seats (busy, or answering and hanging up) and SIPp callers.
//! Every process is a child of the test and is killed (by its own id) when dropped.

use crate::ivr::{Flow, Node};
use crate::kamailio::Floor;
use crate::{pacing, wav};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A fresh scratch folder for this test process.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("leadline-test-{}-{name}", std::process::id()));
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

/// Every prompt the flow names, in each of its languages, as a 300 ms tone: real files, short
/// enough that a scenario's keys and audio land where the flow expects them.
pub fn write_prompts(dir: &Path, flow: &Flow) {
    let mut prompts: Vec<&str> = Vec::new();
    for node in flow.nodes.values() {
        match node {
            Node::LanguageMenu(menu) => prompts.push(&menu.prompt),
            Node::Menu(menu) => prompts.push(&menu.prompt),
            Node::Collect(collect) => prompts.push(&collect.prompt),
            Node::Queue(queue) => prompts.push(&queue.prompt),
            Node::Voicemail(voicemail) => {
                prompts.extend([voicemail.prompt.as_str(), voicemail.record_prompt.as_str()])
            }
            Node::Play(play) => prompts.push(&play.prompt),
            Node::Hangup(hangup) => prompts.extend(hangup.prompt.as_deref()),
        }
    }
    for language in &flow.languages {
        std::fs::create_dir_all(dir.join(language)).expect("prompt folder");
        for prompt in &prompts {
            let path = dir.join(language).join(format!("{prompt}.wav"));
            let file = std::fs::File::create(path).expect("prompt file");
            let mut writer = wav::WavWriter::new(file).expect("prompt file");
            writer
                .write_samples(&pacing::tone(440.0, Duration::from_millis(300), 6000))
                .expect("prompt written");
            writer.finish().expect("prompt closed");
        }
    }
}

/// A scenario shipped in `crates/telephony/tests/sipp/`.
pub fn scenario(name: &str) -> PathBuf {
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
