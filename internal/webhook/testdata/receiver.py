# A merchant's webhook receiver written from the seeds' Python snippet, unchanged (PayIn's
# PayInClient.verify_webhook over the raw body and X-Payin-Signature), plus 3PAY's header checked the
# same way. Prints its port, answers 200 when both verify and 401 otherwise.
import hashlib
import hmac
import os
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer


def verify_webhook(payload: bytes, signature: str, secret: str) -> bool:
    """Verify webhook signature"""
    expected_signature = hmac.new(
        secret.encode(),
        payload,
        hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(signature, expected_signature)


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        payload = self.rfile.read(int(self.headers.get('Content-Length', 0)))
        secret = os.environ['PAYIN_WEBHOOK_SECRET']
        payin = verify_webhook(payload, self.headers.get('X-Payin-Signature', ''), secret)
        threepay = verify_webhook(payload, self.headers.get('X-Webhook-Signature', '').replace('sha256=', ''), secret)
        self.send_response(200 if payin and threepay else 401)
        self.end_headers()
        self.wfile.write(b'{"received": true}')

    def log_message(self, *args):
        pass


server = HTTPServer(('127.0.0.1', 0), Handler)
print(server.server_address[1], flush=True)
sys.stdout.flush()
server.serve_forever()
