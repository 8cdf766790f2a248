"""A throwaway PostgreSQL server for the tests, the scale benchmark and CI: Debian's ``initdb`` and ``pg_ctl`` on a
temporary directory, loopback only, trust authentication, run as a non-root user (PostgreSQL refuses root).

    python tests/postgres_server.py start DIR   # prints the server's URL (postgresql://gpnas@127.0.0.1:PORT/postgres)
    python tests/postgres_server.py stop DIR

From Python, :func:`start` returns the URL and :func:`stop` stops the server; :func:`new_database` makes an empty
database on it (each test gets its own, so study names never collide).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import uuid
from pathlib import Path

USER = "gpnas"


def binaries() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl`` (on PATH, else Debian's versioned folder), or ``None``."""
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(os.path.realpath(on_path)).parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "nobody", "--", *command]


def start(directory: str | Path) -> str:
    """Initialise and start a server in ``directory`` (created if missing); returns its admin URL."""
    bin_dir = binaries()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL's initdb/pg_ctl not found (Debian package 'postgresql')")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    data, sockets = directory / "data", directory / "sockets"
    sockets.mkdir(exist_ok=True)
    if os.geteuid() == 0:  # the server runs as nobody, which must own its folders
        os.chmod(directory, 0o755)
        for path in (directory, sockets):
            os.chown(path, 65534, 65534)
    port = _free_port()
    env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
    subprocess.run(_as_server_user([str(bin_dir / "initdb"), "-D", str(data), "-U", USER, "--auth=trust",
                                    "--encoding=UTF8", "--no-sync"]),
                   check=True, capture_output=True, env=env)
    options = f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={sockets} -c fsync=off " \
              "-c max_connections=200"
    subprocess.run(_as_server_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l",
                                    str(sockets / "server.log"), "-w", "-t", "60", "start"]),
                   check=True, capture_output=True, env=env)
    return f"postgresql://{USER}@127.0.0.1:{port}/postgres"


def stop(directory: str | Path) -> None:
    bin_dir = binaries()
    data = Path(directory) / "data"
    if bin_dir is not None and data.exists():
        subprocess.run(_as_server_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
                       capture_output=True)


def new_database(admin_url: str) -> str:
    """Create an empty database on the server at ``admin_url``; returns its URL."""
    import psycopg

    name = f"gpnas_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return admin_url.rsplit("/", 1)[0] + "/" + name


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("start", "stop"):
        sys.exit(__doc__)
    if sys.argv[1] == "start":
        print(start(sys.argv[2]))
    else:
        stop(sys.argv[2])
