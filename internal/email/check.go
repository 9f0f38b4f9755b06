package email

import (
	"context"
	"time"
)

// Check is the result of trying a mailbox's servers.
type Check struct {
	IMAP CheckResult `json:"imap"`
	SMTP CheckResult `json:"smtp"`
}

// CheckResult says whether one server accepted Kefu, and if not, why.
type CheckResult struct {
	Configured bool   `json:"configured"`
	OK         bool   `json:"ok"`
	Error      string `json:"error,omitempty"`
}

// CheckMailbox logs in to the mailbox's IMAP server (and opens its
// folder) and says EHLO to its SMTP server (with STARTTLS and
// authentication as configured), within timeout, and reports each.
func CheckMailbox(ctx context.Context, mb *Mailbox, dial Dialer, timeout time.Duration) Check {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var c Check
	if mb.IMAP.Host != "" && dial != nil {
		c.IMAP.Configured = true
		f, err := dial(ctx, mb)
		if err == nil {
			_, err = f.Select(ctx, mb.IMAP.Folder)
			f.Close()
		}
		c.IMAP.OK, c.IMAP.Error = err == nil, errString(err)
	}
	if mb.SMTP.Host != "" {
		c.SMTP.Configured = true
		err := SMTP{Timeout: timeout}.Check(ctx, mb)
		c.SMTP.OK, c.SMTP.Error = err == nil, errString(err)
	}
	return c
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
