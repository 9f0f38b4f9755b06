package email

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/jobs"
)

// Poller imports mail from every enabled mailbox with an IMAP server. Each
// mailbox is polled under its own cluster lease, so one instance polls it
// at a time; between polls it waits in IDLE where the server offers it,
// so new mail arrives within seconds.
type Poller struct {
	Mailboxes *Mailboxes
	Inbound   *Inbound
	Leases    *jobs.Leases
	// Dial connects to a mailbox; default DialIMAP.
	Dial Dialer
	// Every is the poll interval without IDLE; default one minute.
	Every time.Duration
	// IdleFor is how long one run waits in IDLE for new mail before
	// letting the lease go round; default ten minutes, negative disables.
	IdleFor time.Duration
	Log     *slog.Logger
}

func (p *Poller) log() *slog.Logger {
	if p.Log == nil {
		return slog.Default()
	}
	return p.Log
}

func (p *Poller) dial() Dialer {
	if p.Dial == nil {
		return DialIMAP
	}
	return p.Dial
}

// Run polls until ctx ends, picking up added, changed and removed
// mailboxes every refresh.
func (p *Poller) Run(ctx context.Context, refresh time.Duration) {
	every := p.Every
	if every == 0 {
		every = time.Minute
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	type turn struct {
		stop    context.CancelFunc
		version int
	}
	running := map[string]turn{}
	t := time.NewTicker(refresh)
	defer t.Stop()
	for {
		boxes, err := p.Mailboxes.List(ctx)
		if err != nil && ctx.Err() == nil {
			p.log().Warn("imap: list mailboxes", "err", err)
		}
		want := map[string]int{}
		for _, mb := range boxes {
			if mb.Enabled && mb.IMAP.Host != "" {
				want[mb.ID] = mb.Version
			}
		}
		// Removed, disabled or changed mailboxes stop (a changed one
		// restarts below with its new settings).
		for id, r := range running {
			if v, ok := want[id]; !ok || v != r.version {
				r.stop()
				delete(running, id)
			}
		}
		for id, version := range want {
			if _, ok := running[id]; ok {
				continue
			}
			mctx, stop := context.WithCancel(ctx)
			running[id] = turn{stop, version}
			wg.Add(1)
			go func() {
				defer wg.Done()
				p.Leases.Every(mctx, "email.imap:"+id, every, func(ctx context.Context) error { return p.run(ctx, id) })
			}()
		}
		select {
		case <-ctx.Done():
			for _, r := range running {
				r.stop()
			}
			return
		case <-t.C:
		}
	}
}

// run is one turn under the lease: connect, import, then IDLE and import
// again as mail arrives, for up to IdleFor.
func (p *Poller) run(ctx context.Context, id string) error {
	mb, err := p.Mailboxes.Get(ctx, id)
	if kefu.IsCode(err, kefu.NotFound) {
		return nil
	}
	if err != nil || !mb.Enabled || mb.IMAP.Host == "" {
		return err
	}
	f, err := p.dial()(ctx, mb)
	if err != nil {
		p.Mailboxes.savePosition(context.WithoutCancel(ctx), mb, mb.UIDValidity, mb.LastUID, err.Error())
		return err
	}
	defer f.Close()
	idleFor := p.IdleFor
	if idleFor == 0 {
		idleFor = 10 * time.Minute
	}
	until := time.Now().Add(idleFor)
	for {
		if _, err := p.Import(ctx, mb, f); err != nil {
			return err
		}
		left := time.Until(until)
		if idleFor < 0 || left <= 0 {
			return nil
		}
		if err := f.Wait(ctx, left); err != nil {
			if errors.Is(err, errNoIdle) || ctx.Err() != nil {
				return nil
			}
			return err
		}
		if mb, err = p.Mailboxes.Get(ctx, id); err != nil {
			return err
		}
	}
}

// Import fetches the folder's new messages one by one, oldest first, and
// stores each before it flags or moves it on the server and records its
// UID: a crash at any point leaves the message to be fetched again, and
// the inbound log makes that fetch a duplicate, not a second message.
func (p *Poller) Import(ctx context.Context, mb *Mailbox, f Folder) (n int, err error) {
	validity, err := f.Select(ctx, mb.IMAP.Folder)
	if err != nil {
		p.Mailboxes.savePosition(context.WithoutCancel(ctx), mb, mb.UIDValidity, mb.LastUID, err.Error())
		return 0, err
	}
	last := mb.LastUID
	if validity != mb.UIDValidity {
		// The folder was recreated: its UIDs mean nothing now. Start over;
		// Message-IDs keep what was imported from coming in twice.
		last = 0
	}
	uids, err := f.UIDsAfter(ctx, last)
	if err != nil {
		p.Mailboxes.savePosition(context.WithoutCancel(ctx), mb, validity, last, err.Error())
		return 0, err
	}
	moveTo := ""
	if mb.IMAP.AfterImport == "move" {
		moveTo = mb.IMAP.MoveTo
	}
	problem := ""
	for _, uid := range uids {
		var rec *Received
		err := f.Fetch(ctx, uid, func(r io.Reader) error {
			var err error
			rec, err = p.Inbound.Receive(ctx, Delivery{MailboxID: mb.ID, Source: "imap"}, r)
			return err
		})
		switch {
		case kefu.IsCode(err, kefu.TooLarge), kefu.IsCode(err, kefu.Invalid):
			// It can never be stored: leave it on the server, untouched,
			// and go past it.
			problem = err.Error()
			p.log().Warn("imap: message skipped", "mailbox", mb.Address, "uid", uid, "err", err)
		case err != nil:
			p.Mailboxes.savePosition(context.WithoutCancel(ctx), mb, validity, last, err.Error())
			return n, err
		default:
			if err := f.Done(ctx, uid, moveTo); err != nil {
				p.Mailboxes.savePosition(context.WithoutCancel(ctx), mb, validity, last, err.Error())
				return n, err
			}
			n++
			p.log().Info("mail received", "via", "imap", "mailbox", mb.Address, "uid", uid, "outcome", rec.Outcome, "ticket", rec.TicketID)
		}
		last = uid
		if err := p.Mailboxes.savePosition(ctx, mb, validity, last, problem); err != nil {
			return n, err
		}
	}
	if len(uids) == 0 || validity != mb.UIDValidity {
		err = p.Mailboxes.savePosition(ctx, mb, validity, last, problem)
	}
	mb.UIDValidity, mb.LastUID = validity, last
	return n, err
}
