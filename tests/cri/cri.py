#!/usr/bin/python3
"""A small CRI client for the tests: calls containerd's runtime.v1
RuntimeService over its unix socket the way a kubelet does.

  cri.py [--socket S] [--timeout SECONDS] COMMAND ...

  version                       runtime name and versions
  runp POD.json                 RunPodSandbox; prints the sandbox id
  stopp ID | rmp ID             StopPodSandbox | RemovePodSandbox
  inspectp [-v] ID              the sandbox as JSON (state, ip, pid, netns, ...)
  pods [-q]                     ListPodSandbox: "ID STATE NAMESPACE/NAME ATTEMPT"
  create POD_ID CTR.json POD.json
                                CreateContainer (POD.json is sent again as the
                                sandbox config, as a kubelet does); prints the id
  start ID | rm ID              StartContainer | RemoveContainer
  stop ID [TIMEOUT]             StopContainer; TIMEOUT seconds before SIGKILL
                                (default 0: SIGKILL at once)
  inspect [-v] ID               the container as JSON (state, pid, exit_code, ...)
  ps [-q] [--pod ID]            ListContainers: "ID POD STATE NAME ATTEMPT"
  wait ID STATE [SECONDS]       polls until the container's state is STATE
                                (created, running, exited; default 10 s)

POD.json and CTR.json hold a PodSandboxConfig and a ContainerConfig in the
protobuf JSON form, field names as in runtime.proto (snake_case or
camelCase), enums by name. -v adds containerd's verbose "info" object.

Run it with /usr/bin/python3 (Debian's python3-grpcio and python3-grpc-tools).
The stubs are generated from runtime.proto next to this file into $CRI_GEN_DIR
(default: a directory of this user's under the temp dir), once per proto text.

A failed call prints "cri.py: RPC: CODE: DETAILS" on stderr and exits 1: the
details are the runtime's error text, the one a kubelet shows as the reason in
`kubectl describe pod`. Usage errors exit 2.
"""

import argparse
import hashlib
import importlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO = os.path.join(HERE, "runtime.proto")


def die(msg, code=1):
    print("cri.py: " + msg, file=sys.stderr)
    sys.exit(code)


def private_dir(path):
    """Makes PATH (mode 0700) or checks it is ours and writable by us alone:
    we import Python code from it, so nobody else may be able to plant any."""
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o022:
        die("%s: not a directory of ours, writable by us only" % path)
    return path


def load_stubs():
    with open(PROTO, "rb") as f:
        text = f.read()
    tag = hashlib.sha256(text).hexdigest()[:16]
    base = os.environ.get("CRI_GEN_DIR") or os.path.join(
        tempfile.gettempdir(), "portside-cri-gen-%d" % os.geteuid())
    private_dir(base)
    out = os.path.join(base, tag)
    if not os.path.exists(os.path.join(out, "runtime_pb2_grpc.py")):
        # Generated into a fresh directory and renamed into place: two
        # tests running at once never import a half-written module.
        tmp = tempfile.mkdtemp(dir=base, prefix=".gen-")
        shutil.copy(PROTO, os.path.join(tmp, "runtime.proto"))
        r = subprocess.run(
            [sys.executable, "-m", "grpc_tools.protoc", "-I" + tmp,
             "--python_out=" + tmp, "--grpc_python_out=" + tmp,
             os.path.join(tmp, "runtime.proto")],
            capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            shutil.rmtree(tmp, ignore_errors=True)
            die("protoc failed (install python3-grpc-tools; run with "
                "/usr/bin/python3): " + r.stderr.strip())
        try:
            os.rename(tmp, out)
        except OSError:
            # Another run got there first: use its copy.
            shutil.rmtree(tmp, ignore_errors=True)
    sys.path.insert(0, out)
    return importlib.import_module("runtime_pb2"), importlib.import_module("runtime_pb2_grpc")


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        die("%s: %s" % (path, e), 2)


class Client:
    def __init__(self, socket, timeout):
        try:
            import grpc
            from google.protobuf import json_format
        except ImportError as e:
            die("%s: run with /usr/bin/python3 and install python3-grpcio "
                "and python3-grpc-tools" % e)
        self.grpc = grpc
        self.json_format = json_format
        self.pb, pb_grpc = load_stubs()
        self.timeout = timeout
        self.channel = grpc.insecure_channel("unix://" + socket)
        self.rt = pb_grpc.RuntimeServiceStub(self.channel)

    def call(self, name, req):
        try:
            return getattr(self.rt, name)(req, timeout=self.timeout)
        except self.grpc.RpcError as e:
            code = e.code().name if e.code() else "UNKNOWN"
            print("cri.py: %s: %s: %s" % (name, code, e.details()), file=sys.stderr)
            sys.exit(1)

    def parse(self, path, msg):
        try:
            return self.json_format.ParseDict(read_json(path), msg)
        except self.json_format.ParseError as e:
            die("%s: %s" % (path, e), 2)

    def enum_name(self, enum, value):
        return self.pb.DESCRIPTOR.enum_types_by_name[enum].values_by_number[value].name


def verbose_info(resp):
    try:
        return json.loads(resp.info.get("info", "{}"))
    except ValueError:
        return {}


def netns_of(info):
    spec = info.get("runtimeSpec") or {}
    for ns in (spec.get("linux") or {}).get("namespaces") or []:
        if ns.get("type") == "network":
            return ns.get("path", "")
    return ""


def cmd_version(c, a):
    r = c.call("Version", c.pb.VersionRequest(version="v1"))
    print("%s %s %s" % (r.runtime_name, r.runtime_version, r.runtime_api_version))


def cmd_runp(c, a):
    cfg = c.parse(a.pod, c.pb.PodSandboxConfig())
    r = c.call("RunPodSandbox", c.pb.RunPodSandboxRequest(config=cfg, runtime_handler=a.runtime_handler))
    print(r.pod_sandbox_id)


def cmd_stopp(c, a):
    c.call("StopPodSandbox", c.pb.StopPodSandboxRequest(pod_sandbox_id=a.id))


def cmd_rmp(c, a):
    c.call("RemovePodSandbox", c.pb.RemovePodSandboxRequest(pod_sandbox_id=a.id))


def cmd_inspectp(c, a):
    r = c.call("PodSandboxStatus", c.pb.PodSandboxStatusRequest(pod_sandbox_id=a.id, verbose=True))
    s = r.status
    info = verbose_info(r)
    out = {
        "id": s.id,
        "name": s.metadata.name,
        "namespace": s.metadata.namespace,
        "uid": s.metadata.uid,
        "attempt": s.metadata.attempt,
        "state": c.enum_name("PodSandboxState", s.state),
        "ip": s.network.ip,
        "additional_ips": [p.ip for p in s.network.additional_ips],
        "pid": info.get("pid", 0),
        "netns": netns_of(info),
        "labels": dict(s.labels),
        "annotations": dict(s.annotations),
    }
    if a.verbose:
        out["info"] = info
    print(json.dumps(out, indent=1, sort_keys=True))


def cmd_pods(c, a):
    r = c.call("ListPodSandbox", c.pb.ListPodSandboxRequest())
    for p in r.items:
        if a.quiet:
            print(p.id)
        else:
            print("%s %s %s/%s %d" % (p.id, c.enum_name("PodSandboxState", p.state),
                                      p.metadata.namespace, p.metadata.name, p.metadata.attempt))


def cmd_create(c, a):
    ctr = c.parse(a.ctr, c.pb.ContainerConfig())
    pod = c.parse(a.pod, c.pb.PodSandboxConfig())
    r = c.call("CreateContainer", c.pb.CreateContainerRequest(
        pod_sandbox_id=a.pod_id, config=ctr, sandbox_config=pod))
    print(r.container_id)


def cmd_start(c, a):
    c.call("StartContainer", c.pb.StartContainerRequest(container_id=a.id))


def cmd_stop(c, a):
    c.call("StopContainer", c.pb.StopContainerRequest(container_id=a.id, timeout=a.stop_timeout))


def cmd_rm(c, a):
    c.call("RemoveContainer", c.pb.RemoveContainerRequest(container_id=a.id))


def container_status(c, cid, verbose):
    return c.call("ContainerStatus", c.pb.ContainerStatusRequest(container_id=cid, verbose=verbose))


def cmd_inspect(c, a):
    r = container_status(c, a.id, True)
    s = r.status
    info = verbose_info(r)
    out = {
        "id": s.id,
        "name": s.metadata.name,
        "attempt": s.metadata.attempt,
        "state": c.enum_name("ContainerState", s.state),
        "exit_code": s.exit_code,
        "reason": s.reason,
        "message": s.message,
        "pid": info.get("pid", 0),
        "pod_sandbox_id": info.get("sandboxID", ""),
        "image": s.image.image,
        "log_path": s.log_path,
        "started_at": s.started_at,
        "finished_at": s.finished_at,
        "labels": dict(s.labels),
        "annotations": dict(s.annotations),
    }
    if a.verbose:
        out["info"] = info
    print(json.dumps(out, indent=1, sort_keys=True))


def cmd_ps(c, a):
    f = c.pb.ContainerFilter(pod_sandbox_id=a.pod or "")
    r = c.call("ListContainers", c.pb.ListContainersRequest(filter=f))
    for x in r.containers:
        if a.quiet:
            print(x.id)
        else:
            print("%s %s %s %s %d" % (x.id, x.pod_sandbox_id, c.enum_name("ContainerState", x.state),
                                      x.metadata.name, x.metadata.attempt))


def cmd_wait(c, a):
    want = "CONTAINER_" + a.state.upper()
    deadline = time.monotonic() + a.seconds
    while True:
        s = container_status(c, a.id, False).status
        got = c.enum_name("ContainerState", s.state)
        if got == want:
            return
        if time.monotonic() >= deadline:
            die("wait: %s is %s after %g s, not %s" % (a.id, got, a.seconds, want))
        time.sleep(0.05)


def main():
    p = argparse.ArgumentParser(prog="cri.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--socket", default=os.environ.get("CRI_SOCKET", ""),
                   help="containerd's grpc socket (default $CRI_SOCKET)")
    p.add_argument("--timeout", type=float, default=float(os.environ.get("CRI_TIMEOUT", "30")),
                   help="deadline of each call in seconds (default $CRI_TIMEOUT or 30)")
    sub = p.add_subparsers(dest="cmd", required=True)

    def add(name, fn, *args):
        sp = sub.add_parser(name)
        for arg in args:
            sp.add_argument(arg)
        sp.set_defaults(fn=fn)
        return sp

    add("version", cmd_version)
    add("runp", cmd_runp, "pod").add_argument("--runtime-handler", default="")
    add("stopp", cmd_stopp, "id")
    add("rmp", cmd_rmp, "id")
    add("inspectp", cmd_inspectp, "id").add_argument("-v", "--verbose", action="store_true")
    add("pods", cmd_pods).add_argument("-q", "--quiet", action="store_true")
    add("create", cmd_create, "pod_id", "ctr", "pod")
    add("start", cmd_start, "id")
    add("stop", cmd_stop, "id").add_argument("stop_timeout", nargs="?", type=int, default=0)
    add("rm", cmd_rm, "id")
    add("inspect", cmd_inspect, "id").add_argument("-v", "--verbose", action="store_true")
    sp = add("ps", cmd_ps)
    sp.add_argument("-q", "--quiet", action="store_true")
    sp.add_argument("--pod")
    sp = add("wait", cmd_wait, "id", "state")
    sp.add_argument("seconds", nargs="?", type=float, default=10.0)

    a = p.parse_args()
    if a.cmd == "wait" and a.state not in ("created", "running", "exited", "unknown"):
        die("wait: STATE is one of created, running, exited, unknown", 2)
    if not a.socket:
        die("no socket: give --socket or set CRI_SOCKET", 2)
    a.fn(Client(a.socket, a.timeout), a)


if __name__ == "__main__":
    main()
