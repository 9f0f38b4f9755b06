// Package chat is the live chat of a shop's website: visitors, their
// conversations and the numbered events a chat stream shows.
//
// A chat is a ticket on the "chat" channel, made and changed through
// internal/ticket like any other (SLA, notes, transfer, solving). This
// package adds what a ticket lacks: who the visitor is (a signed token),
// where the conversation stands (offline, queued, active, ended), and a
// numbered list of events per conversation. The Service is a ticket hook:
// every message and change of a chat ticket becomes the conversation's
// next event in the same transaction, and a notice of its number goes to
// every instance over internal/events. A stream that drops and comes back
// with the last number it saw reads the events after it from the
// database, so it misses nothing whichever instance it reconnects to.
package chat

import (
	"sort"
	"time"

	"github.com/kefu-desk/kefu/internal/ticket"
)

// State is where a conversation stands.
type State string

const (
	// Offline: the visitor left a message when nobody could chat; it is a
	// ticket answered by email.
	Offline State = "offline"
	Queued  State = "queued" // waiting for an agent to accept it
	Active  State = "active" // an agent has it
	Ended   State = "ended"  // the agent or the visitor ended it; writing again reopens it
)

// Event kinds, as stored.
const (
	KindMessage = "message" // a message of the ticket's thread
	KindState   = "state"   // the conversation changed state (accepted, transferred, ended)
	KindRead    = "read"    // the visitor or the agents read up to a number
	KindChanged = "changed" // the ticket changed otherwise (console only)
)

// Bus kinds on the events.Chat topic. Only busStored names a stored
// event; the others are notices nobody replays.
const (
	busStored  = "e"       // Conv and Seq name a stored event
	busTyping  = "typing"  // By ("visitor" or a staff id) is typing (Detail "on") or stopped ("off")
	busQueue   = "queue"   // the queue changed: positions and counts move
	busVisitor = "visitor" // the visitor's stream opened (Detail "on") or closed ("off")
)

// ByVisitor is who reads or types when it is the visitor.
const ByVisitor = "visitor"

// Visitor is someone chatting from the shop's website.
type Visitor struct {
	ID             string `json:"id"`
	ShopCustomerID string `json:"shop_customer_id,omitempty"`
	CustomerID     string `json:"customer_id,omitempty"`
	Name           string `json:"name"`
	Email          string `json:"email"`
	Phone          string `json:"phone"`
	Language       string `json:"language"`
}

// Conversation is a visitor's chat.
type Conversation struct {
	ID             string     `json:"id"`
	VisitorID      string     `json:"visitor_id"`
	TicketID       string     `json:"ticket_id"`
	TicketKey      string     `json:"ticket_key"`
	State          State      `json:"state"`
	AgentID        string     `json:"agent_id,omitempty"`
	LastSeq        int64      `json:"last_seq"`
	VisitorSeq     int64      `json:"visitor_seq" doc:"The number of the visitor's newest message"`
	VisitorReadSeq int64      `json:"visitor_read_seq"`
	AgentReadSeq   int64      `json:"agent_read_seq"`
	QueuedAt       *time.Time `json:"queued_at,omitempty"`
	PageURL        string     `json:"page_url,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

// Unread reports whether the visitor wrote something no agent has read.
func (c *Conversation) Unread() bool { return c.VisitorSeq > c.AgentReadSeq }

// Event is one numbered entry of a conversation.
type Event struct {
	Seq     int64           `json:"seq"`
	Kind    string          `json:"kind"`
	Public  bool            `json:"-"`
	Data    EventData       `json:"data"`
	At      time.Time       `json:"at"`
	Message *ticket.Message `json:"message,omitempty"`
	// Author is the name of the staff member who wrote Message, if one did.
	Author string `json:"author,omitempty"`
}

// EventData is what a state or read event says.
type EventData struct {
	State     State  `json:"state,omitempty"`
	Agent     string `json:"agent,omitempty"`      // staff id
	AgentName string `json:"agent_name,omitempty"` // as it was at the time
	By        string `json:"by,omitempty"`         // read: ByVisitor or a staff id
	Read      int64  `json:"read,omitempty"`       // read: up to this number
}

// QueueItem is a chat waiting for an agent, as the console lists it.
type QueueItem struct {
	Conversation
	Position     int    `json:"position"`
	CustomerName string `json:"customer_name"`
	Subject      string `json:"subject"`
	OrderNumber  string `json:"order_number"`
	DepartmentID string `json:"department_id"`
}

// Position is where a queued conversation stands, as its visitor sees it.
type Position struct {
	Position int `json:"position"`
	// Wait is the expected wait; zero with Known false when there is no
	// recent accept to estimate it from.
	Wait  time.Duration `json:"-"`
	Known bool          `json:"-"`
}

// waitSample is one recent accept: how long that chat waited, and when.
type waitSample struct {
	Waited     time.Duration
	AcceptedAt time.Time
}

// estimateWait is the expected wait of the chat at position (1 = next):
// the median wait of recent accepts, plus the mean interval between
// accepts for each chat ahead. The median answers "how long does the
// next one wait now"; the interval is how fast the queue moves. With a
// single sample the interval is unknown and its wait is scaled by the
// position; with none there is no estimate.
func estimateWait(samples []waitSample, position int) (time.Duration, bool) {
	if len(samples) == 0 || position < 1 {
		return 0, false
	}
	waits := make([]time.Duration, len(samples))
	first, last := samples[0].AcceptedAt, samples[0].AcceptedAt
	for i, s := range samples {
		waits[i] = max(s.Waited, 0)
		if s.AcceptedAt.Before(first) {
			first = s.AcceptedAt
		}
		if s.AcceptedAt.After(last) {
			last = s.AcceptedAt
		}
	}
	sort.Slice(waits, func(i, j int) bool { return waits[i] < waits[j] })
	median := waits[len(waits)/2]
	if len(waits)%2 == 0 {
		median = (waits[len(waits)/2-1] + waits[len(waits)/2]) / 2
	}
	if len(samples) == 1 || !last.After(first) {
		return median * time.Duration(position), true
	}
	interval := last.Sub(first) / time.Duration(len(samples)-1)
	return median + interval*time.Duration(position-1), true
}
