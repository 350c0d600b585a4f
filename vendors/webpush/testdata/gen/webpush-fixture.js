// Generates ../webpush-npm.json: a push encrypted (RFC 8291 aes128gcm) and
// VAPID-signed by the npm web-push package for a throwaway browser key, so
// the Go tests can check their decryption against another implementation.
//
//   cd vendors/webpush/testdata/gen && npm install && node webpush-fixture.js
//
// Every key here is generated on the spot and is a test key, not a secret.
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const webpush = require('web-push');

const b64url = (buf) => Buffer.from(buf).toString('base64url');

const browser = crypto.createECDH('prime256v1');
browser.generateKeys();
const auth = crypto.randomBytes(16);
const vapid = webpush.generateVAPIDKeys();
const subscription = {
  endpoint: 'https://push.example.test/push/fixture',
  keys: { p256dh: b64url(browser.getPublicKey()), auth: b64url(auth) },
};
const payload = JSON.stringify({ id: 'm-npm', title: 'Grüße', body: 'from web-push 👋', data: { order: '42' } });
const details = webpush.generateRequestDetails(subscription, payload, {
  vapidDetails: { subject: 'mailto:ops@example.com', publicKey: vapid.publicKey, privateKey: vapid.privateKey },
  TTL: 3600,
  urgency: 'high',
  topic: 'order-42',
  contentEncoding: 'aes128gcm',
});

const out = {
  generator: 'npm web-push ' + require('web-push/package.json').version,
  note: 'test keys generated for this fixture; not secrets',
  browserPrivateKey: b64url(browser.getPrivateKey()),
  browserPublicKey: b64url(browser.getPublicKey()),
  auth: b64url(auth),
  vapidPublicKey: vapid.publicKey,
  endpoint: subscription.endpoint,
  headers: details.headers,
  body: Buffer.from(details.body).toString('base64'),
  payload,
};
fs.writeFileSync(path.join(__dirname, '..', 'webpush-npm.json'), JSON.stringify(out, null, 2) + '\n');
console.log('wrote webpush-npm.json with', out.generator);
