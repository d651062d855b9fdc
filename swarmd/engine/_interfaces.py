"""
Interfaces of one Docker engine as the manager sees it.
"""

from zope.interface import Attribute, Interface


class IEventStream(Interface):
    """
    A running C{GET /events} stream opened by L{IEngineClient.events}.
    """

    done = Attribute(
        "A Deferred that fires with None when the engine ends the stream, "
        "or fails with EngineUnreachable/EngineError when it breaks."
    )

    def stop():
        """
        Close the stream.  C{done} then fires with L{None}; no more events
        are delivered.
        """


class IEngineClient(Interface):
    """
    The Docker remote API of one engine, as far as the manager uses it for
    its own bookkeeping.

    Every method returns a L{Deferred}.  Failures are L{EngineError} when the
    engine answered with an error status (its status and message kept), and
    L{EngineUnreachable} when it could not be reached or did not answer in
    time.  Container arguments are IDs or names the engine understands.
    """

    address = Attribute("The engine's address: C{host:port} or C{unix:///path}.")

    api_version = Attribute(
        "The Docker API version (C{str}, e.g. C{\"1.41\"}) used in request "
        "paths: the lower of the engine's and ours once L{version} answered, "
        "L{None} before (paths are then unversioned)."
    )

    endpoint = Attribute(
        "The C{IStreamClientEndpoint} reaching the engine, dialled directly "
        "for hijacked streams (attach, exec start)."
    )

    def close():
        """
        Drop the idle connections kept for this engine.

        @return: a L{Deferred} that fires once they are closed.
        """

    def ping():
        """
        C{GET /_ping}.

        @return: fires with L{None}.
        """

    def version():
        """
        C{GET /version}.  Also fixes the API version used for later calls to
        the lower of the engine's and ours.

        @return: fires with the decoded JSON C{dict}.
        """

    def info():
        """
        C{GET /info}.

        @return: fires with the decoded JSON C{dict}.
        """

    def list_containers(all=True, filters=None):
        """
        C{GET /containers/json}.

        @param all: include stopped containers.
        @param filters: a C{dict} of Docker list filters, or L{None}.
        @return: fires with a C{list} of container summaries.
        """

    def inspect_container(container):
        """
        C{GET /containers/{id}/json}.

        @return: fires with the inspect C{dict}.
        """

    def create_container(body, name=None, auth=None):
        """
        C{POST /containers/create}.

        @param body: the create request as a C{dict}.
        @param name: the container name, or L{None}.
        @param auth: the C{X-Registry-Auth} header value, or L{None}.
        @return: fires with C{{"Id": ..., "Warnings": [...]}}.
        """

    def start_container(container):
        """
        C{POST /containers/{id}/start}.

        @return: fires with L{None} (also when it was already started).
        """

    def stop_container(container, timeout=None):
        """
        C{POST /containers/{id}/stop}.

        @param timeout: seconds to wait before killing, or L{None}.
        @return: fires with L{None} (also when it was already stopped).
        """

    def kill_container(container, signal=None):
        """
        C{POST /containers/{id}/kill}.

        @return: fires with L{None}.
        """

    def pause_container(container):
        """
        C{POST /containers/{id}/pause}.

        @return: fires with L{None}.
        """

    def unpause_container(container):
        """
        C{POST /containers/{id}/unpause}.

        @return: fires with L{None}.
        """

    def restart_container(container, timeout=None):
        """
        C{POST /containers/{id}/restart}.

        @return: fires with L{None}.
        """

    def remove_container(container, force=False, volumes=False):
        """
        C{DELETE /containers/{id}}.

        @return: fires with L{None}.
        """

    def wait_container(container):
        """
        C{POST /containers/{id}/wait}: waits until the container stops.

        @return: fires with the C{dict} the engine returns (C{StatusCode}).
        """

    def container_logs(container, stdout=True, stderr=True, tail=None):
        """
        C{GET /containers/{id}/logs} without following.

        @return: fires with the raw C{bytes} of the log stream (multiplexed
            frames unless the container has a TTY).
        """

    def list_images():
        """
        C{GET /images/json}.

        @return: fires with a C{list} of image summaries.
        """

    def inspect_image(image):
        """
        C{GET /images/{name}/json}.

        @return: fires with the inspect C{dict}.
        """

    def pull_image(image, auth=None):
        """
        C{POST /images/create?fromImage=...}: pull on this engine.

        @param image: a reference, C{name[:tag]} or C{name@digest}.
        @return: fires with the C{list} of progress messages once the pull
            ended, or fails with L{EngineError} carrying the error the
            engine reported in the stream.
        """

    def list_networks():
        """
        C{GET /networks}.

        @return: fires with a C{list} of network C{dict}s.
        """

    def list_volumes():
        """
        C{GET /volumes}.

        @return: fires with a C{list} of volume C{dict}s.
        """

    def events(callback, since=None, filters=None):
        """
        Open C{GET /events} and call C{callback(event_dict)} for every event
        as it arrives.

        @param since: a Docker timestamp string (C{"1700000000.000000001"})
            or L{None} for events from now on.
        @return: fires with an L{IEventStream} once the engine accepted the
            stream.
        """

    def request(method, path, headers=None, body=None, timeout=None):
        """
        Send one raw HTTP request (used to proxy client requests).

        @param method: C{bytes} or C{str} method.
        @param path: path and query string, starting with C{/}, sent as is.
        @param headers: a L{twisted.web.http_headers.Headers} or L{None}.
        @param body: C{bytes}, an C{IBodyProducer}, or L{None}.
        @param timeout: seconds to wait for the response head, or L{None}.
        @return: fires with the L{twisted.web.iweb.IResponse} as soon as its
            head arrived; the body is left to the caller.
        """

    def stream(method, path, headers=None, timeout=None):
        """
        Send one raw HTTP request without a body whose answer may be long
        and written in many small pieces (logs, exports): as L{request}, but
        the body may be read in fewer, bigger pieces (see
        L{swarmd.engine._long_answers}).

        @param method: C{bytes} or C{str} method.
        @param path: path and query string, starting with C{/}, sent as is.
        @param headers: a L{twisted.web.http_headers.Headers} or L{None}.
        @param timeout: seconds to wait for the response head, or L{None}.
        @return: fires with an L{twisted.web.iweb.IResponse} as soon as its
            head arrived; the body is left to the caller.
        """


class IBatchEngineClient(IEngineClient):
    """
    An L{IEngineClient} that can send several reads in one go (pipelined on
    one connection by L{swarmd.engine.EngineClient}).  The engine's refresh
    uses these when its client provides them, one call per item otherwise.
    """

    def get_many(paths):
        """
        Several C{GET}s of JSON, API paths without the version prefix.

        @return: fires with a C{list}, in the order of C{paths}, of the
            decoded answer or the L{EngineError} the engine answered.
        """

    def inspect_containers(containers, raw=False):
        """
        C{GET /containers/{id}/json} for several containers.

        @param raw: answer C{(inspect dict, body bytes or None)} pairs.
        @return: fires with a C{list}, in the order of C{containers}, of the
            inspect C{dict} (or pair) or the L{EngineError} answered for it.
        """


class ICallRecord(Interface):
    """
    What a client knows of its calls under way: how the engine tells a hung
    engine from a quiet one (L{swarmd.cluster.engine.Engine.watch}).
    Clients that do not provide it are never seen as hung.
    """

    outstanding = Attribute(
        "A C{dict} of the time-bound calls under way (a token each) to when "
        "they were sent (clock seconds), oldest first."
    )

    answered_at = Attribute(
        "When the engine last answered anything (clock seconds), or L{None}."
    )

    on_busy = Attribute(
        "L{None}, or a callable (no argument) called each time a time-bound "
        "call starts while none was under way (C{outstanding} was empty): "
        "so an engine is watched for hangs only while it has calls under way."
    )
