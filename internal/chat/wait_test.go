package chat

import (
	"testing"
	"time"
)

func TestEstimateWait(t *testing.T) {
	at := func(min int) time.Time { return time.Date(2026, 3, 3, 10, min, 0, 0, time.UTC) }
	m := time.Minute
	tests := []struct {
		name     string
		samples  []waitSample
		position int
		want     time.Duration
		known    bool
	}{
		{"no accepts yet", nil, 1, 0, false},
		{"one accept scales with the position", []waitSample{{2 * m, at(0)}}, 3, 6 * m, true},
		{"next in line waits the median", []waitSample{{1 * m, at(0)}, {3 * m, at(2)}, {10 * m, at(4)}}, 1, 3 * m, true},
		{"each one ahead adds an interval", []waitSample{{1 * m, at(0)}, {3 * m, at(2)}, {10 * m, at(4)}}, 4, 3*m + 3*2*m, true},
		{"even count: mean of the middle two", []waitSample{{1 * m, at(0)}, {3 * m, at(1)}}, 1, 2 * m, true},
		{"accepts at one instant: no interval", []waitSample{{2 * m, at(5)}, {2 * m, at(5)}}, 2, 4 * m, true},
		{"clock skew never gives a negative wait", []waitSample{{-5 * m, at(0)}}, 1, 0, true},
	}
	for _, tt := range tests {
		got, known := estimateWait(tt.samples, tt.position)
		if got != tt.want || known != tt.known {
			t.Errorf("%s: got %v %v; want %v %v", tt.name, got, known, tt.want, tt.known)
		}
	}
}

func TestTokens(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	now := time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)
	id := "0195f0c1-7b7e-7a3e-9c1d-2f4b5a6c7d8e"
	tok := signToken(secret, id, now)
	if got, err := parseToken(secret, tok, now.Add(time.Hour)); err != nil || got != id {
		t.Fatalf("parse = %q, %v", got, err)
	}
	for name, bad := range map[string]string{
		"other secret": signToken([]byte("another secret entirely........."), id, now),
		"truncated":    tok[:len(tok)-3],
		"no prefix":    tok[3:],
		"empty":        "",
	} {
		if _, err := parseToken(secret, bad, now); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := parseToken(secret, tok, now.Add(TokenLifetime+time.Second)); err == nil {
		t.Error("expired token accepted")
	}
	// The signature shops compute: HMAC-SHA256 hex, as in docs/chat.md.
	// echo -n 10086 | openssl dgst -sha256 -hmac s3cr3t
	if got := SignCustomer("s3cr3t", "10086"); got != "b52338ca7b80cd5966a92a5a6931f6be659169b2263a7c5ff796eefbc6a00885" {
		t.Fatalf("signature %q", got)
	}
	if !verifyCustomer("s3cr3t", "10086", SignCustomer("s3cr3t", "10086")) || verifyCustomer("s3cr3t", "10087", SignCustomer("s3cr3t", "10086")) {
		t.Fatal("verifyCustomer")
	}
}

func TestSniff(t *testing.T) {
	for want, head := range map[string]string{
		"image/jpeg":      "\xFF\xD8\xFF\xE0rest",
		"image/png":       "\x89PNG\r\n\x1a\nrest",
		"image/gif":       "GIF89a...",
		"image/webp":      "RIFF\x00\x00\x00\x00WEBPVP8 ",
		"application/pdf": "%PDF-1.7",
		"":                "<html><script>",
	} {
		if got := sniff([]byte(head)); got != want {
			t.Errorf("sniff(%q) = %q; want %q", head, got, want)
		}
	}
}
