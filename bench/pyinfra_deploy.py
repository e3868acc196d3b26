"""The bench deploy for pyinfra: the same end state as bench/playbook.yml, operation for
task, so bench/run.sh can time pyinfra against jig and ansible-core. Keep the two in step.

Where pyinfra has no direct equivalent: `creates:` and `force: false` are a File fact checked before the command
is queued; the handler is `_if=<config op>.did_change`; the read-only `changed_when: false`
check is a Command fact; `when: marker.stat.exists` is unconditional, since the marker always
exists by then (pyinfra decides which operations to run before running any); files.block
creates files 0600, so a files.file sets the playbook's 0644.
"""

import os
from io import StringIO

from pyinfra import host, inventory
from pyinfra.facts.files import File
from pyinfra.facts.server import Command
from pyinfra.operations import files, server

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = "/opt/benchapp"
VARS = {
    "app_port": 8080,
    "app_workers": 4,
    "app_greeting": "hello from jig's bench: \"quotes\", $(not run) and ünïcödé",
    "app_features": ["cache", "metrics", "tracing"],
}
BENCH = [h.name for h in inventory.get_group("bench")]
HOSTVARS = {h.name: {"ansible_host": h.data.get("ansible_host")} for h in inventory.get_group("bench")}

files.directory(name="app root", path=ROOT, mode="755")
files.directory(name="etc dir", path=f"{ROOT}/etc", mode="755")
files.directory(name="bin dir", path=f"{ROOT}/bin", mode="755")
files.directory(name="run dir", path=f"{ROOT}/run", mode="755")
files.directory(name="log dir", path=f"{ROOT}/log", mode="750")
files.directory(name="data dir", path=f"{ROOT}/data", mode="700")
files.put(name="start script", src=os.path.join(HERE, "files/app.sh"), dest=f"{ROOT}/bin/app.sh", mode="755")
files.put(
    name="motd", src=StringIO(VARS["app_greeting"] + "\n"), dest=f"{ROOT}/etc/motd.txt", mode="644"
)
files.put(
    name="environment file",
    src=StringIO(f"APP_PORT={VARS['app_port']}\nAPP_WORKERS={VARS['app_workers']}\nAPP_NAME='bench app'\n"),
    dest=f"{ROOT}/etc/app.env",
    mode="600",
)
conf = files.template(
    name="main config",
    src=os.path.join(HERE, "templates/app.conf.j2"),
    dest=f"{ROOT}/etc/app.conf",
    mode="644",
    inventory_hostname=host.name,
    **VARS,
)
files.template(
    name="peers list",
    src=os.path.join(HERE, "templates/peers.j2"),
    dest=f"{ROOT}/etc/peers",
    mode="644",
    groups={"bench": BENCH},
    hostvars=HOSTVARS,
)
files.line(name="limits file, first line", path=f"{ROOT}/etc/limits.conf", line="benchapp soft nofile 4096")
files.line(
    name="limits file, hard limit",
    path=f"{ROOT}/etc/limits.conf",
    line="^benchapp hard nofile",
    replace="benchapp hard nofile 8192",
)
files.line(name="limits file, no core dumps", path=f"{ROOT}/etc/limits.conf", line="benchapp hard core 0")
if not host.get_fact(File, path=f"{ROOT}/etc/settings.ini"):
    files.put(
        name="settings file, once (edited below)",
        src=StringIO("[server]\nlisten = 127.0.0.1\ndebug = true\ntimeout = 30\n"),
        dest=f"{ROOT}/etc/settings.ini",
        mode="644",
    )
files.line(
    name="settings, listen everywhere",
    path=f"{ROOT}/etc/settings.ini",
    line="^listen =",
    replace="listen = 0.0.0.0",
)
files.replace(
    name="settings, debug off", path=f"{ROOT}/etc/settings.ini", text="^debug = true$", replace="debug = false"
)
files.line(name="settings, no stale option", path=f"{ROOT}/etc/settings.ini", line="^stale =", present=False)
files.block(
    name="sysctl block",
    path=f"{ROOT}/etc/sysctl.conf",
    content="net.core.somaxconn = 1024\nvm.swappiness = 10",
    marker="# {mark} benchapp sysctl",
)
files.file(name="sysctl block mode", path=f"{ROOT}/etc/sysctl.conf", mode="644")
files.block(
    name="profile block",
    path=f"{ROOT}/etc/profile.sh",
    content=f'export APP_HOME={ROOT}\nexport PATH="$PATH:{ROOT}/bin"',
    marker="# {mark} benchapp environment",
)
files.file(name="profile block mode", path=f"{ROOT}/etc/profile.sh", mode="644")
for feature in VARS["app_features"]:
    files.put(
        name=f"feature flags ({feature})",
        src=StringIO(f"{feature}=on\n"),
        dest=f"{ROOT}/etc/feature-{feature}",
        mode="644",
    )
files.link(name="current link", path=f"{ROOT}/current.conf", target=f"{ROOT}/etc/app.conf")
files.file(name="no leftover pid file", path=f"{ROOT}/run/app.pid", present=False)
if not host.get_fact(File, path=f"{ROOT}/data/initialised"):
    server.shell(name="initialise data", commands=[f"{ROOT}/bin/app.sh init {ROOT}/data"])
if not host.get_fact(File, path=f"{ROOT}/data/index.txt"):
    server.shell(name="build index", commands=[f"ls -1 {ROOT}/etc | sort > {ROOT}/data/index.txt"])
if not host.get_fact(File, path=f"{ROOT}/data/etc.tar"):
    server.shell(name="archive config once", commands=[f"tar -cf {ROOT}/data/etc.tar -C {ROOT} etc"])
host.get_fact(Command, command=f"grep -c '^port = ' {ROOT}/etc/app.conf || true")
files.file(name="log file mode", path=f"{ROOT}/log/app.log", mode="640")
files.put(name="record the version", src=StringIO("1.4.2\n"), dest=f"{ROOT}/VERSION", mode="644")
server.shell(name="reload app", commands=[f"touch {ROOT}/run/reloaded"], _if=conf.did_change)
