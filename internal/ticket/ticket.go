// Package ticket keeps every contact with a customer as a ticket: its
// messages and attachments, category, priority, status, assignee,
// department, tags and custom fields, and the rules by which its status
// may change. It also assembles a customer's service file.
package ticket

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Status is where a ticket is in its life.
type Status string

const (
	New             Status = "new"
	Open            Status = "open"
	PendingCustomer Status = "pending_customer"
	PendingInternal Status = "pending_internal"
	Solved          Status = "solved"
	Closed          Status = "closed"
)

// Statuses lists every status in lifecycle order.
var Statuses = []Status{New, Open, PendingCustomer, PendingInternal, Solved, Closed}

// transitions says which statuses a ticket may move to from each status.
// Nothing returns to new; a closed ticket is final (a customer writing
// again gets a follow-up ticket linked to it), a solved one may reopen.
var transitions = map[Status][]Status{
	New:             {Open, PendingCustomer, PendingInternal, Solved, Closed},
	Open:            {PendingCustomer, PendingInternal, Solved, Closed},
	PendingCustomer: {Open, PendingInternal, Solved, Closed},
	PendingInternal: {Open, PendingCustomer, Solved, Closed},
	Solved:          {Open, Closed},
	Closed:          {},
}

// CanMove reports whether from → to is allowed, and why not.
func CanMove(from, to Status) (bool, string) {
	if from == to {
		return true, ""
	}
	if slices.Contains(transitions[from], to) {
		return true, ""
	}
	if from == Closed {
		return false, "a closed ticket cannot change status; a new message from the customer opens a follow-up ticket"
	}
	return false, fmt.Sprintf("cannot move from %s to %s", from, to)
}

// Priority orders work.
type Priority string

// Priorities from least to most urgent.
const (
	Low    Priority = "low"
	Normal Priority = "normal"
	High   Priority = "high"
	Urgent Priority = "urgent"
)

// Priorities lists every priority, least urgent first.
var Priorities = []Priority{Low, Normal, High, Urgent}

// Channels a ticket can arrive on.
var Channels = []string{"email", "chat", "web_form", "portal", "phone", "sms", "wechat", "api"}

// MessageKind says who wrote a message and who may see it.
type MessageKind string

const (
	FromCustomer MessageKind = "customer" // written by the customer
	Reply        MessageKind = "reply"    // public answer from staff
	Note         MessageKind = "note"     // internal, never shown to the customer
	Event        MessageKind = "event"    // a change Kefu records in the thread
)

// Ticket is one contact and everything done about it.
type Ticket struct {
	ID           string         `json:"id"`
	Number       int64          `json:"number"`
	Key          string         `json:"key" doc:"Human-friendly number such as KF-10234"`
	Subject      string         `json:"subject"`
	CustomerID   string         `json:"customer_id"`
	Channel      string         `json:"channel"`
	Category     string         `json:"category"`
	Priority     Priority       `json:"priority"`
	Status       Status         `json:"status"`
	AssigneeID   string         `json:"assignee_id"`
	DepartmentID string         `json:"department_id"`
	OrderNumber  string         `json:"order_number"`
	Tags         []string       `json:"tags"`
	CustomFields map[string]any `json:"custom_fields"`
	MergedInto   string         `json:"merged_into,omitempty"`
	FollowUpOf   string         `json:"follow_up_of,omitempty"`
	Version      int            `json:"version"`
	CreatedAt    time.Time      `json:"created_at"`
	UpdatedAt    time.Time      `json:"updated_at"`
	FirstReplyAt *time.Time     `json:"first_reply_at,omitempty"`
	SolvedAt     *time.Time     `json:"solved_at,omitempty"`
	ClosedAt     *time.Time     `json:"closed_at,omitempty"`
}

// KeyPrefix starts every ticket key.
const KeyPrefix = "KF-"

// Key formats a ticket number for people.
func Key(number int64) string { return KeyPrefix + strconv.FormatInt(number, 10) }

// ParseKey reads "KF-10234" (any case, or the bare number).
func ParseKey(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	if len(s) > len(KeyPrefix) && strings.EqualFold(s[:len(KeyPrefix)], KeyPrefix) {
		s = s[len(KeyPrefix):]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n > 0
}

// Message is one entry in a ticket's thread.
type Message struct {
	ID               string       `json:"id"`
	TicketID         string       `json:"ticket_id"`
	Kind             MessageKind  `json:"kind"`
	Channel          string       `json:"channel"`
	AuthorStaffID    string       `json:"author_staff_id,omitempty"`
	AuthorCustomerID string       `json:"author_customer_id,omitempty"`
	Text             string       `json:"text"`
	HTML             string       `json:"html,omitempty"`
	ProposesSolution bool         `json:"proposes_solution"`
	ExternalID       string       `json:"external_id,omitempty"`
	Automated        bool         `json:"automated" doc:"Written by a machine (an auto-reply); it resets no SLA clock and is never answered automatically"`
	Attachments      []Attachment `json:"attachments"`
	CreatedAt        time.Time    `json:"created_at"`
}

// Attachment describes a stored file; its content is fetched by id.
type Attachment struct {
	ID          string `json:"id"`
	MessageID   string `json:"message_id"`
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	Inline      bool   `json:"inline"`
	ContentID   string `json:"content_id,omitempty"`
}

// Limits bound what one message may carry.
type Limits struct {
	AttachmentBytes int64    // largest single attachment
	MessageBytes    int      // largest message text or HTML
	Attachments     int      // most attachments on one message
	DeniedTypes     []string // content types refused outright
}

// DefaultLimits suit photos of products and documents from customers.
var DefaultLimits = Limits{
	AttachmentBytes: 25 << 20,
	MessageBytes:    1 << 20,
	Attachments:     20,
	DeniedTypes: []string{"application/x-msdownload", "application/x-msdos-program", "application/x-sh",
		"application/x-executable", "application/vnd.microsoft.portable-executable"},
}

// CustomField is the definition of a typed field admins add to tickets.
type CustomField struct {
	Key      string   `json:"key"`
	LabelEn  string   `json:"label_en"`
	LabelZh  string   `json:"label_zh"`
	Type     string   `json:"type" enum:"text,number,date,select"`
	Options  []string `json:"options"`
	Position int      `json:"position"`
	Archived bool     `json:"archived"`
}

// Check converts a JSON value to the field's type, or says why it cannot.
func (f CustomField) Check(v any) (any, string) {
	if v == nil {
		return nil, ""
	}
	switch f.Type {
	case "text":
		s, ok := v.(string)
		if !ok {
			return nil, "must be text"
		}
		if len(s) > 10000 {
			return nil, "must be at most 10000 bytes"
		}
		return s, ""
	case "number":
		switch n := v.(type) {
		case float64:
			return n, ""
		case int:
			return float64(n), ""
		case int64:
			return float64(n), ""
		}
		return nil, "must be a number"
	case "date":
		s, ok := v.(string)
		if _, err := time.Parse(time.DateOnly, s); !ok || err != nil {
			return nil, "must be a date like 2025-10-08"
		}
		return s, ""
	case "select":
		s, ok := v.(string)
		if !ok || !slices.Contains(f.Options, s) {
			return nil, "must be one of " + strings.Join(f.Options, ", ")
		}
		return s, ""
	}
	return nil, "has an unknown type"
}

// Category is one entry of the editable list tickets are sorted by.
type Category struct {
	Key      string `json:"key"`
	NameEn   string `json:"name_en"`
	NameZh   string `json:"name_zh"`
	Position int    `json:"position"`
	Archived bool   `json:"archived"`
}

// NormalizeOrderNumber makes order numbers comparable however they were
// typed: trimmed, upper-cased, with a leading # dropped.
func NormalizeOrderNumber(s string) string {
	return strings.ToUpper(strings.TrimPrefix(strings.TrimSpace(s), "#"))
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// ETagVersion is the version an ETag of the ticket names.
func (t *Ticket) ETagVersion() int { return t.Version }
