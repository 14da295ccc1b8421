"""festival-stack.sh's webhook receiver for Alertmanager (fs_start_webhook):
appends every notification POSTed to it to LOG as one JSON object per line,
with "received" (Unix seconds) added. Listens on 127.0.0.1:PORT (0: any free
port) and, once listening, writes the port it got to PORT_FILE (through a
.tmp file renamed into place, so a reader never sees it half written).

Usage: python3 -B scripts/lib/webhook.py LOG PORT_FILE PORT"""
import http.server
import json
import os
import sys
import time

log, port_file, port = sys.argv[1], sys.argv[2], int(sys.argv[3])


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        note = json.loads(body)
        note["received"] = time.time()
        with open(log, "a") as f:
            f.write(json.dumps(note) + "\n")
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
