package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
)

// SignatureHeader carries "sha256=" followed by the lowercase hex
// HMAC-SHA256 of the request body, keyed with the webhook secret: the
// scheme GitHub uses, so existing verifiers work. A receiver recomputes it
// over the raw body and compares in constant time.
const SignatureHeader = "X-Kdcha-Signature"

// sign returns the SignatureHeader value for body.
func sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}
