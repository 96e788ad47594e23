#!/usr/bin/env python3
"""Types lines on a QEMU guest's serial console, as someone at the box would.

QEMU serves the guest's first serial port on a Unix socket
(-chardev socket,id=ser0,path=SOCK,server=on,wait=off,logfile=LOG
 -serial chardev:ser0) and logs everything the guest writes to LOG whether or
not anyone is connected. This connects, types each LINE followed by Enter,
keeps reading (so the guest's output never stalls on a full socket) until the
guest has echoed the end of the last line into LOG (or a few seconds pass),
and disconnects.

Usage: console.py SOCK LOG LINE...
"""
import os
import socket
import sys
import time


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    sock_path, log_path, lines = sys.argv[1], sys.argv[2], sys.argv[3:]
    start = os.path.getsize(log_path) if os.path.exists(log_path) else 0
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock_path)
    s.setblocking(False)

    def drain():
        try:
            while s.recv(65536):
                pass
        except BlockingIOError:
            pass

    for line in lines:
        data = (line + "\r").encode()
        # A little at a time: the emulated UART takes 16 bytes per read and
        # QEMU stops reading the socket while the guest has not taken them.
        for i in range(0, len(data), 16):
            chunk = data[i:i + 16]
            while chunk:
                try:
                    n = s.send(chunk)
                    chunk = chunk[n:]
                except BlockingIOError:
                    time.sleep(0.01)
                drain()
            time.sleep(0.02)
    # The tty echoes what was typed: wait for the end of the last line (a long
    # line may be wrapped by the shell, so only its last few characters).
    tail = lines[-1][-10:].encode()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        drain()
        with open(log_path, "rb") as f:
            f.seek(start)
            if tail in f.read():
                break
        time.sleep(0.2)
    drain()
    time.sleep(0.3)
    s.close()


if __name__ == "__main__":
    main()
