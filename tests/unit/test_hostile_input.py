"""
Hostile and malformed input (issue 9): the cases a fuzzing run found, kept
as explicit regression tests.
"""

import io
import json

from twisted.trial.unittest import SynchronousTestCase

from swarmd.api._helpers import json_depth
from swarmd.testing import lab
from swarmd.testing._lab_tls import LabTLS
from swarmd.testing.memory import MemoryManager

ADDRESSES = ["127.0.0.1:2376", "127.0.0.1:2377"]


class _StartedLab:
    """
    What L{lab.Lab} gives L{lab.main} once started, without any engine.
    """

    base = "/tmp/lab"
    engines = ()
    tls = LabTLS(ca="/l/ca.pem", cert="/l/client/cert.pem", key="/l/client/key.pem",
                 cert_path="/l/client", server_cert="/l/server-cert.pem",
                 server_key="/l/server-key.pem", manager_cert="/l/manager-cert.pem",
                 manager_key="/l/manager-key.pem")

    def __init__(self, **kwargs):
        self.kwargs = kwargs

    def start(self):
        return self

    def discovery(self):
        return "nodes://127.0.0.1:1"


class LabFlagsTests(SynchronousTestCase):
    """
    C{lab start --tls} prints flags that work.
    """

    def test_manager_flags(self):
        """The manager's flags name its own certificate (IP SAN), not the client's."""
        self.patch(lab, "Lab", _StartedLab)
        out = io.StringIO()
        self.assertEqual(lab.main(["start", "--tls", "-n", "1"], out=out), 0)
        lines = out.getvalue().splitlines()
        manager = [line for line in lines if line.startswith("# manager tls:")]
        self.assertEqual(manager, [
            "# manager tls: --tlsverify --tlscacert /l/ca.pem --tlscert /l/manager-cert.pem "
            "--tlskey /l/manager-key.pem"])
        client = [line for line in lines if line.startswith("# docker client tls:")]
        self.assertEqual(len(client), 1)
        self.assertIn("--tlscert /l/client/cert.pem", client[0])


def _deep(depth):
    return '{"Image":"busybox","X":' + "[" * depth + "]" * depth + "}"


#: C{(create body, status, message)}: what the manager answers each body of
#: the fuzzing run (the messages are dockerd 20.10's, which answers them
#: with a 500).
CREATE_CORPUS = [
    ('{"Image":"busybox","HostConfig":{"PortBindings":"x"}}', 400,
     "json: cannot unmarshal string into Go struct field HostConfig.HostConfig.PortBindings "
     "of type nat.PortMap"),
    ('{"Image":"busybox","HostConfig":{"PortBindings":["80"]}}', 400,
     "json: cannot unmarshal array into Go struct field HostConfig.HostConfig.PortBindings "
     "of type nat.PortMap"),
    ('{"Image":"busybox","HostConfig":{"PortBindings":{"80/tcp":"8080"}}}', 400,
     "json: cannot unmarshal string into Go struct field HostConfig.HostConfig.PortBindings "
     "of type []nat.PortBinding"),
    ('{"Image":"busybox","HostConfig":{"PortBindings":{"80/tcp":[5]}}}', 400,
     "json: cannot unmarshal number into Go struct field HostConfig.HostConfig.PortBindings "
     "of type nat.PortBinding"),
    ('{"Image":"busybox","HostConfig":{"PortBindings":{"80/tcp":[{"HostPort":8080.5}]}}}', 400,
     "json: cannot unmarshal number into Go struct field "
     "PortBinding.HostConfig.PortBindings.HostPort of type string"),
    ('{"Image":"busybox","HostConfig":{"PortBindings":{"80/tcp":[{"HostPort":["1"]}]}}}', 400,
     "json: cannot unmarshal array into Go struct field "
     "PortBinding.HostConfig.PortBindings.HostPort of type string"),
    ('{"Image":"busybox","HostConfig":{"NetworkMode":5}}', 400,
     "json: cannot unmarshal number into Go struct field HostConfig.HostConfig.NetworkMode "
     "of type container.NetworkMode"),
    ('{"Image":"busybox","HostConfig":{"VolumesFrom":[5]}}', 400,
     "json: cannot unmarshal number into Go struct field HostConfig.HostConfig.VolumesFrom "
     "of type string"),
    ('{"Image":"busybox","HostConfig":{"VolumesFrom":[null]}}', 400,
     "volumes-from specification cannot be an empty string"),
    ('{"Image":"busybox","HostConfig":{"Links":[null]}}', 400,
     "empty string specified for links"),
    ('{"Image":"busybox","HostConfig":{"Links":"web"}}', 400,
     "json: cannot unmarshal string into Go struct field HostConfig.HostConfig.Links "
     "of type []string"),
    ('{"Image":"busybox","Labels":{"com.docker.swarm.id":["a"]}}', 400,
     "json: cannot unmarshal array into Go struct field ContainerConfigWrapper.Labels "
     "of type string"),
    ('{"Image":"busybox","Labels":["a"]}', 400,
     "json: cannot unmarshal array into Go struct field ContainerConfigWrapper.Labels "
     "of type map[string]string"),
    ('{"Image":"busybox","Env":"a"}', 400,
     "json: cannot unmarshal string into Go struct field ContainerConfigWrapper.Env "
     "of type []string"),
    ('{"Image":5}', 400,
     "json: cannot unmarshal number into Go struct field ContainerConfigWrapper.Image "
     "of type string"),
    ('{"Image":"busybox","HostConfig":5}', 400,
     "json: cannot unmarshal number into Go struct field ContainerConfigWrapper.HostConfig "
     "of type container.HostConfig"),
    ('{"Image":"busybox","HostConfig":{"Memory":1.5}}', 400,
     "json: cannot unmarshal number 1.5 into Go struct field HostConfig.HostConfig.Memory "
     "of type int64"),
    ('{"Image":"busybox","HostConfig":{"Memory":99999999999999999999}}', 400,
     "json: cannot unmarshal number 99999999999999999999 into Go struct field "
     "HostConfig.HostConfig.Memory of type int64"),
    ('{"Image":"busybox","HostConfig":{"CpuShares":true}}', 400,
     "json: cannot unmarshal bool into Go struct field HostConfig.HostConfig.CpuShares "
     "of type int64"),
    ('{"Image":"busybox","CpuShares":"1"}', 400,
     "json: cannot unmarshal string into Go struct field ContainerConfigWrapper.CpuShares "
     "of type int64"),
    ('{"Image":"busybox","ExposedPorts":["80"]}', 400,
     "json: cannot unmarshal array into Go struct field ContainerConfigWrapper.ExposedPorts "
     "of type nat.PortSet"),
    ('{"Image":"busybox","NetworkingConfig":{"EndpointsConfig":{"x":5}}}', 400,
     "json: cannot unmarshal number into Go struct field "
     "NetworkingConfig.NetworkingConfig.EndpointsConfig of type network.EndpointSettings"),
    ('{"Image":"busybox","HostConfig":{"Mounts":[{"Type":5}]}}', 400,
     "json: cannot unmarshal number into Go struct field Mount.HostConfig.Mounts.Type "
     "of type mount.Type"),
    ('[1]', 400,
     "json: cannot unmarshal array into Go value of type runconfig.ContainerConfigWrapper"),
    ('null', 400, "Config cannot be empty in order to create a container"),
    (_deep(1000), 400, "invalid JSON in request body: nested deeper than 256 levels"),
    (_deep(100000), 400, "invalid JSON in request body: nested deeper than 256 levels"),
    ('\ufeff{"Image":"busybox"}', 400,
     "invalid JSON in request body: invalid character '\u00ef' looking for beginning of value"),
    ('{"Image":"busybox","Labels":{"a":NaN}}', 400,
     "invalid JSON in request body: invalid character 'N' looking for beginning of value"),
]

#: Create bodies dockerd accepts (201), and so must the manager.
CREATE_ACCEPTED = [
    '{"Image":"busybox","HostConfig":{"PortBindings":{"80/tcp":[null]}}}',
    '{"Image":"busybox","HostConfig":{"PortBindings":{"80/tcp":null}}}',
    '{"Image":"busybox","HostConfig":{"PortBindings":{"80/tcp":[{"HostPort":null}]}}}',
    '{"Image":"busybox","Labels":{"a":null}}',
    '{"Image":"busybox","Labels":{"com.docker.swarm.id":null}}',
    '{"Image":"busybox","ExposedPorts":{"80/tcp":null}}',
    '{"Image":"busybox","HostConfig":null,"Labels":null,"Env":null}',
    '{"Image":"busybox","HostConfig":{"Binds":[null],"Mounts":[null]}}',
    '{"Image":"busybox","NetworkingConfig":{"EndpointsConfig":{"bridge":null}}}',
    '{"Image":"busybox","X":[[[[[[[[[[[]]]]]]]]]]],"Y":{"Z":5}}',
    '{"Image":"busybox"} trailing bytes, as Go ignores them',
    _deep(200),
]


class CreateBodyTests(SynchronousTestCase):
    """
    Create bodies of the wrong types get dockerd's message with a 400; what
    dockerd accepts, the manager accepts.
    """

    def setUp(self):
        self.manager = MemoryManager(ADDRESSES)
        self.addCleanup(self.manager.stop)

    def create(self, body, query=""):
        return self.successResultOf(self.manager.request(
            "POST", "/v1.41/containers/create" + query, body.encode("utf-8")))

    def test_corpus(self):
        """Each body of the fuzzing run gets its status and Docker-style message."""
        for body, status, message in CREATE_CORPUS:
            code, headers, content = self.create(body)
            self.assertEqual((code, json.loads(content)), (status, {"message": message}),
                             body[:100])
            self.assertEqual(headers.getRawHeaders(b"Content-Type"), [b"application/json"])

    def test_accepted(self):
        """Bodies dockerd accepts create a container through the manager too."""
        for body in CREATE_ACCEPTED:
            code, _, content = self.create(body)
            self.assertEqual(code, 201, (body[:100], content))
        listed = json.loads(self.successResultOf(self.manager.request(
            "GET", "/containers/json?all=1"))[2])
        self.assertEqual(len(listed), len(CREATE_ACCEPTED))

    def test_null_port_binding_is_dynamic(self):
        """A null port binding reaches the engine as a binding with no host port."""
        code, _, content = self.create(
            '{"Image":"busybox","HostConfig":{"PortBindings":{"80/tcp":[null]}}}')
        self.assertEqual(code, 201, content)
        created = json.loads(content)["Id"]
        inspected = json.loads(self.successResultOf(self.manager.request(
            "GET", "/containers/%s/json" % (created,)))[2])
        self.assertEqual(inspected["HostConfig"]["PortBindings"],
                         {"80/tcp": [{"HostIp": "", "HostPort": ""}]})

    def test_links_string_not_split(self):
        """C{Links: "web"} is refused, never read as the links w, e and b."""
        self.create('{"Image":"busybox"}', "?name=w")
        code, _, content = self.create('{"Image":"busybox","HostConfig":{"Links":"web"}}')
        self.assertEqual(code, 400)
        self.assertIn("[]string", json.loads(content)["message"])

    def test_name_with_newline(self):
        """A container name ending in a newline is refused, as dockerd does."""
        code, _, content = self.create('{"Image":"busybox"}', "?name=web%0A")
        self.assertEqual((code, json.loads(content)["message"]), (
            400, "Invalid container name (web\n), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"))

    def test_manager_read_fields_pass_through(self):
        """Fields the manager does not read reach the engine unchanged."""
        code, _, content = self.create(
            '{"Image":"busybox","Hostname":"h1","HostConfig":{"ShmSize":1048576}}')
        self.assertEqual(code, 201, content)
        created = json.loads(content)["Id"]
        inspected = json.loads(self.successResultOf(self.manager.request(
            "GET", "/containers/%s/json" % (created,)))[2])
        self.assertEqual(inspected["Config"]["Hostname"], "h1")
        self.assertEqual(inspected["HostConfig"]["ShmSize"], 1048576)


class JSONBodyTests(SynchronousTestCase):
    """
    L{read_json_value} reads a body as Go's decoder does.
    """

    def test_depth(self):
        """L{json_depth} counts nesting without recursion, ignoring strings."""
        self.assertEqual(json_depth(b"[" * 5000 + b"]" * 5000), 5000)
        self.assertEqual(json_depth(b'["' + b"[" * 5000 + b'"]'), 0)
        self.assertEqual(json_depth(b'{"a":[[]]}', limit=1), 3)
