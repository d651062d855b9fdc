"""
The floor of a large answer on this machine: a bare server that answers
every GET on a keep-alive connection with the same bytes, read once from a
file, with no work of its own (one C{sendall}).  C{scale.py} serves the
manager's own C{ps -a} answer with it, alternating calls with the manager.

    python bench/_bare_server.py FILE     (prints its port, serves until killed)
"""

import socket
import sys
import threading


def serve(connection, answer):
    data = b""
    with connection:
        while True:
            while b"\r\n\r\n" not in data:
                chunk = connection.recv(65536)
                if not chunk:
                    return
                data += chunk
            _, _, data = data.partition(b"\r\n\r\n")
            connection.sendall(answer)


def main(path):
    with open(path, "rb") as f:
        body = f.read()
    answer = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
              b"Content-Length: %d\r\n\r\n" % (len(body),)) + body
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    print(listener.getsockname()[1], flush=True)
    while True:
        connection, _ = listener.accept()
        threading.Thread(target=serve, args=(connection, answer), daemon=True).start()


if __name__ == "__main__":
    main(sys.argv[1])
