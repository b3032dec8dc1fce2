"""Fixtures shared by every test: isolation first, then real servers."""

from __future__ import annotations

import fcntl
import glob
import os
import shutil
import time
from pathlib import Path

import pytest

from tests.support.audio import write_tone
from tests.support.pbx import TestPbx
from tests.support.peer import Peer
from tests.support.postgres import PostgresServer, PostgresUnavailable


# How many realtime tests run at once (each in its own worker, with nothing else running). A
# realtime test mostly waits on sound played in real time: 16 of them took 31 s of CPU in 101 s.
# The 30 of them in 2 workers: 94 s, all passed with other work on the machine; 3: 74 s; 4: 64 s
# and a PipeWire test failed. A run then spends about 1.5 minutes, not 3, with the other
# workers waiting.
REALTIME_AT_ONCE = 2


class _Turns:
    """This worker's turn among the xdist workers of one run: shared with other ordinary tests,
    or in the realtime room, which no ordinary test shares (realtime tests share it with each
    other, REALTIME_AT_ONCE at most; pytest_collection_modifyitems puts them where that many
    workers start with them).

    Locks are flock()s on files of the run's folder. `turns.lock`: ordinary tests hold it shared,
    the room's holder (the first realtime test in) exclusively; the turnstile makes a waiting
    holder go before any ordinary test that asks after it, so the room is not starved. Realtime
    tests that come while the room is held join it (`room.lock` orders comers and leavers;
    `members.lock` is held shared by each member, and the holder leaves once it can take it
    exclusively, so the room stays closed to ordinary tests while any member is in it). A member
    runs its test once it holds one of REALTIME_AT_ONCE slot files. A worker keeps its place from
    one realtime test to the next: the others wait for the room once."""

    def __init__(self) -> None:
        self.realtime: bool | None = None   # None: no turn held; True: in the realtime room
        self._holder = False
        self._folder: Path | None = None
        self._files: list = []
        self._slot = None

    def _open(self, name: str):
        assert self._folder is not None
        f = open(self._folder / name, "a")
        self._files.append(f)
        return f

    def take(self, folder: Path, realtime: bool) -> None:
        if self.realtime:
            return   # in the room: whatever runs next runs there too
        self._folder = folder
        if not realtime:
            self._enter(self._open("turns.lock"), fcntl.LOCK_SH)
            self.realtime = False
            return
        room = open(folder / "room.lock", "a")
        try:
            fcntl.flock(room, fcntl.LOCK_EX)
            turns = self._open("turns.lock")
            try:
                fcntl.flock(turns, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:   # only the room's holder takes it exclusively: join
                self._holder = False
            else:   # nobody holds the room: hold it, once the ordinary tests running now are over
                fcntl.flock(turns, fcntl.LOCK_UN)
                self._enter(turns, fcntl.LOCK_EX)
                self._holder = True
            fcntl.flock(self._open("members.lock"), fcntl.LOCK_SH)
        finally:
            room.close()
        self._slot = self._take_slot(folder)
        self.realtime = True

    @staticmethod
    def _take_slot(folder: Path):
        slots = [open(folder / f"realtime-slot-{k}.lock", "a") for k in range(REALTIME_AT_ONCE)]
        while True:
            for slot in slots:
                try:
                    fcntl.flock(slot, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue
                for other in slots:
                    if other is not slot:
                        other.close()
                return slot
            time.sleep(0.05)

    def _enter(self, turns, mode: int) -> None:
        turnstile = open(self._folder / "turnstile.lock", "a")
        try:
            fcntl.flock(turnstile, fcntl.LOCK_EX)
            fcntl.flock(turns, mode)
        finally:
            turnstile.close()

    def give_back(self) -> None:
        if self._slot is not None:
            self._slot.close()   # first: a member that waits for a slot may be what the holder awaits
            self._slot = None
        if self._holder:
            with open(self._folder / "room.lock", "a") as room:
                fcntl.flock(room, fcntl.LOCK_EX)   # nobody joins while the holder leaves
                self._files.pop().close()         # its own membership
                with open(self._folder / "members.lock", "a") as members:
                    fcntl.flock(members, fcntl.LOCK_EX)   # every other member has left
                self._close()
        self._close()

    def _close(self) -> None:
        for f in self._files:
            f.close()   # closing the file gives the lock back
        self._files, self.realtime, self._holder = [], None, False


_turns = _Turns()


def _is_realtime(item: pytest.Item | None) -> bool:
    return item is not None and item.get_closest_marker("realtime") is not None


@pytest.fixture(autouse=True)
def _realtime_room(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Tests marked `realtime` judge sound played and recorded in real time (gaps, levels, delay)
    on a real sound server; other workers' Kamailios, Chromiums and phones on two cores starve it
    and the sound breaks up. Under pytest-xdist such a test waits until the others' tests are
    over and runs in the realtime room (_Turns); the rest share the machine as before. The turn
    is given back after the test's teardown (pytest_runtest_teardown below)."""
    if "PYTEST_XDIST_WORKER" in os.environ:
        run_dir = tmp_path_factory.getbasetemp().parent   # one per run, shared by its workers
        _turns.take(run_dir, _is_realtime(request.node))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None):
    yield
    if not (_turns.realtime and _is_realtime(nextitem)):
        _turns.give_back()


# scrypt's N for communicator passwords hashed in a test process (the PBX's own is 2^14). The
# hashes are real scrypt and name their N, so the PBX checks them the way it checks its own; a
# test spends 3 ms instead of 47 on each hash or login (1,468 of them in the API, cabinet, window
# and tray tests: 69 s of CPU on a 2-core machine).
TEST_SCRYPT_N = 2**10


@pytest.fixture(autouse=True)
def _quick_password_hashing(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.node.get_closest_marker("production_password_cost") is None:
        from pbx import passwords

        monkeypatch.setattr(passwords, "_N", TEST_SCRYPT_N)


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own HOME, config, runtime and state directories, in English, with
    secrets in a user-only file (no OS keyring here), and no display: child processes inherit
    all of it."""
    home = tmp_path / "home"
    run = tmp_path / "run"
    for d in (home, run):
        d.mkdir(mode=0o700)
    env = {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_RUNTIME_DIR": str(run),
        "TALKER_SECRET_BACKEND": "file",
        "TALKER_LANG": "en",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for key in ("DISPLAY", "WAYLAND_DISPLAY", "TALKER_RUNTIME_DIR", "TALKER_CONFIG_DIR",
                "TALKER_STATE_DIR", "TALKER_CONTROL_TRANSPORT", "TALKER_PBX_DATA", "PYSTRAY_BACKEND",
                "TALKER_LOG_LEVEL",
                # the desktop's light or dark preference: windows look the default way
                "TALKER_THEME", "GTK_THEME", "DBUS_SESSION_BUS_ADDRESS"):
        monkeypatch.delenv(key, raising=False)
    return home


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    if "PYTEST_XDIST_WORKER" in os.environ:
        items[:] = _realtime_first(items, config.workerinput["workercount"])
    if shutil.which("kamailio") is None:
        skip = pytest.mark.skip(reason="Kamailio is not installed (scripts/test installs it)")
        for item in items:
            if "kamailio" in item.fixturenames:
                item.add_marker(skip)


def _realtime_first(items: list[pytest.Item], workers: int) -> list[pytest.Item]:
    """The realtime tests at the head of REALTIME_AT_ONCE workers' first hands, so that they run
    at the start, that many at once, while the other workers wait once for the room. pytest-xdist's
    work stealing first hands worker k the next len(pending) // (workers - k) tests in this order
    (xdist/scheduler/worksteal.py, check_schedule); if that ever changes, the room still keeps
    ordinary tests out, the realtime tests only run fewer at once. The rest keep their order."""
    realtime = [item for item in items if _is_realtime(item)]
    rest = [item for item in items if not _is_realtime(item)]
    lanes = max(1, min(REALTIME_AT_ONCE, workers))
    heads = [realtime[k::lanes] for k in range(lanes)] + [[] for _ in range(workers - lanes)]
    ordered, left = [], len(items)
    for k, head in enumerate(heads):
        size = left // (workers - k)
        if size < len(head):   # a run of a few tests: all the realtime ones first, in one hand
            return realtime + rest
        ordered += head + rest[:size - len(head)]
        del rest[:size - len(head)]
        left -= size
    return ordered + rest


@pytest.hookimpl(tryfirst=True)
def pytest_generate_tests(metafunc):
    """Tests with a running Kamailio are call flows: apart from the SQL that Kamailio and the
    routing script send, they go the same way on either database, so they run on SQLite only.
    Those marked `both_databases` (the ones whose calls make Kamailio read each kind of row:
    accounts, registrations, schemes, the calendar, numbers, the trunk) run on PostgreSQL too,
    as does tests/integration/test_postgres_backend.py. Runs before pytest's own
    parametrization (tryfirst), which then takes this mark instead of the fixture's params."""
    definitions = metafunc._arg2fixturedefs.get("db_url")
    if ("kamailio" in metafunc.fixturenames and definitions and definitions[-1].func is db_url.__wrapped__
            and metafunc.definition.get_closest_marker("both_databases") is None
            and not any("db_url" in str(m.args[0]) for m in metafunc.definition.iter_markers("parametrize"))):
        metafunc.definition.add_marker(pytest.mark.parametrize("db_url", ["sqlite"], indirect=True))


@pytest.fixture(scope="session")
def postgres_server():
    """One PostgreSQL server for the whole session, started only if a test asks for it."""
    try:
        server = PostgresServer()
    except PostgresUnavailable as e:
        pytest.skip(str(e))
    with server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request) -> str | None:
    """The PBX database of one test, for each supported backend: None is the default SQLite
    file in the PBX's data directory; PostgreSQL gets a fresh database, dropped afterwards."""
    if request.param == "sqlite":
        yield None
        return
    server = request.getfixturevalue("postgres_server")
    with server.database() as url:
        yield url


def _kamailio_has_db_module(url: str | None) -> bool:
    if url is None:
        return True
    return bool(glob.glob("/usr/lib/*/kamailio/modules/db_postgres.so")
                or glob.glob("/usr/lib/kamailio/modules/db_postgres.so"))


@pytest.fixture
def kamailio(tmp_path: Path, db_url: str | None):
    """A running PBX: its own database (SQLite, or each backend for `both_databases`, see
    pytest_generate_tests) and Kamailio on a free loopback port."""
    if not _kamailio_has_db_module(db_url):
        pytest.skip("Kamailio's PostgreSQL driver is not installed (kamailio-postgres-modules)")
    pbx = TestPbx(tmp_path / "pbx", database_url=db_url)
    try:
        pbx.start()
        yield pbx
    finally:
        pbx.close()


@pytest.fixture
def tones(tmp_path: Path) -> dict[str, Path]:
    """Two distinct tones: the app speaks one, the peer the other."""
    return {"app": write_tone(tmp_path / "tone-app.wav", 1000.0, 3.0),
            "peer": write_tone(tmp_path / "tone-peer.wav", 1600.0, 3.0)}


def _sound_server(kind: str, tmp_path: Path):
    from tests.support import sound

    server_class = getattr(sound, kind)
    try:
        server = server_class(log_path=tmp_path / server_class.LOG_NAME)
    except sound.SoundUnavailable as e:
        pytest.skip(str(e))
    with server:
        yield server


@pytest.fixture
def sound_server(tmp_path: Path):
    """A real PulseAudio server: speaker, ringer and headset sinks, a microphone fed with tones
    (tests/support/sound.py). Give the app `sound_server.env` to reach it."""
    yield from _sound_server("SoundServer", tmp_path)


@pytest.fixture
def pipewire_server(tmp_path: Path):
    """The same devices on PipeWire, reached through its PulseAudio protocol (pipewire-pulse)."""
    yield from _sound_server("PipeWireServer", tmp_path)


@pytest.fixture
def peers(tmp_path: Path):
    """Start phones on the PBX: `peers(pbx, "102", "Boris Petrov", options=(...))`."""
    started: list[Peer] = []

    def start(pbx: TestPbx, extension: str, name: str = "", *, options: tuple[str, ...] = (),
              play: Path | None = None, register: bool = True) -> Peer:
        creds = pbx.add_employee(extension, name or f"Peer {extension}")
        peer = Peer(pbx, extension, creds.password, workdir=tmp_path, display_name=name,
                    options=options, play=play)
        started.append(peer)
        if register:
            peer.wait_registered()
        return peer

    try:
        yield start
    finally:
        for peer in started:
            peer.stop()


@pytest.fixture
def talker_app(tmp_path: Path):
    """Start the real app logged in to the PBX: `talker_app(pbx, "101", "Anna Ivanova")`."""
    from tests.support.app import App, configure_account

    started: list[App] = []

    def start(pbx: TestPbx, extension: str = "101", name: str = "Anna Ivanova", *,
              play: Path | None = None, names: dict[str, str] | None = None,
              extra_env: dict[str, str] | None = None, register: bool = True) -> App:
        creds = pbx.add_employee(extension, name, admin=True)
        configure_account(pbx, extension, creds.password, display_name=name, names=names)
        app = App(tmp_path, play=play, extra_env=extra_env)
        started.append(app)
        if register:
            app.wait_registered()
        return app

    try:
        yield start
    finally:
        for app in started:
            app.quit()


@pytest.fixture
def pbx_api(kamailio, tmp_path: Path):
    """The PBX's HTTP API over the database this test's Kamailio serves; it tells the apps that
    log in to register at that Kamailio."""
    from tests.support.api import ApiServer

    server = ApiServer.for_kamailio(kamailio, tmp_path / "api.log")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def phones(tmp_path: Path):
    """Employees with a real phone per SIP account (tests/support/ringing.py)."""
    from tests.support.ringing import Phones

    p = Phones(tmp_path)
    try:
        yield p
    finally:
        p.stop()
