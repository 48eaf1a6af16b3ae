"""Real SIP peers (SIPp, kamailio) started on loopback for integration tests.

Each launcher writes its own config/scenario into a per-test workdir and
returns a stopped `PeerProcess`; tests start/stop/restart it to simulate
outages. Everything binds 127.0.0.1 on ports from `free_port()`, and every
process is stopped by its own process group id, never by name.

A missing binary follows the one policy in tests/needs.py: it fails under
CI (`CI=true`), so a broken CI image cannot turn the interop suite green, and
skips on a developer machine with the command that installs it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from tests.needs import need_file, need_program

__all__ = [
    "PeerProcess",
    "alertmanager",
    "dnsmasq",
    "free_port",
    "kamailio",
    "kamailio_modules",
    "kamailio_tls_module",
    "mosquitto",
    "prometheus",
    "require_binary",
    "sipp_options_responder",
    "sipp_uas",
    "snmpd_target",
    "tcp_answers_options",
    "udp_answers_options",
]

_HERE = Path(__file__).parent / "peers"


# Ports free_port has handed out in this process. A port is only free until someone
# binds it: a test that picks three ports and then starts three peers must not be
# given one of them again as a fourth (a SIPp control port once took another
# SIPp's not yet bound main port, and that SIPp exited with EADDRINUSE).
_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A port free on 127.0.0.1 for both UDP and TCP right now, never the same twice per process."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = int(tcp.getsockname()[1])
            if port in _HANDED_OUT:
                continue
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                _HANDED_OUT.add(port)
                return port
    raise RuntimeError("no port free for both UDP and TCP on 127.0.0.1")


def _free_port_block(count: int) -> int:
    """First of `count` consecutive ports free on UDP (SIPp media uses port and port+2)."""
    for _ in range(100):
        base = free_port()
        if base + count > 65535:
            continue
        socks: list[socket.socket] = []
        try:
            for offset in range(count):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(s)
                s.bind(("127.0.0.1", base + offset))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError(f"no block of {count} free UDP ports on 127.0.0.1")


def _options_request(transport: str, local_port: int, port: int) -> bytes:
    branch = "z9hG4bK" + secrets.token_hex(8)
    return (
        f"OPTIONS sip:ready@127.0.0.1:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/{transport} 127.0.0.1:{local_port};rport;branch={branch}\r\n"
        f"Max-Forwards: 70\r\n"
        f"From: <sip:readiness@127.0.0.1>;tag={secrets.token_hex(4)}\r\n"
        f"To: <sip:ready@127.0.0.1:{port}>\r\n"
        f"Call-ID: {secrets.token_hex(12)}\r\n"
        f"CSeq: 1 OPTIONS\r\n"
        f"Content-Length: 0\r\n\r\n"
    ).encode()


def udp_answers_options(port: int) -> bool:
    """Readiness check: True if an OPTIONS to 127.0.0.1:port gets any SIP response within 0.5 s."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        s.connect(("127.0.0.1", port))  # connected: ICMP unreachable raises instead of waiting
        s.settimeout(0.5)
        try:
            s.send(_options_request("UDP", s.getsockname()[1], port))
            return s.recv(65535).startswith(b"SIP/2.0 ")
        except OSError:  # timeout, ConnectionRefusedError
            return False


def tcp_answers_options(port: int) -> bool:
    """Like `udp_answers_options`, over a fresh TCP connection."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(_options_request("TCP", s.getsockname()[1], port))
            return s.recv(65535).startswith(b"SIP/2.0 ")
    except OSError:
        return False


def require_binary(binary: str) -> str:
    """Path of a peer program, under the suite's one missing-peer policy (tests/needs.py)."""
    return need_program(binary)


class PeerProcess:
    """A real program on loopback that a test can start, stop and restart.

    Output goes to a log file (beside `cwd`, or a temp dir) rather than a pipe,
    so a chatty peer can never block on a full pipe, and no file handle stays
    open in the test process between calls.
    """

    def __init__(
        self,
        argv: list[str],
        *,
        name: str,
        cwd: str | None = None,
        ready: Callable[[], bool] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.argv = list(argv)
        self.name = name
        self.cwd = cwd
        self.ready = ready
        self.env = env
        log_dir = Path(cwd) if cwd else Path(os.environ.get("TMPDIR", "/tmp"))
        self.log_path = log_dir / f"{name}-{secrets.token_hex(3)}.log"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self, timeout: float = 10.0) -> None:
        """(Re)start with the same argv and wait until `ready()`; raise with the log tail if not."""
        if self.running:
            raise RuntimeError(f"{self.name} is already running (pid {self.pid})")
        self.stop()
        env = {**os.environ, **(self.env or {})}
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            log.write(f"--- start {' '.join(self.argv)}\n".encode())
            log.flush()
            proc = self._proc = subprocess.Popen(
                self.argv, cwd=self.cwd, env=env, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        if self.ready is None:
            time.sleep(0.2)  # no readiness check: at least see it survive startup
        while True:
            if proc.poll() is not None:
                self.stop()
                raise RuntimeError(
                    f"{self.name} exited with {proc.returncode} while starting:\n{self.log_tail()}"
                )
            if self.ready is None or self.ready():
                return
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.name} not ready after {timeout} s:\n{self.log_tail()}")
            time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM the process group, SIGKILL after 5 s. Safe to call twice."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        # Workers of a forking peer (kamailio) may outlive the leader: clean the group.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)

    def log_tail(self, n: int = 40) -> str:
        try:
            text = self.log_path.read_bytes().decode("utf-8", "replace")
        except FileNotFoundError:
            return "(no output)"
        return "\n".join(text.splitlines()[-n:])

    def __enter__(self) -> PeerProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"PeerProcess({self.name!r}, pid={self.pid}, running={self.running})"


def _sipp_common(port: int, transport: str) -> list[str]:
    # Every SIPp needs its own control port: the default 8888 binds 0.0.0.0 and collides.
    return ["-i", "127.0.0.1", "-p", str(port), "-cp", str(free_port()), "-t", transport,
            "-nostdin"]


def _workdir(workdir: Path) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    return workdir


def sipp_options_responder(port: int, workdir: Path) -> PeerProcess:
    """SIPp answering every OPTIONS with 200 OK on UDP 127.0.0.1:port."""
    sipp = require_binary("sipp")
    wd = _workdir(workdir)
    scenario = wd / "uas_options.xml"
    shutil.copyfile(_HERE / "uas_options.xml", scenario)
    argv = [sipp, "-sf", str(scenario), *_sipp_common(port, "u1")]
    return PeerProcess(argv, name=f"sipp-options-{port}", cwd=str(wd),
                       ready=lambda: udp_answers_options(port))


def sipp_uas(
    port: int,
    workdir: Path,
    rtp_port: int | None = None,
    *,
    transport: Literal["udp", "tcp"] = "udp",
) -> PeerProcess:
    """SIPp's built-in call answerer (`-sn uas -aa`: also answers out-of-dialog OPTIONS).

    With `rtp_port` it echoes RTP on that port (it also binds rtp_port+2);
    otherwise its media ports come from a free block so instances never clash.
    """
    sipp = require_binary("sipp")
    wd = _workdir(workdir)
    media = rtp_port if rtp_port is not None else _free_port_block(4)
    argv = [sipp, "-sn", "uas", "-aa", *_sipp_common(port, "u1" if transport == "udp" else "t1"),
            "-mi", "127.0.0.1", "-mp", str(media)]
    if rtp_port is not None:
        argv.append("-rtp_echo")
    ready = (lambda: udp_answers_options(port)) if transport == "udp" else (
        lambda: tcp_answers_options(port))
    return PeerProcess(argv, name=f"sipp-uas-{transport}-{port}", cwd=str(wd), ready=ready)


def kamailio_modules() -> Path:
    """kamailio's module directory, whatever the machine's multiarch triplet."""
    tm = need_file("/usr/lib/*/kamailio/modules/tm.so", provides="kamailio's modules",
                   package="kamailio")
    return tm.parent


def kamailio_tls_module() -> Path:
    return need_file("/usr/lib/*/kamailio/modules/tls.so", provides="kamailio's TLS module",
                     package="kamailio-tls-modules")


def kamailio(
    port: int, workdir: Path, relay_port: int | None = None, *, auth_algorithm: str | None = None
) -> PeerProcess:
    """kamailio on UDP 127.0.0.1:port answering OPTIONS (and relaying INVITE for `echo`).

    `auth_algorithm` (e.g. "SHA-256") sets the digest algorithm its registrar challenges with.
    """
    relay = (f'$du = "sip:127.0.0.1:{relay_port}"; t_relay();' if relay_port is not None
             else 'sl_send_reply("503", "No relay configured");')
    extra = "" if auth_algorithm is None else f'\nmodparam("auth", "algorithm", "{auth_algorithm}")'
    return _kamailio(port, workdir, "kamailio", {
        "@RELAY_ACTION@": relay, "@RELAY@": f"127.0.0.1:{relay_port}" if relay_port else "nowhere",
        'modparam("auth", "nonce_expire", 300)': f'modparam("auth", "nonce_expire", 300){extra}',
    })


def _kamailio(port: int, workdir: Path, config: str, values: dict[str, str]) -> PeerProcess:
    """kamailio on UDP 127.0.0.1:port running peers/`config`.cfg.in with `values` filled in."""
    binary = require_binary("kamailio")
    wd = _workdir(workdir)
    cfg = (_HERE / f"{config}.cfg.in").read_text()
    for key, value in {"@PORT@": str(port), "@MPATH@": f"{kamailio_modules()}/", **values}.items():
        cfg = cfg.replace(key, value)
    cfg_path = wd / f"{config}.cfg"
    cfg_path.write_text(cfg)
    rundir = wd / "run"
    rundir.mkdir(exist_ok=True)
    argv = [binary, "-f", str(cfg_path), "-DD", "-E", "-m", "32", "-M", "4",
            "-Y", str(rundir), "-P", str(rundir / "kamailio.pid"), "-w", str(rundir)]
    return PeerProcess(argv, name=f"{config.replace('_', '-')}-{port}", cwd=str(wd),
                       ready=lambda: udp_answers_options(port))


# --- alerting peers: Alertmanager, mosquitto, Prometheus ----------------------------


def _http_ready(url: str) -> Callable[[], bool]:
    def ready() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=0.5) as resp:
                return bool(resp.status == 200)
        except OSError:  # URLError, refused, reset
            return False

    return ready


def _tcp_ready(port: int) -> Callable[[], bool]:
    def ready() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            return False

    return ready


def alertmanager(port: int, workdir: Path, webhook_url: str) -> PeerProcess:
    """Alertmanager on 127.0.0.1:port routing everything to `webhook_url` at once.

    group_wait 0s / group_interval 1s so a test sees firing and resolved within
    about a second; one group per alert so each arrives in its own webhook
    call; clustering off (it would bind *:9094). Its storage stays in the
    workdir, so a restart keeps what it knew, as a real restart does.
    """
    binary = require_binary("prometheus-alertmanager")
    wd = _workdir(workdir)
    (wd / "alertmanager.yml").write_text(
        "route:\n"
        "  receiver: webhook\n"
        "  group_by: [alertname, site, service, check]\n"
        "  group_wait: 0s\n"
        "  group_interval: 1s\n"
        "  repeat_interval: 1h\n"
        "receivers:\n"
        "  - name: webhook\n"
        "    webhook_configs:\n"
        f"      - url: {webhook_url}\n"
        "        send_resolved: true\n"
    )
    argv = [binary, f"--config.file={wd / 'alertmanager.yml'}", f"--storage.path={wd / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="]
    return PeerProcess(argv, name=f"alertmanager-{port}", cwd=str(wd),
                       ready=_http_ready(f"http://127.0.0.1:{port}/-/ready"))


def mosquitto(port: int, workdir: Path) -> PeerProcess:
    """mosquitto on 127.0.0.1:port, anonymous, with persistence in the workdir.

    Persistence keeps a persistent (clean_session=False) subscriber's session
    and queued QoS 1 messages across a stop/start, like a production broker;
    mosquitto writes it on SIGTERM, which is how PeerProcess stops it.
    """
    binary = require_binary("mosquitto")
    wd = _workdir(workdir)
    # As root it would switch to the `mosquitto` user, which cannot write the
    # test's private workdir: its persistence file would be silently lost.
    user = "user root\n" if os.geteuid() == 0 else ""
    (wd / "mosquitto.conf").write_text(
        user +
        "per_listener_settings false\n"
        f"listener {port} 127.0.0.1\n"
        "allow_anonymous true\n"
        "persistence true\n"
        f"persistence_location {wd}/\n"
        "log_dest stderr\n"
        "log_type error\nlog_type warning\nlog_type notice\n"
    )
    return PeerProcess([binary, "-c", str(wd / "mosquitto.conf")], name=f"mosquitto-{port}",
                       cwd=str(wd), ready=_tcp_ready(port))


def prometheus(port: int, workdir: Path, target_port: int, rules: Path,
               alertmanager_port: int | None = None) -> PeerProcess:
    """Prometheus on 127.0.0.1:port scraping 127.0.0.1:target_port every second with `rules`.

    No target labels: the daemon's series carry `site` themselves, as deploy/prometheus says.

    With `alertmanager_port`, its alerts go to that Alertmanager. The first scrape comes
    ~5 s after start even with a 1 s interval: allow ~6 s.
    """
    binary = require_binary("prometheus")
    wd = _workdir(workdir)
    alerting = ("" if alertmanager_port is None else
                "alerting:\n  alertmanagers:\n"
                f"    - static_configs: [{{targets: ['127.0.0.1:{alertmanager_port}']}}]\n")
    (wd / "prometheus.yml").write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        f"rule_files: [{str(rules)!r}]\n" + alerting +
        "scrape_configs:\n"
        "  - job_name: monitord\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{target_port}']}}]\n"
    )
    argv = [binary, f"--config.file={wd / 'prometheus.yml'}", f"--storage.tsdb.path={wd / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}"]
    return PeerProcess(argv, name=f"prometheus-{port}", cwd=str(wd),
                       ready=_http_ready(f"http://127.0.0.1:{port}/-/ready"))


# --- SNMP agents -----------------------------------------------------------------

_SNMP = _HERE / "snmp"
SNMPD_COMMUNITY = "labpublic"
SNMPD_V3 = {"user": "labv3user", "auth": ("sha", "labAuthPass1"), "priv": ("aes", "labPrivPass1")}
SNMPD_V3_SHA2 = {"user": "labv3sha2", "auth": ("sha256", "labAuthPass2"), "priv": ("aes256", "labPrivPass2")}


def _ber(tag: int, body: bytes) -> bytes:
    assert len(body) < 0x10000
    if len(body) < 0x80:
        return bytes([tag, len(body)]) + body
    n = len(body).to_bytes(2, "big")
    return bytes([tag, 0x82]) + n + body


def snmp_answers(port: int, community: str) -> bool:
    """Readiness check: an SNMPv2c GET sysUpTime.0 to 127.0.0.1:port gets a response in 0.5 s."""
    oid = bytes([0x2B, 6, 1, 2, 1, 1, 3, 0])  # 1.3.6.1.2.1.1.3.0
    varbind = _ber(0x30, _ber(0x06, oid) + b"\x05\x00")
    pdu = _ber(0xA0, b"\x02\x01\x01\x02\x01\x00\x02\x01\x00" + _ber(0x30, varbind))
    message = _ber(0x30, b"\x02\x01\x01" + _ber(0x04, community.encode()) + pdu)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("127.0.0.1", port))
        s.settimeout(0.5)
        try:
            s.send(message)
            return s.recv(65535).startswith(b"\x30")
        except OSError:
            return False


def snmpd(port: int, workdir: Path) -> PeerProcess:
    """net-snmp snmpd on UDP 127.0.0.1:port: v2c community `labpublic`, v3 authPriv users
    `labv3user` (SHA/AES) and `labv3sha2` (SHA-256/AES-256). `-C`: no system config."""
    binary = require_binary("snmpd")
    wd = _workdir(workdir)
    conf = wd / "snmpd.conf"
    conf.write_text((_SNMP / "snmpd.conf.in").read_text().replace("@PORT@", str(port)))
    persist = wd / "persist"
    persist.mkdir(exist_ok=True)
    argv = [binary, "-f", "-Lo", "-C", "-m", "", "-c", str(conf), "-p", str(wd / "snmpd.pid")]
    return PeerProcess(argv, name=f"snmpd-{port}", cwd=str(wd),
                       env={"SNMP_PERSISTENT_DIR": str(persist), "MIBS": ""},
                       ready=lambda: snmp_answers(port, SNMPD_COMMUNITY))


def snmpd_target(port: int, workdir: Path) -> dict[str, object]:
    """A check's `target:` for `snmpd(port, ...)` over v2c, its community in a 0600 file."""
    community = workdir / "community"
    community.write_text(SNMPD_COMMUNITY)
    community.chmod(0o600)
    return {"host": "127.0.0.1", "port": port, "version": "v2c", "community_file": str(community)}


def snmpsim(port: int, workdir: Path, data_dir: Path | None = None) -> PeerProcess:
    """snmpsim serving the recorded `*.snmprec` files of `data_dir` (default: ours) on
    UDP 127.0.0.1:port; each file's name is its community."""
    binary = require_binary("snmpsim-command-responder")
    wd = _workdir(workdir)
    data = data_dir or _SNMP
    first = sorted(data.glob("*.snmprec"))[0].stem
    argv = [binary, f"--data-dir={data}", f"--cache-dir={wd / 'cache'}",
            f"--agent-udpv4-endpoint=127.0.0.1:{port}", "--logging-method=stdout"]
    if os.geteuid() == 0:  # it refuses to run as root unless told to stay root
        argv += ["--process-user=root", "--process-group=root"]
    return PeerProcess(argv, name=f"snmpsim-{port}", cwd=str(wd),
                       ready=lambda: snmp_answers(port, first))


# --- call peers: SIPp call answerers, kamailio with INVITE auth, baresip -----------


def media_port_block() -> int:
    """First of four consecutive free UDP ports (SIPp's -mp echo binds port and port+2)."""
    return _free_port_block(4)


def sipp_call_uas(
    port: int,
    workdir: Path,
    rtp_port: int,
    *,
    credentials: tuple[str, str] | None = None,
    sdp_port: int | None = None,
) -> PeerProcess:
    """SIPp answering INVITEs with 180/200 and echoing RTP on `rtp_port`.

    With `credentials` (user, password) it first challenges with 401 and checks
    the digest with `verifyauth` (a wrong one gets 403). `sdp_port` is the media
    port its SDP answer advertises (default `rtp_port`): a test relay there sees
    all media. `-aa` lets the readiness OPTIONS be answered.
    """
    sipp = require_binary("sipp")
    wd = _workdir(workdir)
    challenge = ""
    if credentials is not None:
        challenge = (_HERE / "uas_call_challenge.xml.part").read_text()
        challenge = challenge.replace("@USER@", credentials[0]).replace("@PASSWORD@", credentials[1])
    scenario = (_HERE / "uas_call.xml.in").read_text().replace("@CHALLENGE@", challenge)
    scenario = scenario.replace("@SDP_PORT@", str(sdp_port or rtp_port))
    path = wd / f"uas_call_{port}.xml"
    path.write_text(scenario)
    argv = [sipp, "-sf", str(path), "-aa", *_sipp_common(port, "u1"),
            "-mi", "127.0.0.1", "-mp", str(rtp_port), "-rtp_echo"]
    return PeerProcess(argv, name=f"sipp-call-{port}", cwd=str(wd),
                       ready=lambda: udp_answers_options(port))


def kamailio_call(port: int, workdir: Path, relay_port: int) -> PeerProcess:
    """kamailio on UDP 127.0.0.1:port challenging every INVITE with 401 (password
    "secret"), record-routing, and relaying calls to user `echo` to `relay_port`."""
    return _kamailio(port, workdir, "kamailio_call", {
        "@RELAY_ACTION@": f'$du = "sip:127.0.0.1:{relay_port}"; t_relay();',
        "@RELAY@": f"127.0.0.1:{relay_port}",
    })


def baresip(port: int, workdir: Path) -> PeerProcess:
    """baresip 1.0 headless as an echo UA `sip:echo@127.0.0.1:port` (answers and loops
    audio back re-encoded: a real UA, not a packet echo). It also binds port+1 (TCP/TLS),
    so its control socket goes elsewhere."""
    binary = require_binary("baresip")
    wd = _workdir(workdir) / "baresip"
    wd.mkdir(exist_ok=True)
    rtp = _free_port_block(20)
    rtp += rtp % 2
    ctrl = free_port()
    (wd / "accounts").write_text(
        f"<sip:echo@127.0.0.1:{port}>;regint=0;answermode=auto;audio_codecs=PCMU\n")
    (wd / "contacts").write_text("")
    (wd / "config").write_text(
        "poll_method\t\tepoll\n"
        f"sip_listen\t\t127.0.0.1:{port}\n"
        "sip_transports\t\tudp\n"
        "audio_player\t\taubridge,nil\naudio_source\t\taubridge,nil\n"
        "audio_alert\t\taubridge,nil\naudio_srate\t\t8000\naudio_channels\t\t1\n"
        f"rtp_ports\t\t{rtp}-{rtp + 18}\n"
        "module_path\t\t/usr/lib/baresip/modules\n"
        "module\t\t\tg711.so\nmodule\t\t\taubridge.so\n"
        "module_app\t\taccount.so\nmodule_app\t\techo.so\nmodule_app\t\tctrl_tcp.so\n"
        f"ctrl_tcp_listen\t\t127.0.0.1:{ctrl}\n"
        "net_interface\t\t127.0.0.1\n"
        "dns_server\t\t127.0.0.1:53\n"
    )
    argv = [binary, "-f", str(wd), "-t", "600"]
    return PeerProcess(argv, name=f"baresip-{port}", cwd=str(wd),
                       ready=lambda: udp_answers_options(port))


# --- DNS: dnsmasq serving NAPTR/SRV/A records (RFC 3263 tests) ---------------------


def _dns_ready(port: int, name: str) -> Callable[[], bool]:
    def ready() -> bool:
        import dns.exception
        import dns.message
        import dns.query

        try:
            dns.query.udp(dns.message.make_query(name, "A"), "127.0.0.1", timeout=0.5, port=port)
            return True
        except (dns.exception.DNSException, OSError):
            return False

    return ready


def dnsmasq(port: int, workdir: Path, records: list[str], *, local: str = "test") -> PeerProcess:
    """dnsmasq on UDP/TCP 127.0.0.1:port answering only from `records`.

    `records` are dnsmasq options such as `--srv-host=...`, `--naptr-record=...`
    and `--host-record=...`. No upstream, no /etc/hosts, no config file, and
    `--local=/{local}/` so an unknown name in that domain is NXDOMAIN (not
    REFUSED): "no records" as a real zone says it. TTLs are 1 s so a test that
    changes nothing about DNS still exercises the cache's expiry.
    """
    binary = require_binary("dnsmasq")
    wd = _workdir(workdir)
    argv = [binary, "--no-daemon", f"--port={port}", "--listen-address=127.0.0.1",
            "--bind-interfaces", "--no-resolv", "--no-hosts", "--conf-file=/dev/null",
            f"--local=/{local}/", "--local-ttl=1", f"--pid-file={wd / 'dnsmasq.pid'}",
            "--log-queries", *records]
    if os.geteuid() == 0:
        argv.append("--user=root")  # it would drop to `nobody`, who cannot write the pid file
    return PeerProcess(argv, name=f"dnsmasq-{port}", cwd=str(wd),
                       ready=_dns_ready(port, f"ready.{local}"))
