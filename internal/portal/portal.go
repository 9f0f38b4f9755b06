// Package portal is the customer's side of Kefu outside chat: the contact
// form that opens a ticket, and the portal where customers follow their
// requests. Customers sign in without a password — a one-time code or
// link sent to an email address or phone number on file, or an order
// number with an email address for access to that one request — and may
// list their tickets, read the public messages, reply, add photos and see
// the status and the next promised contact in plain terms.
//
// What a customer may see is decided here and again in internal/ticket,
// which scopes a customer actor to their own tickets and public messages:
// a mistake in one layer does not show a note or another customer's
// ticket.
package portal

import (
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/auth"
	"github.com/kefu-desk/kefu/internal/customer"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/email"
	"github.com/kefu-desk/kefu/internal/jobs"
	"github.com/kefu-desk/kefu/internal/sla"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// Service runs the contact form and the portal. Register it as a ticket
// hook: acknowledgements are enqueued in the transaction of the ticket
// they acknowledge.
type Service struct {
	DB        *database.DB
	Now       func() time.Time
	Tickets   *ticket.Service
	Customers *customer.Service
	// Mail sends acknowledgements and sign-in codes through the outbound
	// mail queue.
	Mail *email.Outbound
	// Jobs records text messages for an SMS gateway (SMSKind).
	Jobs *jobs.Queue
	// SLA, when set, gives the next promised contact; without it the
	// portal shows the status alone.
	SLA *sla.Service
	// Hashes keeps sign-in codes as argon2id hashes, at the cost and
	// under the memory bound of staff passwords.
	Hashes *auth.Service
	// PublicURL is the address customers reach Kefu at (https://help.shop.example),
	// for links in mails and text messages. Without it they carry the
	// code and the ticket number only: a link built from a request's Host
	// header could point a customer's sign-in link at someone else's site.
	PublicURL string
	Limits    Limits

	limiters *limiters
}

// Limits bound what customers and anonymous visitors may do.
type Limits struct {
	CodeTTL      time.Duration // how long a code or link is good for
	CodeAttempts int           // wrong codes before a code is dead
	CodesPerHour int           // codes sent to one address in an hour
	// FailuresPerHour is how many failed sign-ins (wrong codes, order
	// numbers that match nothing) one network address or one email
	// address may have in an hour, across every instance.
	FailuresPerHour int
	SessionTTL      time.Duration // a session's longest life
	SessionIdle     time.Duration // a session unused this long ends
	OrderSessionTTL time.Duration // a session for one request, opened with an order number
	Photos          int           // photos on one submission or reply
	PhotoBytes      int64         // largest photo
	TextBytes       int           // longest description or reply
	// Per network address, per instance: a token bucket refilled every
	// SubmitEvery holding SubmitBurst submissions of the contact form and
	// replies, and one for sign-in attempts.
	SubmitEvery time.Duration
	SubmitBurst int
	SignInEvery time.Duration
	SignInBurst int
}

// DefaultLimits suit a shop's customers on phones: codes good for fifteen
// minutes and five tries, a day's session, photos as phones take them.
var DefaultLimits = Limits{
	CodeTTL:         15 * time.Minute,
	CodeAttempts:    5,
	CodesPerHour:    5,
	FailuresPerHour: 20,
	SessionTTL:      24 * time.Hour,
	SessionIdle:     2 * time.Hour,
	OrderSessionTTL: 2 * time.Hour,
	Photos:          6,
	PhotoBytes:      10 << 20,
	TextBytes:       20000,
	SubmitEvery:     2 * time.Minute,
	SubmitBurst:     5,
	SignInEvery:     20 * time.Second,
	SignInBurst:     10,
}

func (s *Service) limits() Limits {
	if s.Limits.CodeTTL == 0 {
		return DefaultLimits
	}
	return s.Limits
}

// LimitsInUse are the limits the service applies, for forms that state
// them (how many photos, how large).
func (s *Service) LimitsInUse() Limits { return s.limits() }

// formActor is who opens a ticket from the contact form: the customer is
// not known until the ticket resolves them, and the audit trail should
// name the form rather than an anonymous system.
var formActor = kefu.Actor{Kind: kefu.ActorSystem, ID: "contact_form", Name: "Contact form"}

// Stage is a ticket's status as a customer is told it: whether anything
// is internal is none of their business, only whose turn it is.
type Stage string

const (
	Received     Stage = "received"       // new: nobody has answered yet
	InProgress   Stage = "in_progress"    // open, or waiting on the shop's own people
	WaitingOnYou Stage = "waiting_on_you" // the shop asked the customer something
	Resolved     Stage = "solved"         // solved; a reply reopens it
	Finished     Stage = "closed"         // closed; writing again opens a follow-up
)

// StageOf is the stage a customer sees for status st.
func StageOf(st ticket.Status) Stage {
	switch st {
	case ticket.New:
		return Received
	case ticket.PendingCustomer:
		return WaitingOnYou
	case ticket.Solved:
		return Resolved
	case ticket.Closed:
		return Finished
	}
	return InProgress
}
