// Package emailtest has a mail transport for tests: it keeps what it is
// given instead of sending it.
package emailtest

import (
	"context"
	"sync"
	"testing"

	"github.com/kefu-desk/kefu/internal/email"
)

// Recorder is an email.Transport that keeps the mails it is given. It is
// safe for concurrent use: the job runner sends from its own goroutines.
type Recorder struct {
	mu   sync.Mutex
	sent []*email.Outgoing
	fail error
}

// Send keeps m, or returns the error set with Fail.
func (r *Recorder) Send(_ context.Context, _ *email.Mailbox, m *email.Outgoing) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.sent = append(r.sent, m)
	return nil
}

// Fail makes every later Send return err (nil: send again).
func (r *Recorder) Fail(err error) {
	r.mu.Lock()
	r.fail = err
	r.mu.Unlock()
}

// Sent returns the mails kept so far, oldest first.
func (r *Recorder) Sent() []*email.Outgoing {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*email.Outgoing(nil), r.sent...)
}

// Last returns the mail kept last; t fails at once if there is none.
func (r *Recorder) Last(t testing.TB) *email.Outgoing {
	t.Helper()
	sent := r.Sent()
	if len(sent) == 0 {
		t.Fatal("no mail sent")
	}
	return sent[len(sent)-1]
}
