package email

import (
	"context"
	"errors"
	"io"
	"time"
)

// Folder is what the poller needs of an IMAP server, so go-imap stays
// behind one small interface (and a test can stand in for a server).
type Folder interface {
	// Select opens the folder and returns its UIDVALIDITY.
	Select(ctx context.Context, name string) (uidValidity uint32, err error)
	// UIDsAfter lists the UIDs above after, ascending.
	UIDsAfter(ctx context.Context, after uint32) ([]uint32, error)
	// Fetch streams one message to fn without marking it read.
	Fetch(ctx context.Context, uid uint32, fn func(io.Reader) error) error
	// Done marks a stored message read, or moves it to moveTo if set.
	Done(ctx context.Context, uid uint32, moveTo string) error
	// Wait returns when the folder may have new mail (IDLE) or after max;
	// errNoIdle when the server cannot tell.
	Wait(ctx context.Context, max time.Duration) error
	Close() error
}

// Dialer connects and logs in to a mailbox's IMAP server.
type Dialer func(ctx context.Context, mb *Mailbox) (Folder, error)

var errNoIdle = errors.New("email: the IMAP server does not offer IDLE")
