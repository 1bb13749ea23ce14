<?php
// Crypto Pay's PHP example, as its documentation gives it (shared/seeds/004); the test replaces only the keys and the base URL.
$apiKey = 'pk_test_your_api_key';
$apiSecret = 'sk_test_your_api_secret';
$body = json_encode([
'order_id' => 'ORDER_12345',
'amount' => '50.00',
'description' => 'Service payment',
'success_url' => 'https://merchant-site.com/success',
'fail_url' => 'https://merchant-site.com/fail'
], JSON_UNESCAPED_SLASHES);
$signature = hash_hmac('sha256', $body, $apiSecret);
$ch = curl_init('https://crypto-pay.one/api/create-payment.php');
curl_setopt_array($ch, [
CURLOPT_POST => true,
CURLOPT_RETURNTRANSFER => true,
CURLOPT_POSTFIELDS => $body,
CURLOPT_HTTPHEADER => [
'Content-Type: application/json',
'X-API-Key: ' . $apiKey,
'X-Signature: ' . $signature,
],
]);
$response = curl_exec($ch);
$error = curl_error($ch);
curl_close($ch);
if ($response === false) {
exit('Connection error: ' . $error);
}
$data = json_decode($response, true);
if (!empty($data['ok']) && !empty($data['payment']['payment_url'])) {
header('Location: ' . $data['payment']['payment_url']);
exit;
}
echo 'API error: ' . ($data['error'] ?? 'Unknown error');
