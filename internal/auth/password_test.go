package auth_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/kefu-desk/kefu/internal/auth"
)

func TestHashAndCheckPassword(t *testing.T) {
	p := auth.TestParams
	h, err := auth.HashPassword("correct horse battery", p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") || strings.Count(h, "$") != 5 {
		t.Fatalf("hash %q is not a PHC argon2id string", h)
	}
	h2, _ := auth.HashPassword("correct horse battery", p)
	if h == h2 {
		t.Error("two hashes of one password are equal: salt not random")
	}

	stronger := p
	stronger.Iterations = 2
	for _, tc := range []struct {
		name       string
		password   string
		want       auth.Params
		ok, rehash bool
	}{
		{"right password", "correct horse battery", p, true, false},
		{"wrong password", "correct horse batterz", p, false, false},
		{"empty password", "", p, false, false},
		{"right password, parameters raised since", "correct horse battery", stronger, true, true},
		{"wrong password never asks for a rehash", "nope", stronger, false, false},
	} {
		ok, rehash, err := auth.CheckPassword(tc.password, h, tc.want)
		if err != nil || ok != tc.ok || rehash != tc.rehash {
			t.Errorf("%s: ok %v rehash %v err %v, want ok %v rehash %v", tc.name, ok, rehash, err, tc.ok, tc.rehash)
		}
	}

	// A hash made with other parameters is checked with its own.
	old, _ := auth.HashPassword("old secret pass", stronger)
	if ok, rehash, err := auth.CheckPassword("old secret pass", old, p); !ok || !rehash || err != nil {
		t.Errorf("older-parameter hash: ok %v rehash %v err %v", ok, rehash, err)
	}

	for _, bad := range []string{"", "plain", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=18$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=64,t=1,p=1$!!$aGFzaGhhc2hoYXNoaGFzaA"} {
		if _, _, err := auth.CheckPassword("x", bad, p); !errors.Is(err, auth.ErrMalformedHash) {
			t.Errorf("CheckPassword(%q) error = %v, want ErrMalformedHash", bad, err)
		}
	}
}

func TestDefaultParamsStayAffordable(t *testing.T) {
	p := auth.DefaultParams
	if p.Memory > 64*1024 {
		t.Errorf("DefaultParams.Memory = %d KiB, over the 64 MiB budget", p.Memory)
	}
}

func BenchmarkHashDefault(b *testing.B) {
	for b.Loop() {
		auth.HashPassword("correct horse battery", auth.DefaultParams)
	}
}
