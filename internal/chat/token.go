package chat

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"time"

	"github.com/kefu-desk/kefu"
)

// TokenLifetime is how long a visitor token is accepted after it was
// issued. Every session call issues a fresh one, so a visitor who comes
// back within it keeps their conversation indefinitely.
const TokenLifetime = 180 * 24 * time.Hour

const tokenPrefix = "v1."

var b64 = base64.RawURLEncoding

// signToken makes the token of visitorID issued at: the visitor id and
// the issue time, and an HMAC-SHA256 of both under the server's secret
// (cut to 128 bits, plenty against forgery).
func signToken(secret []byte, visitorID string, at time.Time) string {
	id, _ := uuidBytes(visitorID)
	payload := make([]byte, 0, 24)
	payload = append(payload, id[:]...)
	payload = binary.BigEndian.AppendUint64(payload, uint64(at.Unix()))
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(tokenPrefix))
	mac.Write(payload)
	return tokenPrefix + b64.EncodeToString(payload) + "." + b64.EncodeToString(mac.Sum(nil)[:16])
}

// parseToken returns the visitor id of a token signed with secret and
// issued within TokenLifetime before now.
func parseToken(secret []byte, token string, now time.Time) (string, error) {
	bad := kefu.Errorf(kefu.Unauthorized, "the visitor token is not valid; start a new session")
	rest, ok := strings.CutPrefix(token, tokenPrefix)
	if !ok {
		return "", bad
	}
	p64, s64, ok := strings.Cut(rest, ".")
	if !ok {
		return "", bad
	}
	payload, err1 := b64.DecodeString(p64)
	sig, err2 := b64.DecodeString(s64)
	if err1 != nil || err2 != nil || len(payload) != 24 || len(sig) != 16 {
		return "", bad
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(tokenPrefix))
	mac.Write(payload)
	if !hmac.Equal(mac.Sum(nil)[:16], sig) {
		return "", bad
	}
	issued := time.Unix(int64(binary.BigEndian.Uint64(payload[16:])), 0)
	if now.Sub(issued) > TokenLifetime || issued.After(now.Add(time.Hour)) {
		return "", kefu.Errorf(kefu.Unauthorized, "the visitor token has expired; start a new session")
	}
	return uuidString(payload[:16]), nil
}

// SignCustomer is the signature a shop sends with the id of a signed-in
// shopper: hex HMAC-SHA256 of the id under the identity secret. Shops
// compute the same (docs/chat.md has examples).
func SignCustomer(secret, customerID string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(customerID))
	return hex.EncodeToString(mac.Sum(nil))
}

func verifyCustomer(secret, customerID, signature string) bool {
	want, err := hex.DecodeString(SignCustomer(secret, customerID))
	got, err2 := hex.DecodeString(strings.TrimSpace(signature))
	return err == nil && err2 == nil && hmac.Equal(want, got)
}

// attachmentSig lets a visitor's browser load an image of its own
// conversation by URL (an <img> sends no Authorization header).
func attachmentSig(secret []byte, attachmentID, visitorID string) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("attachment\x00" + attachmentID + "\x00" + visitorID))
	return b64.EncodeToString(mac.Sum(nil)[:16])
}

func uuidBytes(id string) ([16]byte, bool) {
	var b [16]byte
	if !kefu.ValidID(id) {
		return b, false
	}
	raw, err := hex.DecodeString(strings.ReplaceAll(id, "-", ""))
	if err != nil || len(raw) != 16 {
		return b, false
	}
	copy(b[:], raw)
	return b, true
}

func uuidString(b []byte) string {
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func hmacEqual(a, b string) bool { return hmac.Equal([]byte(a), []byte(b)) }
