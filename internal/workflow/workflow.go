// Package workflow runs after-sales chains: a request goes from stage to
// stage (customer service → warehouse inspection → after-sales appraisal
// → …), each stage owned by a department, with its own deadline on the
// ticket's business calendar, the decisions possible there and where
// each one leads. Chains are data (Document), edited by administrators,
// imported and exported as JSON, validated before they are stored and
// versioned: a running instance keeps the version it started with.
//
// Layout: workflow.go (the document), validate.go (its rules), defaults.go
// (the seed chains), diagram.go (SVG), store.go (SQL), service.go
// (definitions), instance.go (running chains), access.go (who may act and
// what they see), deadline.go (stage deadlines through internal/sla) and
// customer.go (what the customer is told).
package workflow

import (
	"slices"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/sla"
)

// Text is a phrase in the languages Kefu speaks, by language tag ("en",
// "zh-CN"). English is required; a language without an entry reads the
// English one.
type Text map[string]string

// Languages are the tags a Text may hold.
var Languages = []string{"en", "zh-CN"}

// In returns the phrase in lang, else in English.
func (t Text) In(lang string) string {
	if s := t[lang]; s != "" {
		return s
	}
	return t["en"]
}

// DecisionKind names what a decision does with the request.
type DecisionKind string

// The decisions a stage may offer.
const (
	Approve   DecisionKind = "approve"   // the stage's check passed: on to the next stage, or end approved
	Reject    DecisionKind = "reject"    // the claim is refused: end rejected, or to a stage that tells the customer
	Forward   DecisionKind = "forward"   // hand on to another department
	Return    DecisionKind = "return"    // back to the stage the request came from (or a named one)
	Arbitrate DecisionKind = "arbitrate" // send to arbitration
	Close     DecisionKind = "close"     // settled: end
)

// DecisionKinds lists every decision kind.
var DecisionKinds = []DecisionKind{Approve, Reject, Forward, Return, Arbitrate, Close}

// Outcome is how an instance ended.
type Outcome string

// Outcomes.
const (
	Resolved Outcome = "resolved" // settled with the customer
	Approved Outcome = "approved" // the claim was upheld
	Rejected Outcome = "rejected" // the claim was refused
)

// Outcomes lists every outcome.
var Outcomes = []Outcome{Resolved, Approved, Rejected}

// What a stage's staff may see of the customer and the request, beyond
// the ticket's subject and the chain's own history.
const (
	SeeConversation = "conversation" // the public messages with the customer
	SeeItems        = "items"        // the order's items (SKU, name, quantity)
	SeePhotos       = "photos"       // pictures the customer sent
	SeeBilling      = "billing"      // amounts: order total, paid, payment method, the case's claim
	SeeContact      = "contact"      // the customer's name, email and phone unmasked
)

// Sights lists what a stage may show.
var Sights = []string{SeeConversation, SeeItems, SeePhotos, SeeBilling, SeeContact}

// Case kinds an entry condition may name (internal/aftersales).
var CaseKinds = []string{"return", "exchange", "repair", "refund_only", "complaint"}

// Field types of a stage's results.
const (
	FieldText   = "text"
	FieldNumber = "number"
	FieldChoice = "choice"
)

// Document is a chain as administrators write, import and export it.
type Document struct {
	// Key names the chain across versions and installations ("quality").
	Key         string `json:"key" doc:"Lower-case letters, digits, - and _; stays the same across versions"`
	Name        Text   `json:"name" doc:"By language: {\"en\": …, \"zh-CN\": …}; en is required"`
	Description Text   `json:"description,omitempty"`
	// Position orders chains when one is chosen by its entry conditions:
	// the first enabled chain whose conditions hold.
	Position int   `json:"position" required:"false"`
	Disabled bool  `json:"disabled,omitempty" doc:"A disabled chain starts no new instances; running ones go on"`
	Entry    Entry `json:"entry" required:"false"`
	// Calendar names the business calendar stage deadlines count in when
	// the ticket has no SLA policy (whose calendar comes first).
	Calendar string `json:"calendar,omitempty" doc:"Calendar name, for tickets no SLA policy governs"`
	// MinProgressUpdates is how many progress feedbacks (public replies)
	// the customer should have had when the chain ends; the ticket's SLA
	// policy's minimum wins when it has one.
	MinProgressUpdates int `json:"min_progress_updates,omitempty" minimum:"0" maximum:"100"`
	// Escalation is the ladder above a stage's own department: when a
	// stage is still overdue AfterMinutes past its deadline (or still
	// unpicked past its pick-up time), the supervisors of Department are
	// notified, level after level.
	Escalation []Escalation `json:"escalation,omitempty"`
	// Stages, the first being where every instance starts.
	Stages []Stage `json:"stages"`
}

// Entry holds the conditions under which a chain applies. An empty list
// matches anything; within a list any value matches.
type Entry struct {
	Causes     []string `json:"causes,omitempty" doc:"The request's cause (quality, transport, billing, service_attitude, …), or the case's reason"`
	Categories []string `json:"categories,omitempty" doc:"Ticket categories"`
	CaseKinds  []string `json:"case_kinds,omitempty" doc:"After-sales case kinds: return, exchange, repair, refund_only, complaint"`
	// AmountOver, when set, requires an after-sales case claiming more
	// than this amount (in Currency, when set).
	AmountOver string `json:"amount_over,omitempty" doc:"Decimal amount such as 500.00; the case's claim must be larger"`
	Currency   string `json:"currency,omitempty" doc:"ISO 4217 code the amount is in, such as CNY"`
}

// Escalation is one level of the ladder.
type Escalation struct {
	AfterMinutes int    `json:"after_minutes" doc:"Business minutes past the deadline"`
	Department   string `json:"department" doc:"Slug of the department whose supervisors are told"`
}

// Stage is one step of a chain.
type Stage struct {
	Key  string `json:"key"`
	Name Text   `json:"name"`
	// Customer is what the customer reads while their request is here.
	Customer   Text       `json:"customer,omitempty" doc:"What the customer is told while the request is at this stage"`
	Department string     `json:"department" doc:"Slug of the department that owns the stage"`
	Role       kefu.Role  `json:"role,omitempty" enum:",staff,agent,supervisor" doc:"The least role that may act on the stage (a manager's stage: supervisor)"`
	SLA        StageSLA   `json:"sla"`
	Sees       []string   `json:"sees,omitempty" doc:"What the stage's staff see: conversation, items, photos, billing, contact"`
	Fields     []Field    `json:"fields,omitempty" doc:"Results recorded at this stage (inspection findings, the factory's verdict, a measurement)"`
	Decisions  []Decision `json:"decisions"`
}

// StageSLA is a stage's deadline. The ticket's SLA policy may set another
// for the same stage key (its stages list), which then applies.
type StageSLA struct {
	Minutes int      `json:"minutes" doc:"Time the department has for the stage"`
	Unit    sla.Unit `json:"unit,omitempty" enum:"business,calendar" doc:"business (default): open hours of the calendar"`
	// WarnPercent warns the owner when this much of the time is used.
	WarnPercent int `json:"warn_percent,omitempty" minimum:"0" maximum:"99"`
	// PickupMinutes, when set, is how long the stage may wait for
	// someone to pick it up before its department's supervisors are told.
	PickupMinutes int `json:"pickup_minutes,omitempty" minimum:"0"`
}

// Field is one result recorded at a stage.
type Field struct {
	Key      string   `json:"key"`
	Label    Text     `json:"label"`
	Type     string   `json:"type" enum:"text,number,choice"`
	Options  []string `json:"options,omitempty" doc:"For choice"`
	Unit     string   `json:"unit,omitempty" doc:"For number: mm, g, %, …"`
	Required bool     `json:"required,omitempty" doc:"Needed by every decision but return"`
}

// Decision is one way out of a stage.
type Decision struct {
	Kind  DecisionKind `json:"kind" enum:"approve,reject,forward,return,arbitrate,close"`
	Label Text         `json:"label,omitempty" doc:"Overrides the kind's usual wording"`
	// To is the next stage; Outcome ends the chain. A return names
	// neither (back to where the request came from) or a stage.
	To      string  `json:"to,omitempty"`
	Outcome Outcome `json:"outcome,omitempty" enum:",resolved,approved,rejected"`
}

// Ends reports whether d ends the chain.
func (d Decision) Ends() bool { return d.Outcome != "" }

// Stage returns the stage with key, or nil.
func (d *Document) Stage(key string) *Stage {
	i := slices.IndexFunc(d.Stages, func(s Stage) bool { return s.Key == key })
	if i < 0 {
		return nil
	}
	return &d.Stages[i]
}

// First is the stage every instance starts at.
func (d *Document) First() *Stage { return &d.Stages[0] }

// Sees reports whether the stage shows what.
func (s *Stage) Shows(what string) bool { return slices.Contains(s.Sees, what) }

// normalize fills defaults and turns nil lists into empty ones, so the
// stored and returned forms are the same.
func (d *Document) normalize() {
	if d.Description == nil {
		d.Description = Text{}
	}
	for _, l := range []*[]string{&d.Entry.Causes, &d.Entry.Categories, &d.Entry.CaseKinds} {
		if *l == nil {
			*l = []string{}
		}
	}
	if d.Escalation == nil {
		d.Escalation = []Escalation{}
	}
	if d.Stages == nil {
		d.Stages = []Stage{}
	}
	for i := range d.Stages {
		st := &d.Stages[i]
		if st.SLA.Unit == "" {
			st.SLA.Unit = sla.Business
		}
		if st.Customer == nil {
			st.Customer = Text{}
		}
		if st.Sees == nil {
			st.Sees = []string{}
		}
		if st.Fields == nil {
			st.Fields = []Field{}
		}
		if st.Decisions == nil {
			st.Decisions = []Decision{}
		}
		for j := range st.Fields {
			if st.Fields[j].Options == nil {
				st.Fields[j].Options = []string{}
			}
		}
	}
}

// Definition is a stored chain: its current version's document with the
// version and times.
type Definition struct {
	ID string `json:"id"`
	Document
	Version   int       `json:"version" doc:"Grows with every edit; instances keep the version they started with"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// Running counts the instances still running on any version.
	Running int `json:"running"`
}

// ETagVersion is the version an ETag of the definition names.
func (d *Definition) ETagVersion() int { return d.Version }
