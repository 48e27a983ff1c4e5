"""The modules a script, worker, benchmark or migration imports first (access, audit, models,
operations) import on their own in a fresh interpreter: no circular import hides behind an import
order that happens to work. Views are left out: create_app imports them in every other test."""
import pkgutil
import subprocess
import sys
from pathlib import Path

import crm

ROOT = Path(__file__).resolve().parent.parent
ENTRY_POINTS = ("crm.access", "crm.audit", "crm.cli", "crm.demo")
MODULES = sorted(
    module.name
    for module in pkgutil.walk_packages(crm.__path__, "crm.")
    if module.name in ENTRY_POINTS or module.name.endswith((".models", ".operations"))
)


def test_every_module_imports_first():
    assert "crm.access" in MODULES and "crm.auth.models" in MODULES
    processes = {
        name: subprocess.Popen([sys.executable, "-c", f"import {name}"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for name in MODULES
    }
    failures = {}
    for name, process in processes.items():
        _out, err = process.communicate(timeout=120)
        if process.returncode != 0:
            failures[name] = err.strip().splitlines()[-1]
    assert failures == {}
