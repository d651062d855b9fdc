"""
What a container of the fake engine runs: a small model of the busybox
image's commands, enough for the manager's tests (output, exit codes,
signals), checked against a real dockerd 20.10 with the lab's busybox.

A command becomes a I{plan}: a list of steps run one after the other on the
engine's clock::

    ("out", 1, b"hello\\n")    write to stdout (2: stderr)
    ("write", "/f", b"x\\n", False)   write a file (True: append), from C{> /f}
    ("sleep", 2.0)             wait 2 seconds (None: until killed)
    ("exit", 3)                end with status 3

Facts mirrored (busybox as PID 1, no C{--init}): it ignores every signal but
SIGKILL, so C{docker stop} waits its timeout and ends with 137; with C{Init}
(docker-init forwards signals) SIGTERM ends it with 143, SIGHUP 129.
C{sh} or C{cat} without an open stdin read /dev/null and exit 0 at once; a
command that is no busybox applet fails C{start} (exit code 127).
"""

import re
import shlex

#: The applets of Debian's busybox-static 1.35 (C{busybox --list}): the
#: commands the lab's busybox image has, all in C{/bin}.
APPLETS = frozenset("""
[ [[ acpid adjtimex ar arch arp arping ascii ash awk base64 basename bc blkdiscard
blockdev brctl bunzip2 busybox bzcat bzip2 cal cat chgrp chmod chown chroot chvt clear
cmp cp cpio crc32 crond crontab cttyhack cut date dc dd deallocvt depmod devmem df diff
dirname dmesg dnsdomainname dos2unix dpkg dpkg-deb du dumpkmap dumpleases echo ed egrep
env expand expr factor fallocate false fatattr fdisk fgrep find findfs fold free
freeramdisk fsfreeze fstrim ftpget ftpput getopt getty grep groups gunzip gzip halt head
hexdump hostid hostname httpd hwclock i2cdetect i2cdump i2cget i2cset i2ctransfer id
ifconfig ifdown ifup init insmod ionice ip ipcalc ipneigh kill killall klogd last less
link linux32 linux64 linuxrc ln loadfont loadkmap logger login logname logread losetup ls
lsmod lsscsi lzcat lzma lzop md5sum mdev microcom mim mkdir mkdosfs mke2fs mkfifo mknod
mkpasswd mkswap mktemp modinfo modprobe more mount mt mv nameif nc netstat nl nologin
nproc nsenter nslookup nuke od openvt partprobe passwd paste patch pidof ping ping6
pivot_root poweroff printf ps pwd rdate readlink realpath reboot renice reset resume rev
rm rmdir rmmod route rpm rpm2cpio run-init run-parts sed seq setkeycodes setpriv setsid
sh sha1sum sha256sum sha3sum sha512sum shred shuf sleep sort ssl_client start-stop-daemon
stat strings stty su sulogin svc svok swapoff swapon switch_root sync sysctl syslogd tac
tail tar taskset tc tee telnet telnetd test tftp time timeout top touch tr traceroute
traceroute6 true truncate ts tty tunctl ubirename udhcpc udhcpd uevent umount uname
uncompress unexpand uniq unix2dos unlink unlzma unshare unxz unzip uptime usleep uudecode
uuencode vconfig vi w watch watchdog wc wget which who whoami xargs xxd xz xzcat yes zcat
""".split())

#: Linux signal numbers by name (without C{SIG}), as Docker parses them.
SIGNALS = {
    "ABRT": 6, "ALRM": 14, "BUS": 7, "CHLD": 17, "CLD": 17, "CONT": 18, "FPE": 8, "HUP": 1,
    "ILL": 4, "INT": 2, "IO": 29, "IOT": 6, "KILL": 9, "PIPE": 13, "POLL": 29, "PROF": 27,
    "PWR": 30, "QUIT": 3, "SEGV": 11, "STKFLT": 16, "STOP": 19, "SYS": 31, "TERM": 15,
    "TRAP": 5, "TSTP": 20, "TTIN": 21, "TTOU": 22, "URG": 23, "USR1": 10, "USR2": 12,
    "VTALRM": 26, "WINCH": 28, "XCPU": 24, "XFSZ": 25,
}

SIGKILL = 9
SIGTERM = 15

#: Signals whose default action does not end a process.
_HARMLESS = frozenset({17, 18, 19, 20, 21, 22, 23, 28})

#: A step that never ends (the process runs until it is killed).
FOREVER = ("sleep", None)

_SHELLS = frozenset({"sh", "ash"})
_KEYWORDS = frozenset("if then else elif fi for while until do done case esac function !".split())
_UNSUPPORTED = frozenset("| ( ) < << >> & $ ` { }".split())
_DURATION = re.compile(r"^(\d+(?:\.\d*)?|\.\d+)([smhd]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


class CommandNotFound(Exception):
    """
    The command is not in the image: C{start} fails as runc does.
    """

    def __init__(self, command):
        Exception.__init__(self, command)
        self.command = command

    def __str__(self):
        return ('failed to create shim task: OCI runtime create failed: runc create failed: '
                'unable to start container process: exec: "%s": executable file not found '
                'in $PATH: unknown' % (self.command,))


class ExecNotFound(CommandNotFound):
    """
    The command of an exec instance is not in the image: its start fails as
    runc's exec does (exit code 126).
    """

    def __str__(self):
        return ('OCI runtime exec failed: exec failed: unable to start container process: '
                'exec: "%s": executable file not found in $PATH: unknown' % (self.command,))


def reads_stdin(argv):
    """
    @return: C{True} for a command that copies its standard input to its
        output until the input ends (C{cat} without arguments).
    """
    return len(argv) == 1 and _applet(argv[0]) == "cat"


def parse_signal(text):
    """
    Parse a signal as C{docker kill --signal} takes it: C{"9"}, C{"KILL"},
    C{"SIGKILL"} (any case).

    @return: the signal number.
    @raise ValueError: with dockerd's message (C{Invalid signal: X}).
    """
    raw = text.strip()
    if raw.isdigit():
        number = int(raw)
        if 0 < number < 65:
            return number
        raise ValueError("Invalid signal: %s" % (text,))
    name = raw.upper()
    if name.startswith("SIG"):
        name = name[3:]
    if name in SIGNALS:
        return SIGNALS[name]
    raise ValueError("Invalid signal: %s" % (text,))


def signal_exit(signal, init):
    """
    What a running process does when sent C{signal}.

    @param init: the container runs docker-init as PID 1 (C{HostConfig.Init}).
    @return: the exit code it ends with, or L{None} if it keeps running.
    """
    if signal == SIGKILL:
        return 128 + SIGKILL
    if init and signal not in _HARMLESS:
        return 128 + signal
    return None


def _applet(command):
    """
    @return: the applet C{command} names (C{"sleep"}, C{"/bin/sleep"}), or
        L{None} if the image has no such program.
    """
    if command.startswith("/bin/"):
        command = command[5:]
    elif "/" in command:
        return None
    return command if command in APPLETS else None


def _duration(text):
    """
    @return: busybox C{sleep}'s argument in seconds, or L{None} for ever.
    """
    if text in ("inf", "infinity"):
        return None
    match = _DURATION.match(text)
    if match is None:
        return 0.0
    return float(match.group(1)) * _UNITS[match.group(2)]


def _simple(applet, args, open_stdin):
    """
    Plan one simple command (an applet with its arguments).

    @return: C{(steps, status)}: C{status} is L{None} if it never ends.
    """
    if applet == "echo":
        newline = True
        while args and args[0] in ("-n", "-e", "-E", "-ne", "-en"):
            newline = newline and "n" not in args[0]
            args = args[1:]
        text = " ".join(args) + ("\n" if newline else "")
        return [("out", 1, text.encode("utf-8"))], 0
    if applet in ("true", ":"):
        return [], 0
    if applet == "false":
        return [], 1
    if applet == "sleep":
        if not args:
            return [("out", 2, b"sleep: applet not found\n")], 1
        seconds = _duration(args[0])
        if seconds is None:
            return [FOREVER], None
        return [("sleep", seconds)], 0
    if applet in _SHELLS or applet == "cat":
        if args and applet in _SHELLS:
            return [FOREVER], None
        return ([FOREVER], None) if open_stdin else ([], 0)
    return [FOREVER], None


def _statements(script):
    """
    Split a C{sh -c} script into C{(operator, words)}, the operator being
    how it joins the previous one (C{";"}, C{"&&"}, C{"||"}).

    @return: the list, or L{None} if the script uses syntax not modelled.
    """
    lexer = shlex.shlex(script.replace("\n", ";"), posix=True, punctuation_chars=";&|<>()")
    lexer.whitespace_split = True
    try:
        tokens = list(lexer)
    except ValueError:
        return None
    statements = []
    operator = ";"
    words = []
    for token in tokens:
        if token in (";", "&&", "||"):
            statements.append((operator, words))
            operator, words = token, []
        elif "$" in token or "`" in token:
            return None
        else:
            words.append(token)
    statements.append((operator, words))
    statements = [(op, w) for op, w in statements if w]
    if any(w[0] in _KEYWORDS for _, w in statements):
        return None
    return statements


def _redirect(words):
    """
    Strip a trailing C{>&2}, C{1>&2}, C{>/dev/stderr}, C{>/dev/null} or
    C{> FILE} (C{>> FILE}).

    @return: C{(words, stream)}, stream 1, 2, 0 (discarded) or C{(path,
        append)} for a file; L{None} if another redirection is used.
    """
    stream = 1
    if len(words) >= 2 and words[-2] in (">", ">>") and words[-1].startswith("/") and \
            not words[-1].startswith("/dev/"):
        return words[:-2], (words[-1], words[-2] == ">>")
    if len(words) >= 2 and words[-2] == ">&" and words[-1] in ("2", "1"):
        stream = int(words[-1])
        words = words[:-2]
        if words and words[-1] == "1":
            words = words[:-1]
    elif len(words) >= 2 and words[-2] == ">" and words[-1] in ("/dev/stderr", "/dev/null",
                                                                 "/dev/stdout"):
        stream = {"/dev/stderr": 2, "/dev/null": 0, "/dev/stdout": 1}[words[-1]]
        words = words[:-2]
    if any(w in _UNSUPPORTED or w in (">", ">&") for w in words):
        return None
    return words, stream


def _script(script, open_stdin):
    statements = _statements(script)
    if statements is None:
        return [FOREVER]
    steps = []
    status = 0
    for operator, words in statements:
        if (operator == "&&" and status != 0) or (operator == "||" and status == 0):
            continue
        redirected = _redirect(words)
        if redirected is None:
            return steps + [FOREVER]
        words, stream = redirected
        if not words:
            continue
        if isinstance(stream, tuple):
            # The file is made (or emptied) even if nothing is written.
            steps.append(("write", stream[0], b"", stream[1]))
        command, args = words[0], words[1:]
        if command == "exit":
            code = int(args[0]) if args and args[0].isdigit() else status
            return steps + [("exit", code % 256)]
        if command == "exec" and args:
            command, args = args[0], args[1:]
        applet = ":" if command == ":" else _applet(command)
        if applet is None:
            steps.append(("out", 2, ("sh: %s: not found\n" % (command,)).encode("utf-8")))
            status = 127
            continue
        more, status = _simple(applet, args, open_stdin)
        for step in more:
            if step[0] == "out":
                if stream == 0:
                    continue
                if isinstance(stream, tuple):
                    step = ("write", stream[0], step[2], True)
                else:
                    step = ("out", stream, step[2])
            steps.append(step)
        if status is None:
            return steps
    return steps + [("exit", status)]


def plan(argv, open_stdin=False):
    """
    Plan what a container's process does.

    @param argv: the process's argv (entrypoint then command).
    @param open_stdin: C{OpenStdin} is set (shells then wait for input).
    @return: the list of steps (it ends with an C{exit} step, or with a
        step that never ends).
    @raise CommandNotFound: the program is not in the image.
    """
    if not argv:
        raise CommandNotFound("")
    applet = _applet(argv[0])
    if applet is None:
        raise CommandNotFound(argv[0])
    args = list(argv[1:])
    if applet in _SHELLS and args and args[0] == "-c":
        if len(args) < 2:
            return [("out", 2, b"sh: -c requires an argument\n"), ("exit", 2)]
        return _script(args[1], open_stdin)
    steps, status = _simple(applet, args, open_stdin)
    if status is None:
        return steps
    return steps + [("exit", status)]


def command_line(path, args):
    """
    The C{Command} of a container summary, as dockerd writes it: arguments
    containing a space are put in single quotes.
    """
    if not args:
        return path
    return "%s %s" % (path, " ".join("'%s'" % (a,) if " " in a else a for a in args))


def write_file(container, step):
    """
    Carry out a C{("write", path, data, append)} step: the file a command
    of C{container} wrote (kept in C{container.files}).
    """
    _, path, data, append = step
    files = container.files = container.files or {}
    files[path] = (files.get(path, b"") if append else b"") + data
