package ratelimit_test

import (
	"testing"
	"time"

	"github.com/kefu-desk/kefu/internal/ratelimit"
)

// A key gets its burst, then one token per interval; another key is not
// affected; a refused try costs nothing and says when to come back.
func TestKeyed(t *testing.T) {
	k := ratelimit.New(ratelimit.Every(time.Minute), 3)
	now := time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC)
	for i := range 3 {
		if !k.Allow("198.51.100.7", now) {
			t.Fatalf("try %d of the burst refused", i+1)
		}
	}
	ok, next := k.Take("198.51.100.7", now)
	if ok || !next.Equal(now.Add(time.Minute)) {
		t.Fatalf("over the burst: %v, next %v", ok, next)
	}
	if !k.Allow("198.51.100.8", now) {
		t.Fatal("another key was refused")
	}
	if k.Allow("198.51.100.7", now.Add(59*time.Second)) {
		t.Fatal("a token before the interval")
	}
	if !k.Allow("198.51.100.7", now.Add(time.Minute)) {
		t.Fatal("no token after the interval; a refused try must not have cost one")
	}
	// Long idle: the bucket is forgotten and comes back full.
	later := now.Add(time.Hour)
	for i := range 3 {
		if !k.Allow("198.51.100.7", later) {
			t.Fatalf("after an hour, try %d refused", i+1)
		}
	}
}
