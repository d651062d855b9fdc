"""
The life cycle of the fake engine's containers: start, run (the modelled
processes on the engine's clock), signals, stop, restart, pause, remove and
wait, as dockerd 20.10 does them.
"""

from twisted.internet.defer import Deferred, fail, succeed

from swarmd.testing.fakeengine import _proc as proc
from swarmd.testing.fakeengine._container import EXITED, PAUSED, RUNNING
from swarmd.testing.fakeengine._errors import (
    FakeAPIError,
    bad_request,
    conflict,
    not_found,
    server_error,
)

#: The conditions C{POST /containers/{id}/wait} takes.
_WAIT_CONDITIONS = ("not-running", "next-exit", "removed")


class LifecycleOps:
    """
    Start, stop, kill, restart, pause, remove and wait (mixed into
    L{swarmd.testing.fakeengine._engine.FakeEngine}).
    """

    # -- running --------------------------------------------------------------------

    def start(self, ref):
        """
        C{POST /containers/{id}/start}.

        @return: C{True} if it started, C{False} if it was already running
            (dockerd's 304).
        @raise FakeAPIError: 409 for a paused container, 400 when the
            command is not in the image, 500 when a host port is taken.
        """
        container = self.find(ref)
        if container.status == PAUSED:
            raise conflict("cannot start a paused container, try unpause instead")
        if container.status == RUNNING:
            return False
        self._start(container)
        return True

    def _start(self, container):
        networks = []
        for name in sorted(container.networks):
            attachment = container.networks[name]
            network = self.networks.get(attachment.network_id) or self.network_by_name(name)
            if network is None:
                raise not_found("network %s not found" % (name,))
            networks.append((network, attachment))
        try:
            steps = proc.plan([container.path] + list(container.args),
                              bool(container.config.get("OpenStdin")))
        except proc.CommandNotFound as e:
            for network, attachment in networks:
                self._plug(container, network, attachment)
            for network, attachment in networks:
                self._unplug(container, network, attachment)
            container.error = str(e)
            container.exit_code = 127
            raise bad_request(str(e)) from None
        primary = self.network_by_name(container.network)
        if primary is not None and primary.driver == "bridge":
            endpoint = self._hex()
            container.ports = self._addresses.bind_ports(container, endpoint)
        for network, attachment in networks:
            self._plug(container, network, attachment)
        container.status = RUNNING
        container.pid = self._pid()
        container.exit_code = 0
        container.error = ""
        container.started = self._now_ns()
        container.finished = None
        self._container_event(container, "start")
        self._schedule(container, steps, 0, self.clock.seconds())

    def _schedule(self, container, steps, index, due):
        """
        Run C{steps} from C{index} at time C{due} (seconds of the clock):
        sleeps are counted from when they were due, so a clock advanced in
        big steps still sees the process's own timing.
        """
        container.resume = (steps, index)
        delay = max(0.0, due - self.clock.seconds())
        container.timer = self.clock.callLater(delay, self._run, container, steps, index, due)

    def _run(self, container, steps, index, due):
        container.timer = None
        container.resume = None
        while index < len(steps):
            step = steps[index]
            index += 1
            if step[0] == "out":
                self._output(container, step[1], step[2])
            elif step[0] == "sleep":
                if step[1] is None:
                    return
                self._schedule(container, steps, index, due + step[1])
                return
            elif step[0] == "write":
                proc.write_file(container, step)
            elif step[0] == "exit":
                self._exited(container, step[1])
                return

    def _output(self, container, stream, data):
        entries = container.add_output(self._now_ns(), stream, data)
        for follower in list(container.followers or ()) + list(container.attached or ()):
            for entry in entries:
                follower(entry)

    @staticmethod
    def _end_attached(container):
        attached, container.attached = container.attached, None
        for callback in attached or ():
            callback(None)

    def _exited(self, container, code):
        if container.timer is not None and container.timer.active():
            container.timer.cancel()
        container.timer = None
        container.resume = None
        self._cancel_stop_timer(container)
        container.status = EXITED
        container.exit_code = code
        container.pid = 0
        container.finished = self._now_ns()
        self._addresses.release(container)
        self._container_event(container, "die", exitCode=str(code))
        for name in sorted(container.networks):
            attachment = container.networks[name]
            network = self.networks.get(attachment.network_id)
            if attachment.endpoint is not None and network is not None:
                self._unplug(container, network, attachment)
        stoppers, container.stoppers = container.stoppers, None
        if stoppers is not None:
            self._container_event(container, "stop")
            for d in stoppers:
                d.callback(None)
        followers, container.followers = container.followers, None
        for follower in followers or ():
            follower(None)
        self._end_attached(container)
        self._end_execs(container)
        self._fire_waiters(container, ("not-running", "next-exit"))
        if container.host_config.get("AutoRemove"):
            self._destroy(container, volumes=True)

    def _fire_waiters(self, container, conditions):
        waiters = container.waiters or []
        keep = [(c, d) for c, d in waiters if c not in conditions]
        fire = [(c, d) for c, d in waiters if c in conditions]
        container.waiters = keep or None
        for _, d in fire:
            d.callback({"Error": None, "StatusCode": container.exit_code})

    @staticmethod
    def _cancel_stop_timer(container):
        timer, container.stop_timer = container.stop_timer, None
        if timer is not None and timer.active():
            timer.cancel()

    # -- signals --------------------------------------------------------------------

    def _signal(self, container, signal):
        """
        Send a signal: the C{kill} event, an C{unpause} if it was paused (as
        dockerd does), then what the process does with it.
        """
        self._container_event(container, "kill", signal=str(signal))
        if container.status == PAUSED:
            self._unpause(container)
        code = proc.signal_exit(signal, bool(container.host_config.get("Init")))
        if code is not None:
            self._exited(container, code)

    def kill(self, ref, signal="KILL"):
        """
        C{POST /containers/{id}/kill}.

        @raise FakeAPIError: 400 for an unknown signal, 409 when not running.
        """
        try:
            number = proc.parse_signal(signal or "KILL")
        except ValueError as e:
            raise bad_request(str(e)) from None
        container = self.find(ref)
        if not container.running:
            raise conflict("Cannot kill container: %s: Container %s is not running"
                           % (ref, container.id))
        self._signal(container, number)

    def stop(self, ref, timeout=None):
        """
        C{POST /containers/{id}/stop}: the stop signal, then SIGKILL after
        C{timeout} seconds if it still runs.

        @param timeout: seconds; L{None} for its C{StopTimeout} or 10; a
            negative value waits for ever.
        @return: a L{Deferred} firing with C{True} once stopped, C{False} at
            once if it was not running (dockerd's 304).
        """
        try:
            container = self.find(ref)
        except FakeAPIError as e:
            return fail(e)
        if not container.running:
            return succeed(False)
        return self._stop(container, timeout).addCallback(lambda _: True)

    def _stop(self, container, timeout):
        done = Deferred(lambda d: self._forget(container.stoppers, d))
        first = container.stoppers is None
        if first:
            container.stoppers = []
        container.stoppers.append(done)
        if first:
            if timeout is None:
                timeout = container.config.get("StopTimeout")
            if timeout is None:
                timeout = 10
            signal = proc.SIGTERM
            if container.config.get("StopSignal"):
                try:
                    signal = proc.parse_signal(container.config["StopSignal"])
                except ValueError:
                    pass
            self._signal(container, signal)
            if container.running and timeout == 0:
                self._signal(container, proc.SIGKILL)
            elif container.running and timeout > 0:
                self._set_stop_timer(container, timeout)
        return done

    def _set_stop_timer(self, container, timeout):
        def force():
            container.stop_timer = None
            if container.running:
                self._signal(container, proc.SIGKILL)

        container.stop_timer = self.clock.callLater(timeout, force)

    @staticmethod
    def _forget(items, item):
        if items is not None and item in items:
            items.remove(item)

    def restart(self, ref, timeout=None):
        """
        C{POST /containers/{id}/restart}: stop if running, then start.

        @return: a L{Deferred} firing with L{None} once started again.
        """
        try:
            container = self.find(ref)
        except FakeAPIError as e:
            return fail(e)
        stopped = self._stop(container, timeout) if container.running else succeed(None)

        def start(_):
            try:
                self._start(container)
            except FakeAPIError as e:
                raise server_error("Cannot restart container %s: %s" % (ref, e.message)) from None
            self._container_event(container, "restart")

        return stopped.addCallback(start)

    # -- pause ----------------------------------------------------------------------

    def pause(self, ref):
        """
        C{POST /containers/{id}/pause}.

        @raise FakeAPIError: 409 when not running or already paused.
        """
        container = self.find(ref)
        if container.status == PAUSED:
            raise conflict("Container %s is already paused" % (container.id,))
        if container.status != RUNNING:
            raise conflict("Container %s is not running" % (container.id,))
        if container.timer is not None and container.timer.active():
            remaining = max(0.0, container.timer.getTime() - self.clock.seconds())
            container.timer.cancel()
            container.timer = None
            steps, index = container.resume
            container.resume = (steps, index, remaining)
        container.status = PAUSED
        self._container_event(container, "pause")

    def unpause(self, ref):
        """
        C{POST /containers/{id}/unpause}.

        @raise FakeAPIError: 500 when not paused (as dockerd).
        """
        container = self.find(ref)
        if container.status != PAUSED:
            raise server_error("Container %s is not paused" % (container.id,))
        self._unpause(container)

    def _unpause(self, container):
        container.status = RUNNING
        if container.resume is not None and len(container.resume) == 3:
            steps, index, remaining = container.resume
            self._schedule(container, steps, index, self.clock.seconds() + remaining)
        self._container_event(container, "unpause")

    # -- remove ---------------------------------------------------------------------

    def remove(self, ref, force=False, volumes=False):
        """
        C{DELETE /containers/{id}}.

        @raise FakeAPIError: 409 for a running or paused container without
            C{force}.
        """
        container = self.find(ref)
        if container.running and not force:
            if container.status == PAUSED:
                raise conflict("You cannot remove a paused container %s. Unpause and then stop "
                               "the container before attempting removal or force remove"
                               % (container.id,))
            raise conflict("You cannot remove a running container %s. Stop the container "
                           "before attempting removal or force remove" % (container.id,))
        if container.running:
            self._signal(container, proc.SIGKILL)
        if container.id in self.containers:
            self._destroy(container, volumes)

    def _destroy(self, container, volumes):
        del self.containers[container.id]
        if self._names.get(container.name) is container:
            del self._names[container.name]
        self._container_event(container, "destroy")
        self._end_attached(container)
        self._drop_execs(container)
        if volumes:
            named = set()
            for bind in container.host_config.get("Binds") or []:
                named.add(bind.partition(":")[0])
            for mount in container.host_config.get("Mounts") or []:
                named.add(mount.get("Source"))
            for name, _ in container.volumes:
                if name not in named and name in self.volumes and not self.volume_users(name):
                    self._drop_volume(name)
        waiters, container.waiters = container.waiters, None
        for _, d in waiters or ():
            d.callback({"Error": None, "StatusCode": container.exit_code})

    # -- wait, rename, top ----------------------------------------------------------

    def wait(self, ref, condition=None):
        """
        C{POST /containers/{id}/wait}.

        @param condition: C{not-running} (default), C{next-exit} or
            C{removed}.
        @return: a L{Deferred} firing with C{{"Error": None, "StatusCode": N}}.
        """
        try:
            container = self.find(ref)
        except FakeAPIError as e:
            return fail(e)
        if condition not in _WAIT_CONDITIONS:
            condition = "not-running"
        if condition == "not-running" and not container.running:
            return succeed({"Error": None, "StatusCode": container.exit_code})

        def cancel(d):
            if container.waiters:
                container.waiters = [w for w in container.waiters if w[1] is not d] or None

        d = Deferred(cancel)
        container.waiters = (container.waiters or []) + [(condition, d)]
        return d
