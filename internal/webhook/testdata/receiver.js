// A merchant's webhook receiver written from the seeds' Node.js snippets, unchanged: PayIn's
// (it verifies X-Payin-Signature over JSON.stringify(req.body)) and 3PAY's (X-Webhook-Signature over
// the raw body). req.body is what express.json() makes of the body: JSON.parse of it.
// Prints its port, answers 200 when both signatures verify and 401 otherwise.
const http = require('http');
const crypto = require('crypto');

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const rawBody = Buffer.concat(chunks);
    req.body = JSON.parse(rawBody.toString('utf8'));
    let payin = false;
    let threepay = false;
    try {
      // PayIn, "Signature Verification":
      const signature = req.headers['x-payin-signature'];
      const secret = process.env.PAYIN_WEBHOOK_SECRET;
      const payload = JSON.stringify(req.body);
      const hmac = crypto.createHmac('sha256', secret);
      hmac.update(payload);
      const expectedSignature = hmac.digest('hex');
      const isValid = crypto.timingSafeEqual(
        Buffer.from(signature),
        Buffer.from(expectedSignature)
      );
      payin = isValid;
    } catch (e) {
      payin = false;
    }
    try {
      // 3PAY v2, "Quick verification (Node.js)":
      const webhookSecret = process.env.PAYIN_WEBHOOK_SECRET;
      const expected = crypto.createHmac('sha256', webhookSecret).update(rawBody).digest('hex');
      const received = req.headers['x-webhook-signature']?.replace('sha256=', '');
      const valid = crypto.timingSafeEqual(Buffer.from(expected), Buffer.from(received));
      threepay = valid;
    } catch (e) {
      threepay = false;
    }
    res.writeHead(payin && threepay ? 200 : 401, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ received: true, payin, threepay }));
  });
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
