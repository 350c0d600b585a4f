// Generates ../signatures.json: X-Twilio-Signature test vectors computed and
// judged by the official twilio package's webhook validator, so that the Go
// validator in vendors/twilio is checked against Twilio's own code.
//
//   cd vendors/twilio/testdata/gen && npm install && npm run gen
//
// Each case says what Twilio signed (signedUrl + params, or a JSON body),
// what our server saw (url), the signature sent, and the validator's verdict.
"use strict";
const { getExpectedTwilioSignature, validateRequest, validateRequestWithBody, getExpectedBodyHash } =
  require("twilio/lib/webhooks/webhooks");

const token = "0123456789abcdef0123456789abcdef";
const other = "fedcba9876543210fedcba9876543210";
const status = {
  AccountSid: "AC00000000000000000000000000000001",
  ApiVersion: "2010-04-01",
  From: "+14155550100",
  MessageSid: "SM00000000000000000000000000000001",
  MessageStatus: "delivered",
  SmsSid: "SM00000000000000000000000000000001",
  SmsStatus: "delivered",
  To: "+14155552671",
};
const inbound = {
  AccountSid: "AC00000000000000000000000000000001",
  Body: "Héllo wörld 👋 日本語 & <tags> + \"quotes\"",
  From: "+14155552671",
  MessageSid: "SM00000000000000000000000000000002",
  NumMedia: "2",
  MediaUrl0: "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1",
  MediaUrl1: "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME2",
  MediaContentType0: "image/jpeg",
  MediaContentType1: "image/png",
  To: "+14155550100",
};

const cases = [];
// form: Twilio signs signedUrl+params with signToken; our server saw url.
function form(name, { signedUrl, url, params, signToken = token, signature, checkToken = token }) {
  url = url || signedUrl;
  const sig = signature !== undefined ? signature : getExpectedTwilioSignature(signToken, signedUrl, params);
  cases.push({ name, kind: "form", authToken: checkToken, url, params, signature: sig,
    valid: validateRequest(checkToken, sig, url, params) });
}
// json: a JSON-bodied webhook; the URL carries bodySHA256.
function json(name, { signedUrl, url, body, signature, tamperedBody }) {
  url = url || signedUrl;
  const sig = signature !== undefined ? signature : getExpectedTwilioSignature(token, signedUrl, {});
  const received = tamperedBody !== undefined ? tamperedBody : body;
  cases.push({ name, kind: "json", authToken: token, url, body: received, signature: sig,
    valid: validateRequestWithBody(token, sig, url, received) });
}

const base = "https://hooks.example.com/herald/acme/twilio/status";
form("status callback", { signedUrl: base, params: status });
form("inbound with media and unicode body", { signedUrl: "https://hooks.example.com/herald/acme/twilio/inbound", params: inbound });
form("empty params", { signedUrl: base, params: {} });
form("query string", { signedUrl: base + "?foo=1&bar=2", params: status });
form("query string order matters", { signedUrl: base + "?foo=1&bar=2", url: base + "?bar=2&foo=1", params: status });
form("percent-encoded unicode in query", { signedUrl: base + "?name=J%C3%BCrgen&emoji=%F0%9F%91%8B", params: status });
form("non-default port", { signedUrl: "https://hooks.example.com:8443/herald/acme/twilio/status", params: status });
form("non-default port dropped by a proxy", { signedUrl: "https://hooks.example.com:8443/herald/acme/twilio/status", url: base, params: status });
form("signed with :443, seen without", { signedUrl: "https://hooks.example.com:443/herald/acme/twilio/status", url: base, params: status });
form("signed without port, seen with :443", { signedUrl: base, url: "https://hooks.example.com:443/herald/acme/twilio/status", params: status });
form("http signed with :80, seen without", { signedUrl: "http://hooks.example.com:80/cb?x=1", url: "http://hooks.example.com/cb?x=1", params: status });
form("http signed without, seen with :80", { signedUrl: "http://hooks.example.com/cb", url: "http://hooks.example.com:80/cb", params: status });
form("port and query", { signedUrl: "https://hooks.example.com:443/cb?a=1&b=two", url: "https://hooks.example.com/cb?a=1&b=two", params: status });
form("repeated params", { signedUrl: base, params: { MediaUrl: ["https://b.example.com/2.png", "https://a.example.com/1.png"], To: "+14155552671", Body: "two pictures" } });
form("repeated identical params", { signedUrl: base, params: { Tag: ["x", "x", "y"], To: "+14155552671" } });
form("param names sort before values", { signedUrl: base, params: { A: "2", AB: "1", B: "", a: "lower" } });
form("empty value", { signedUrl: base, params: { Body: "", MessageSid: "SM1", MessageStatus: "received" } });
form("legacy query string encoding", { signedUrl: "https://hooks.example.com/cb?q=a%20b&t=~*", url: "https://hooks.example.com/cb?q=a+b&t=~%2A", params: status });
form("twilio-go documented vector", { signedUrl: "https://mycompany.com/myapp.php?foo=1&bar=2", checkToken: "12345", signToken: "12345",
  params: { CallSid: "CA1234567890ABCDE", Caller: "+12349013030", Digits: "1234", From: "+12349013030", To: "+18005551212" } });
form("forged signature", { signedUrl: base, params: status, signature: "RSOYDt4T1cUTdK1PDd93/VVr8B8=" });
form("missing signature", { signedUrl: base, params: status, signature: "" });
form("signed with another token", { signedUrl: base, params: status, signToken: other });
form("tampered param", { signedUrl: base, params: status, signature: getExpectedTwilioSignature(token, base, { ...status, MessageStatus: "failed" }) });
form("extra param added", { signedUrl: base, params: { ...status, ErrorCode: "30006" }, signature: getExpectedTwilioSignature(token, base, status) });
form("other path", { signedUrl: "https://hooks.example.com/herald/other/twilio/status", url: base, params: status });
form("other host", { signedUrl: "https://evil.example.com/herald/acme/twilio/status", url: base, params: status });
form("scheme differs", { signedUrl: "http://hooks.example.com/herald/acme/twilio/status", url: base, params: status });

const body = JSON.stringify({ MessageSid: "SM00000000000000000000000000000003", MessageStatus: "delivered", To: "+14155552671", Note: "ünïcödé 👋" });
const hashed = base + "?bodySHA256=" + getExpectedBodyHash(body);
json("json body", { signedUrl: hashed, body });
json("json body with port quirk", { signedUrl: "https://hooks.example.com:443/herald/acme/twilio/status?bodySHA256=" + getExpectedBodyHash(body), url: hashed, body });
json("json body tampered", { signedUrl: hashed, body, tamperedBody: body.replace("delivered", "failed") });
json("json body hash forged", { signedUrl: base + "?bodySHA256=" + getExpectedBodyHash("{}"), body });

process.stdout.write(JSON.stringify({
  generator: "twilio npm package " + require("twilio/package.json").version + " lib/webhooks/webhooks.js",
  cases,
}, null, 2) + "\n");
