package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestFromProxies(t *testing.T) {
	trusted, err := ProxyConfig{TrustedProxies: []string{"10.0.0.0/8", "192.0.2.7"}}.prefixes()
	if err != nil {
		t.Fatal(err)
	}
	var got string
	h := fromProxies(trusted, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.RemoteAddr }))
	for _, tt := range []struct {
		name, peer, xff, want string
	}{
		{"direct client", "203.0.113.9:5000", "", "203.0.113.9:5000"},
		{"an untrusted peer's header is ignored", "203.0.113.9:5000", "198.51.100.1", "203.0.113.9:5000"},
		{"through one proxy", "192.0.2.7:443", "198.51.100.1", "198.51.100.1:0"},
		{"through two proxies", "10.1.2.3:443", "198.51.100.1, 10.9.9.9", "198.51.100.1:0"},
		{"a client's forged hops are ignored", "10.1.2.3:443", "1.1.1.1, 198.51.100.1", "198.51.100.1:0"},
		{"several header lines", "10.1.2.3:443", "198.51.100.1\n10.9.9.9", "198.51.100.1:0"},
		{"only proxies: the peer", "10.1.2.3:443", "10.9.9.9", "10.1.2.3:443"},
		{"a garbled hop stops the walk", "10.1.2.3:443", "198.51.100.1, garbage", "10.1.2.3:443"},
		{"IPv6 client", "10.1.2.3:443", "2001:db8::1", "[2001:db8::1]:0"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tt.peer
		if tt.xff != "" {
			for _, v := range strings.Split(tt.xff, "\n") {
				r.Header.Add("X-Forwarded-For", v)
			}
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
		if got != tt.want {
			t.Errorf("%s: client %q, want %q", tt.name, got, tt.want)
		}
	}
	if _, err := (ProxyConfig{TrustedProxies: []string{"not-an-ip"}}).prefixes(); err == nil {
		t.Error("a bad range was accepted")
	}
}
