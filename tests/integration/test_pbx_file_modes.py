"""Nothing the PBX keeps is open to other users of the host: the database (its HA1 hashes are
enough to register as anyone) and its journals, the key, pbx.json, Kamailio's run directory and
config. Made so by `talker-pbx init` and `run` under the usual umask 022, and by a real run with
Kamailio and API writes (SQLite creates its -wal and -shm files only then); a data directory an
older version left open is closed, and the log says so."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
from pathlib import Path

import httpx

from pbx.kamailio.supervisor import sip_ping
from tests.support.processes import VENV_BIN, free_port, stop_process, wait_until

TALKER_PBX = str(VENV_BIN / "talker-pbx")


def _cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    # umask=0o022: what a service or a login shell usually has, under which files are 0644.
    done = subprocess.run([TALKER_PBX, "--data-dir", str(data_dir), *args], capture_output=True, text=True,
                          timeout=120, umask=0o022)
    assert done.returncode == 0, done.stderr
    return done


def _open_to_others(root: Path) -> list[str]:
    found = []
    for path in [root, *root.rglob("*")]:
        try:
            mode = stat.S_IMODE(path.lstat().st_mode)
        except FileNotFoundError:  # a journal SQLite removed meanwhile
            continue
        if mode & 0o077:
            found.append(f"{mode:03o} {path.relative_to(root.parent)}")
    return found


def test_init_closes_a_data_directory_that_exists_open_and_creates_everything_private(tmp_path: Path):
    data_dir = tmp_path / "talker-pbx"
    data_dir.mkdir(mode=0o755)  # made by a package or by hand, with the umask's mode
    os.chmod(data_dir, 0o755)
    done = _cli(data_dir, "init")
    assert f"{data_dir} was open to other users (mode 755): made it 700" in done.stderr
    _cli(data_dir, "employee", "add", "--extension", "101", "--name", "Anna Ivanova", "--admin")
    assert (data_dir / "pbx.key").exists() and (data_dir / "pbx.sqlite").exists()
    assert _open_to_others(data_dir) == []


def test_a_running_pbx_leaves_nothing_open_to_others_even_where_an_older_version_did(tmp_path: Path):
    data_dir = tmp_path / "talker-pbx"
    _cli(data_dir, "init")
    added = _cli(data_dir, "employee", "add", "--extension", "101", "--name", "Anna Ivanova", "--admin")
    password = added.stdout.split("Communicator password (shown once): ")[1].split()[0]
    # What a PBX made before these modes were enforced looks like.
    os.chmod(data_dir, 0o755)
    for name in ("pbx.sqlite", "pbx.json", "pbx.key"):
        os.chmod(data_dir / name, 0o644)

    sip_port, api_port = free_port(), free_port()
    log_path = tmp_path / "run.log"
    with open(log_path, "wb") as log:
        run = subprocess.Popen([TALKER_PBX, "--data-dir", str(data_dir), "run", "--sip-port", str(sip_port),
                                "--api-port", str(api_port), "--children", "1"],
                               stdout=log, stderr=log, stdin=subprocess.DEVNULL, umask=0o022)
    kamailio_pid = None
    try:
        api = f"http://127.0.0.1:{api_port}/api/v1"

        def api_answers() -> bool:
            assert run.poll() is None, log_path.read_text()
            try:
                return httpx.get(api + "/health", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(api_answers, 60, message="the PBX API")
        wait_until(lambda: sip_ping("127.0.0.1", sip_port), 30, message="Kamailio")
        kamailio_pid = int((data_dir / "run" / "kamailio.pid").read_text())
        # Real writes, so that SQLite has its write-ahead log and shared-memory file.
        with httpx.Client(base_url=api, timeout=30) as client:
            r = client.post("/auth/login", json={"login": "101", "password": password})
            assert r.status_code == 200, r.text
            client.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
            for i in range(3):
                r = client.patch("/settings", json={"buy_numbers_url": f"https://numbers.example/{i}"},
                                 headers={"If-Match": "*"})
                assert r.status_code == 200, r.text
        assert (data_dir / "pbx.sqlite-wal").exists() and (data_dir / "pbx.sqlite-shm").exists()
        assert _open_to_others(data_dir) == []
        logged = log_path.read_text()
        for name in ("", "/pbx.sqlite", "/pbx.json", "/pbx.key"):
            assert f"{data_dir}{name} was open to other users (mode " in logged, (name, logged)
    finally:
        stop_process(run, 30, signal.SIGINT)
        if kamailio_pid is not None and _is_kamailio(kamailio_pid):  # the stop above left it behind
            os.killpg(kamailio_pid, signal.SIGKILL)
    assert _open_to_others(data_dir) == []


def _is_kamailio(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() == "kamailio"
    except OSError:
        return False
