"""
Exec instances of the fake engine (C{docker exec}): created in a running
container, started detached or with their output streamed, inspected and
resized as dockerd 20.10 does (statuses, messages and events checked against
a real dockerd of the lab).

An exec runs the same busybox model as a container
(L{swarmd.testing.fakeengine._proc}); its output goes to whoever started it, not
to the container's logs.  C{cat} with C{AttachStdin} copies its input to
its output until the input ends.
"""

import base64

from twisted.internet.defer import Deferred, fail, succeed

from swarmd.testing.fakeengine import _proc as proc
from swarmd.testing.fakeengine._container import PAUSED
from swarmd.testing.fakeengine._errors import (
    FakeAPIError,
    bad_request,
    conflict,
    not_found,
    server_error,
)

#: Seconds dockerd waits for an exec that was never started before a
#: resize of it fails.
RESIZE_WAIT = 10.0

_CTRL = {"@": 0, "[": 27, "\\": 28, "]": 29, "^": 30, "_": 31}


def detach_keys(text):
    """
    The bytes of a C{DetachKeys} value (C{"ctrl-p,ctrl-q"}), as dockerd
    keeps them.

    @raise FakeAPIError: 400 for a key it cannot read.
    """
    result = bytearray()
    for key in (text or "").split(","):
        key = key.strip()
        if not key:
            continue
        if key.lower().startswith("ctrl-") and len(key) == 6:
            char = key[5].lower()
            if "a" <= char <= "z":
                result.append(ord(char) - ord("a") + 1)
            elif char in _CTRL:
                result.append(_CTRL[char])
            else:
                raise bad_request("Invalid escape keys (%s) provided" % (text,))
        elif len(key) == 1:
            result.append(ord(key))
        else:
            raise bad_request("Invalid escape keys (%s) provided" % (text,))
    return bytes(result)


class FakeExec:
    """
    One exec instance.

    @ivar id: 64 hex digits.
    @ivar container: its L{FakeContainer}.
    @ivar argv: the command.
    @ivar exit_code: L{None} until it ended.
    @ivar sink: who gets its output while started attached: an object with
        C{output(stream, data)} and C{end()}, or L{None}.
    """

    __slots__ = ("id", "container", "argv", "tty", "stdin", "stdout", "stderr", "user",
                 "privileged", "keys", "running", "exit_code", "pid", "timer", "sink",
                 "echo")

    def __init__(self, id, container, body):
        self.id = id
        self.container = container
        self.argv = [str(a) for a in body.get("Cmd") or []]
        self.tty = bool(body.get("Tty"))
        self.stdin = bool(body.get("AttachStdin"))
        self.stdout = bool(body.get("AttachStdout"))
        self.stderr = bool(body.get("AttachStderr"))
        self.user = body.get("User") or ""
        self.privileged = bool(body.get("Privileged"))
        self.keys = detach_keys(body.get("DetachKeys"))
        self.running = False
        self.exit_code = None
        self.pid = 0
        self.timer = None
        self.sink = None
        self.echo = False

    def __repr__(self):
        return "<FakeExec %s %s>" % (self.id[:12], self.argv)

    @property
    def action_text(self):
        """
        The command as its events name it (C{exec_start: echo hi}; a command
        without arguments keeps the space: C{exec_start: true }).
        """
        return "%s %s" % (self.argv[0] if self.argv else "", " ".join(self.argv[1:]))

    def inspect(self):
        """
        @return: C{GET /exec/{id}/json}.
        """
        process = {"tty": self.tty, "entrypoint": self.argv[0] if self.argv else "",
                   "arguments": self.argv[1:], "privileged": self.privileged}
        if self.user:
            process["user"] = self.user
        return {
            "ID": self.id,
            "Running": self.running,
            "ExitCode": self.exit_code,
            "ProcessConfig": process,
            "OpenStdin": self.stdin,
            "OpenStderr": self.stderr,
            "OpenStdout": self.stdout,
            "CanRemove": False,
            "ContainerID": self.container.id,
            "DetachKeys": base64.b64encode(self.keys).decode("ascii") if self.keys else "",
            "Pid": self.pid,
        }


class ExecOps:
    """
    The exec operations of L{swarmd.testing.fakeengine._engine.FakeEngine} (a
    mixin: it uses the engine's C{execs}, C{find}, C{_container_event},
    C{_hex}, C{_pid} and clock).
    """

    def create_exec(self, ref, body):
        """
        C{POST /containers/{id}/exec}.

        @param body: the decoded C{ExecConfig}.
        @return: the new exec's ID.
        @raise FakeAPIError: 400 without a command, 404 unknown container,
            409 when it is not running or paused.
        """
        if not body.get("Cmd"):
            raise bad_request("No exec command specified")
        container = self.find(ref)
        if not container.running:
            raise conflict("Container %s is not running" % (container.id,))
        if container.status == PAUSED:
            # dockerd names the container as given here, by its ID elsewhere.
            raise conflict("Container %s is paused, unpause the container before exec"
                           % (ref,))
        execution = FakeExec(self._hex(), container, body)
        self.execs[execution.id] = execution
        container.exec_ids = (container.exec_ids or []) + [execution.id]
        self._container_event(container, "exec_create: " + execution.action_text,
                              execID=execution.id)
        return execution.id

    def get_exec(self, exec_id):
        """
        @return: the L{FakeExec}.
        @raise FakeAPIError: 404 C{No such exec instance}.
        """
        execution = self.execs.get(exec_id)
        if execution is None or execution.container.id not in self.containers:
            raise not_found("No such exec instance: %s" % (exec_id,))
        return execution

    def inspect_exec(self, exec_id):
        """
        @return: C{GET /exec/{id}/json}.
        """
        return self.get_exec(exec_id).inspect()

    def start_exec(self, exec_id, sink=None):
        """
        C{POST /exec/{id}/start}: run the command.

        @param sink: L{None} (detached), or what gets the output (see
            L{FakeExec.sink}); its C{end()} is called when the command ends.
        @return: the L{FakeExec}.
        @raise FakeAPIError: 404 unknown, 409 paused container, already
            started or ended, 400 a command not in the image (the exec then
            ended with 126).
        """
        execution = self.get_exec(exec_id)
        container = execution.container
        if container.status == PAUSED:
            raise conflict("Container %s is paused, unpause the container before exec"
                           % (container.id,))
        if execution.exit_code is not None:
            raise conflict("Error: Exec command %s has already run" % (execution.id,))
        if execution.running:
            raise conflict("Error: Exec command %s is already running" % (execution.id,))
        self._container_event(container, "exec_start: " + execution.action_text,
                              execID=execution.id)
        try:
            steps = proc.plan(execution.argv, execution.stdin)
        except proc.CommandNotFound:
            execution.exit_code = 126
            self._forget_exec(execution)
            raise bad_request(str(proc.ExecNotFound(execution.argv[0]))) from None
        execution.running = True
        execution.pid = self._pid()
        execution.sink = sink
        execution.echo = execution.stdin and proc.reads_stdin(execution.argv)
        self._exec_schedule(execution, steps, 0, self.clock.seconds())
        return execution

    def exec_input(self, execution, data):
        """
        Bytes the client sent to a started exec's standard input.
        """
        if execution.running and execution.stdin and execution.echo:
            self._exec_output(execution, 1, data)

    def exec_input_closed(self, execution):
        """
        The client's standard input ended: C{cat} ends (with a TTY, only the
        stream does, as dockerd closes the output then).
        """
        if not execution.running or not execution.stdin:
            return
        if execution.tty:
            sink, execution.sink = execution.sink, None
            if sink is not None:
                sink.end()
        elif execution.echo:
            self._exec_exited(execution, 0)

    def resize_exec(self, exec_id, height, width):
        """
        C{POST /exec/{id}/resize}.

        @return: a L{Deferred} firing with L{None}, or failing with 404 for
            an unknown or ended exec, 409 in a paused container, 500 after
            L{RESIZE_WAIT} seconds for one never started.
        """
        try:
            execution = self.get_exec(exec_id)
        except FakeAPIError as e:
            return fail(e)
        if execution.container.status == PAUSED:
            return fail(conflict("Container %s is paused, unpause the container before exec"
                                 % (execution.container.id,)))
        if execution.running:
            return succeed(None)
        if execution.exit_code is not None:
            return fail(not_found("no such exec"))
        d = Deferred(lambda d: timer.cancel() if timer.active() else None)
        timer = self.clock.callLater(RESIZE_WAIT, lambda: d.errback(
            server_error("timeout waiting for exec session ready")))
        return d

    # -- running ----------------------------------------------------------------------

    def _exec_schedule(self, execution, steps, index, due):
        delay = max(0.0, due - self.clock.seconds())
        execution.timer = self.clock.callLater(delay, self._exec_run, execution, steps, index,
                                               due)

    def _exec_run(self, execution, steps, index, due):
        execution.timer = None
        while index < len(steps) and execution.running:
            step = steps[index]
            index += 1
            if step[0] == "out":
                self._exec_output(execution, step[1], step[2])
            elif step[0] == "sleep":
                if step[1] is None:
                    return
                self._exec_schedule(execution, steps, index, due + step[1])
                return
            elif step[0] == "write":
                proc.write_file(execution.container, step)
            elif step[0] == "exit":
                self._exec_exited(execution, step[1])
                return

    def _exec_output(self, execution, stream, data):
        if execution.tty:
            stream = 1
            data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        wanted = execution.stdout if stream == 1 else execution.stderr
        if wanted and execution.sink is not None:
            execution.sink.output(stream, data)

    def _exec_exited(self, execution, code):
        if execution.timer is not None and execution.timer.active():
            execution.timer.cancel()
        execution.timer = None
        execution.running = False
        execution.exit_code = code
        container = execution.container
        if container.exec_ids and execution.id in container.exec_ids:
            container.exec_ids = [i for i in container.exec_ids if i != execution.id] or None
        self._container_event(container, "exec_die", execID=execution.id, exitCode=str(code))
        sink, execution.sink = execution.sink, None
        if sink is not None:
            sink.end()

    def _forget_exec(self, execution):
        container = execution.container
        if container.exec_ids and execution.id in container.exec_ids:
            container.exec_ids = [i for i in container.exec_ids if i != execution.id] or None

    def _end_execs(self, container):
        """
        The container stopped: its running execs die with it, the ones never
        started are forgotten (ended ones can still be inspected).
        """
        for exec_id in list(container.exec_ids or ()):
            execution = self.execs.get(exec_id)
            if execution is None:
                continue
            if execution.running:
                self._exec_exited(execution, 137)
            else:
                del self.execs[exec_id]
        container.exec_ids = None

    def _drop_execs(self, container):
        """
        The container was removed: forget its execs.
        """
        for exec_id in [i for i, e in self.execs.items() if e.container is container]:
            del self.execs[exec_id]


__all__ = ["ExecOps", "FakeExec", "RESIZE_WAIT", "detach_keys"]
