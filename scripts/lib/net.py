"""festival-stack.sh's network helpers.

  free-port               prints an unused TCP port on 127.0.0.1 (fs_free_port)
  wait-http URL SECONDS [PID]
                          polls URL every 0.25 s until it answers 2xx (exit 0);
                          exit 1 with a message on stderr after SECONDS, or as
                          soon as process PID (0: none) has exited
                          (fs_wait_http)

Usage: python3 -B scripts/lib/net.py SUBCOMMAND ARGS..."""
import socket
import sys
import time
import urllib.request


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])


def gone(pid):  # exited, or a zombie its parent has not waited for yet
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True
    except OSError:
        return False


def wait_http(url, seconds, pid="0"):
    end, pid = time.monotonic() + float(seconds), int(pid)
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                r.read()
            sys.exit(0)
        except Exception as e:
            if pid and gone(pid):
                sys.exit(f"{url}: the process serving it (pid {pid}) has exited")
            if time.monotonic() > end:
                sys.exit(f"{url} not answering after {seconds}s: {e}")
        time.sleep(0.25)


if __name__ == "__main__":
    cmds = {"free-port": free_port, "wait-http": wait_http}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        sys.exit(f"usage: net.py {{{','.join(cmds)}}} ...")
    cmds[sys.argv[1]](*sys.argv[2:])
