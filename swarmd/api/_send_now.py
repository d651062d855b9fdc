"""
L{send_now}: bytes sent straight to a connection's socket when nothing
waits to be sent before them.
"""

from twisted.internet.tcp import Connection


def send_now(transport, data):
    """
    Write C{data} on C{transport}: straight to its socket when nothing is
    waiting to be sent before it (a plain TCP or UNIX connection), what the
    socket did not take through the transport's buffer as usual.

    Twisted's C{write} only buffers and asks the reactor to watch the socket
    for writing: an answer or a relayed read then costs another reactor turn
    and two C{epoll_ctl} calls (start, then stop watching).  Sending at once
    costs one C{send}; the transport's buffer, its back-pressure (pausing its
    producer past C{bufferSize}) and its error handling are unchanged for
    whatever is left.  Any other transport (TLS) gets a plain C{write}.
    """
    if (isinstance(transport, Connection) and transport.connected
            and not transport.disconnecting and not transport._writeDisconnecting
            and not transport._tempDataLen and transport.offset == len(transport.dataBuffer)):
        try:
            sent = transport.socket.send(data)
        except OSError:
            # Would block, or failed: the reactor's write finds out.
            sent = 0
        if sent == len(data):
            return
        data = data[sent:]
    transport.write(data)
