<?php
// A Crypto Pay merchant's webhook receiver, as Crypto Pay's documentation says to write it: verify
// X-Signature, hash_hmac('sha256', raw body, API secret), before trusting the body; answer 200 only
// for a paid payment that verifies. Run as PHP's web server's router script.
$raw = file_get_contents('php://input');
$signature = $_SERVER['HTTP_X_SIGNATURE'] ?? '';
$expected = hash_hmac('sha256', $raw, getenv('CRYPTOPAY_API_SECRET'));
if (!hash_equals($expected, $signature)) {
    http_response_code(401);
    exit('bad signature');
}
$data = json_decode($raw, true);
if (($data['status'] ?? '') !== 'paid' || empty($data['payment_id']) || empty($data['order_id'])) {
    http_response_code(400);
    exit('not a paid payment');
}
http_response_code(200);
echo 'OK';
