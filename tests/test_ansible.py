"""contrib/ansible/collect.yml end to end: a real ansible-playbook over an inventory of three
hosts (connection local), each auditing its own --root image with mailaudit installed from the
wheel built from this checkout, the reports fetched and summed up by `mailaudit fleet`."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from .conftest import REPO, SAMPLE, pop_and_imap, tree_fingerprint, write_profile

PLAYBOOK = REPO / "contrib" / "ansible" / "collect.yml"
BIN = Path(sys.executable).parent


def small_machine(root: Path, hostname: str, user: str) -> Path:
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "hostname").write_text(hostname + "\n")
    profile = write_profile(root / "home" / user, pop_and_imap())
    (profile / "Mail" / "pop.pop.test").mkdir(parents=True)
    (profile / "Mail" / "pop.pop.test" / "Inbox").write_bytes(
        b"From - Mon Sep 01 09:00:00 2025\nSubject: hello\n\nbody\n" * 100
    )
    return root


def built_wheel(folder: Path) -> Path:
    """The wheel a user installs, built from this checkout without the network: the test
    extra brings a setuptools new enough to build it in place."""
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-index"),
            *("--no-build-isolation", "--disable-pip-version-check", "-w", str(folder), str(REPO)),
        ],
        check=True,
        cwd=folder,
    )
    (wheel,) = folder.glob("mailaudit-*.whl")
    return wheel


def host_venv(folder: Path) -> Path:
    """A fresh virtual environment whose dependencies (and pip) come from this one through a
    .pth file, so that the playbook's `pip install` of the wheel works inside the suite's
    offline namespace, without the seconds ensurepip takes per host."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    site = next(folder.glob("lib/python*/site-packages"))
    (site / "deps-from-test-venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    pip = folder / "bin" / "pip"
    pip.write_text(
        f"#!{folder}/bin/python\nimport sys\nfrom pip._internal.cli.main import main\n"
        "sys.exit(main())\n"
    )
    pip.chmod(0o755)
    return folder


def test_the_playbook_audits_three_hosts_and_sums_them_up(tmp_path):
    wheel = built_wheel(tmp_path)
    roots = {
        "empfang": SAMPLE,  # read-only: the sample machine itself
        "lager": small_machine(tmp_path / "lager", "lager-pc", "tom"),
        "chef": small_machine(tmp_path / "chef", "chef-laptop", "eva"),
    }
    before = {name: tree_fingerprint(root) for name, root in roots.items()}
    inventory = tmp_path / "inventory.ini"
    lines = ["[office]"]
    for name, root in roots.items():
        venv = host_venv(tmp_path / f"venv-{name}")
        lines.append(
            f"{name} ansible_connection=local ansible_python_interpreter={venv}/bin/python "
            f"mailaudit_root={root} mailaudit_venv={venv}"
        )
    inventory.write_text("\n".join(lines) + "\n")
    reports = tmp_path / "reports"
    env = {
        **os.environ,
        "ANSIBLE_HOME": str(tmp_path / "ansible-home"),
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp"),
        "ANSIBLE_REMOTE_TEMP": str(tmp_path / "ansible-remote-tmp"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,  # localhost, the control machine
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    result = subprocess.run(
        [
            str(BIN / "ansible-playbook"),
            "-i",
            str(inventory),
            str(PLAYBOOK),
            "-e",
            f"mailaudit_package={wheel}",
            "-e",
            "mailaudit_pip_args='--no-index --no-deps'",
            "-e",
            f"mailaudit_reports={reports}",
            "-e",
            f"mailaudit_fleet={BIN / 'mailaudit'}",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    # Each host's mailaudit came from the wheel, not from this checkout.
    for name in roots:
        venv = tmp_path / f"venv-{name}"
        where = subprocess.run(
            [venv / "bin" / "python", "-c", "import mailaudit.cli; print(mailaudit.cli.__file__)"],
            capture_output=True,
            text=True,
            check=True,
            cwd=tmp_path,  # not the checkout, whose mailaudit/ `python -c` would import
        ).stdout.strip()
        assert Path(where).is_relative_to(venv), where

    documents = {p.stem: json.loads(p.read_text()) for p in reports.glob("*.json")}
    assert set(documents) == set(roots)
    assert documents["empfang"]["machine"]["hostname"] == "empfang-pc"
    assert documents["lager"]["machine"]["hostname"] == "lager-pc"
    assert [a["user"] for a in documents["chef"]["accounts"]] == ["eva", "eva"]
    html = (reports / "fleet.html").read_text()
    cells = [re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", html)]
    assert "Mail on 3 computer(s)" in html
    for hostname in ("empfang-pc", "lager-pc", "chef-laptop"):
        assert hostname in cells
    assert "fleet of 3 machine(s)" in result.stdout
    # Nothing of the audited images changed, and no report was left on a host.
    assert {name: tree_fingerprint(root) for name, root in roots.items()} == before
    removed = result.stdout.split("TASK [Remove the report from the host]")[1].split("TASK")[0]
    assert sorted(re.findall(r"changed: \[(\w+)\]", removed)) == sorted(roots)


def test_the_playbook_is_valid_for_ansible():
    result = subprocess.run(
        [str(BIN / "ansible-playbook"), "--syntax-check", "-i", "localhost,", str(PLAYBOOK)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "ANSIBLE_HOME": "/tmp/mailaudit-ansible-syntax"},
    )
    assert result.returncode == 0, result.stderr
    shutil.rmtree("/tmp/mailaudit-ansible-syntax", ignore_errors=True)
