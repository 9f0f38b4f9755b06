package main

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ProxyConfig names the reverse proxies in front of Kefu. Without it the
// client of a request is its connection's address; behind a proxy that
// is the proxy's, and every visitor would share one per-address limit.
type ProxyConfig struct {
	TrustedProxies []string `help:"Addresses or CIDR ranges of reverse proxies in front of Kefu; for requests through them the client is the last address in X-Forwarded-For not itself a trusted proxy (per-address limits, sign-in throttling)." env:"KEFU_TRUSTED_PROXIES" sep:"," placeholder:"CIDR"`
}

func (c ProxyConfig) prefixes() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range c.TrustedProxies {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !strings.Contains(s, "/") {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("--trusted-proxies: %q is not an address or CIDR range", s)
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("--trusted-proxies: %q is not an address or CIDR range", s)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// fromProxies sets a request's RemoteAddr to its client's address when it
// came through trusted proxies. X-Forwarded-For is read from the right:
// each proxy appends the address it received from, so the first address
// from the right that is not a trusted proxy is the client (anything to
// its left was written by the client itself and proves nothing).
func fromProxies(trusted []netip.Prefix, next http.Handler) http.Handler {
	if len(trusted) == 0 {
		return next
	}
	isTrusted := func(a netip.Addr) bool {
		a = a.Unmap()
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		peer, err := netip.ParseAddrPort(r.RemoteAddr)
		if err != nil || !isTrusted(peer.Addr()) {
			next.ServeHTTP(w, r)
			return
		}
		var hops []string
		for _, h := range r.Header.Values("X-Forwarded-For") {
			hops = append(hops, strings.Split(h, ",")...)
		}
		for i := len(hops) - 1; i >= 0; i-- {
			a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break // a garbled hop: trust nothing beyond it
			}
			if !isTrusted(a) {
				r2 := r.Clone(r.Context())
				r2.RemoteAddr = net.JoinHostPort(a.Unmap().String(), "0")
				next.ServeHTTP(w, r2)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
