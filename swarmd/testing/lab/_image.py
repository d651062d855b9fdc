"""
A tiny C{busybox:latest} image for the lab, built from the host's static
busybox, since the lab's engines cannot pull from any registry.
"""

from __future__ import annotations

import io
import os
import struct
import subprocess
import tarfile

#: Where Debian's busybox-static puts its binary.
BUSYBOX = "/bin/busybox"

#: Image name and tag the lab imports into every engine.
IMAGE = "busybox:latest"

#: The image's C{Cmd}, as C{docker import -c} takes it.
IMAGE_CHANGE = 'CMD ["sh"]'

_DIRECTORIES = ("bin", "etc", "tmp", "proc", "sys", "dev", "root")
_FILES = {
    "etc/passwd": b"root:x:0:0:root:/root:/bin/sh\n",
    "etc/group": b"root:x:0:\n",
}


def is_static(path: str) -> bool:
    """
    @param path: an ELF executable.
    @return: C{True} if it has no program interpreter (it is statically
        linked, so it runs in an image that holds nothing else).
    """
    try:
        with open(path, "rb") as f:
            head = f.read(64)
            if len(head) < 52 or head[:4] != b"\x7fELF":
                return False
            wide = head[4] == 2
            order = "<" if head[5] == 1 else ">"
            if wide:
                (phoff,) = struct.unpack_from(order + "Q", head, 0x20)
                size, count = struct.unpack_from(order + "HH", head, 0x36)
            else:
                (phoff,) = struct.unpack_from(order + "I", head, 0x1C)
                size, count = struct.unpack_from(order + "HH", head, 0x2A)
            f.seek(phoff)
            table = f.read(size * count)
    except (OSError, struct.error):
        return False
    # A dynamically linked executable names its loader in a PT_INTERP (3)
    # program header; a static one has none.
    for i in range(count):
        (kind,) = struct.unpack_from(order + "I", table, i * size)
        if kind == 3:
            return False
    return True


def applets(busybox: str = BUSYBOX) -> list[str]:
    """
    @param busybox: path of the busybox binary.
    @return: the names of the applets it provides.
    """
    listing = subprocess.run([busybox, "--list"], capture_output=True, text=True, check=True)
    return sorted({name for name in listing.stdout.split() if name and "/" not in name})


def rootfs_tar(busybox: str = BUSYBOX) -> bytes:
    """
    Build the image's root file system.

    @param busybox: path of a statically linked busybox binary.
    @return: an uncompressed tar archive with C{/bin/busybox}, one symbolic
        link per applet in C{/bin}, a root user and the usual empty
        directories; C{docker import} turns it into an image.
    """
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name in _DIRECTORIES:
            info = tarfile.TarInfo(name)
            info.type = tarfile.DIRTYPE
            info.mode = 0o1777 if name == "tmp" else 0o755
            tar.addfile(info)
        with open(busybox, "rb") as f:
            binary = f.read()
        info = tarfile.TarInfo("bin/busybox")
        info.size = len(binary)
        info.mode = 0o755
        tar.addfile(info, io.BytesIO(binary))
        for name in applets(busybox):
            if name == "busybox":
                continue
            info = tarfile.TarInfo("bin/" + name)
            info.type = tarfile.SYMTYPE
            info.linkname = "busybox"
            info.mode = 0o777
            tar.addfile(info)
        for name, content in _FILES.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(content))
    return out.getvalue()


def write_rootfs_tar(path: str, busybox: str = BUSYBOX) -> str:
    """
    Write L{rootfs_tar} to a file (once: an existing file is kept).

    @return: C{path}
    """
    if not os.path.exists(path):
        data = rootfs_tar(busybox)
        tmp = path + ".part"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    return path
