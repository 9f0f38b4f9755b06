// Package aftersales runs after-sales cases: returns, exchanges, repairs,
// refunds without return and complaints. A case belongs to a ticket and
// (but for some complaints) an order of internal/shop; it names items and
// quantities, a reason from an editable list, evidence photos and who is
// responsible. Eligibility is checked when it opens, from the SKU's terms
// and the delivery date (shop.Check), and explained in the customer's
// words; a supervisor may override it with a recorded reason.
//
// Each kind has a lifecycle (lifecycle.go): a return is requested,
// approved or refused, sent back (pickup or self-ship, with a tracking
// number), received, inspected, refunded and closed. Every step is a row
// of the case's tracking record and an audit entry; the steps a customer
// should know about are mailed to them through the job queue in their
// language. Refund and complaint deadlines are SLA deadlines on the
// ticket (internal/sla), warned, breached and escalated by its sweep.
package aftersales

import (
	"time"

	"github.com/kefu-desk/kefu/internal/shop"
	"github.com/kefu-desk/kefu/internal/sla"
)

// Kind is what a case asks for: shop's kinds of request.
type Kind = shop.Kind

// Step is where a case is in its kind's lifecycle.
type Step string

const (
	Requested       Step = "requested"        // opened, waiting for review
	Refused         Step = "refused"          // refused with a rule's explanation; closes the case
	Withdrawn       Step = "withdrawn"        // the customer no longer wants it; closes the case
	Approved        Step = "approved"         // goods may come back
	ReturnArranged  Step = "return_arranged"  // pickup booked or self-ship instructions given
	InTransit       Step = "in_transit"       // on its way back, with a tracking number
	Received        Step = "received"         // arrived
	QCFailed        Step = "qc_failed"        // failed inspection: reopen for another one, or close
	RefundPending   Step = "refund_pending"   // a refund is due
	Refunded        Step = "refunded"         // the refund is paid
	ExchangePending Step = "exchange_pending" // the replacement is to be sent
	ExchangeShipped Step = "exchange_shipped" // the replacement is on its way
	Assessed        Step = "assessed"         // a repair was judged possible
	Estimated       Step = "estimated"        // cost and duration told; waiting for consent
	Consented       Step = "consented"        // the customer agreed to the estimate
	Declined        Step = "declined"         // the customer declined the estimate
	Repaired        Step = "repaired"         // repaired, waiting for inspection
	Inspected       Step = "inspected"        // a repair passed inspection
	ShippedBack     Step = "shipped_back"     // the repaired item is on its way back
	Replied         Step = "replied"          // a complaint's preliminary reply was given
	Resolved        Step = "resolved"         // a complaint is resolved
	Closed          Step = "closed"
)

// Steps lists every step.
var Steps = []Step{Requested, Refused, Withdrawn, Approved, ReturnArranged, InTransit, Received, QCFailed, RefundPending, Refunded,
	ExchangePending, ExchangeShipped, Assessed, Estimated, Consented, Declined, Repaired, Inspected, ShippedBack, Replied,
	Resolved, Closed}

// Party is who a problem lies with. Seed 001: the shop's fault means
// compensation, the customer's means guidance.
type Party string

const (
	Shop     Party = "shop"
	Carrier  Party = "carrier"
	Supplier Party = "supplier"
	Customer Party = "customer"
)

// Parties lists every party.
var Parties = []Party{Shop, Carrier, Supplier, Customer}

// Case is one after-sales case with everything done about it. ID, Kind,
// Reason and Amount are stable: workflows attach to cases by them.
type Case struct {
	ID          string `json:"id"`
	Number      int64  `json:"number"`
	Key         string `json:"key" doc:"Human-friendly number such as AS-1001"`
	Kind        Kind   `json:"kind" enum:"return,exchange,repair,refund_only,complaint"`
	TicketID    string `json:"ticket_id"`
	TicketKey   string `json:"ticket_key"`
	OrderID     string `json:"order_id,omitempty"`
	OrderNumber string `json:"order_number,omitempty"`
	Shop        string `json:"shop,omitempty" doc:"The shop's code"`
	CustomerID  string `json:"customer_id"`
	Reason      string `json:"reason" doc:"A key of the reason list (GET /aftersales/reasons)"`
	Description string `json:"description"`
	Step        Step   `json:"step"`
	Open        bool   `json:"open" doc:"False once closed, refused or withdrawn"`
	// Responsible is who the problem lies with, once decided; Suggested
	// is what the reason usually means.
	Responsible     Party  `json:"responsible,omitempty" enum:"shop,carrier,supplier,customer,"`
	Suggested       Party  `json:"suggested_responsible,omitempty" enum:"shop,carrier,supplier,customer,"`
	ResponsibleNote string `json:"responsible_note,omitempty"`
	Guidance        string `json:"guidance,omitempty" doc:"When the customer is responsible: the guidance given to them"`
	OwnerID         string `json:"owner_id,omitempty" doc:"Complaints: the supervisor who owns it"`
	Currency        string `json:"currency,omitempty"`
	Amount          string `json:"amount" doc:"Value of the items asked about (decimal, in currency)"`
	Refunded        string `json:"refunded" doc:"Refunds paid so far"`
	Items           []Item `json:"items"`
	// Eligibility is the check made when the case opened, item by item;
	// Eligible is the outcome, true also when overridden.
	Eligible       bool                   `json:"eligible"`
	Eligibility    []shop.ItemEligibility `json:"eligibility"`
	Override       *Override              `json:"override,omitempty"`
	PhotosRequired bool                   `json:"photos_required" doc:"The terms ask for photos for this reason: approval waits for one"`
	Detail
	Photos      []Photo            `json:"photos"`
	Inspections []Inspection       `json:"inspections"`
	Remedies    []Remedy           `json:"remedies"`
	Deadlines   []sla.DeadlineView `json:"deadlines" doc:"Refund and complaint deadlines, as SLA clocks on the ticket"`
	History     []StepEntry        `json:"history" doc:"Every step and action, oldest first: the case's tracking record"`
	Notices     []Notice           `json:"notices" doc:"Mails sent to the customer"`
	Next        []Action           `json:"next" doc:"Actions the caller may take now"`
	Version     int                `json:"version"`
	CreatedAt   time.Time          `json:"created_at"`
	UpdatedAt   time.Time          `json:"updated_at"`
	ClosedAt    *time.Time         `json:"closed_at,omitempty"`

	claimed, refunded int64
	orderedAt         *time.Time
	orderedOn         string // the order's day in the shop's zone
	shopID            string
	deadlineIDs       map[string]string
}

// ETagVersion is the version an ETag of the case names.
func (c *Case) ETagVersion() int { return c.Version }

// Detail is the part of a case stored as one JSON document.
type Detail struct {
	Refusal    *Refusal   `json:"refusal,omitempty"`
	Approval   *Signed    `json:"approval,omitempty"`
	Return     *Return    `json:"return,omitempty"`
	Estimate   *Estimate  `json:"estimate,omitempty"`
	Consent    *Consent   `json:"consent,omitempty"`
	Repair     *Signed    `json:"repair,omitempty"`
	Exchange   *Shipment  `json:"exchange,omitempty"`
	ShipBack   *Shipment  `json:"ship_back,omitempty"`
	Reply      *Statement `json:"reply,omitempty" doc:"A complaint's preliminary reply"`
	Resolution *Statement `json:"resolution,omitempty" doc:"A complaint's resolution"`
	Round      int        `json:"inspection_round" doc:"Inspections so far; a reopened case is inspected again"`
	ClosedFrom Step       `json:"closed_from,omitempty" doc:"The step the case was closed from"`
}

// Item is one order item a case is about.
type Item struct {
	Position    int    `json:"position"`
	OrderItemID string `json:"order_item_id,omitempty"`
	SKU         string `json:"sku"`
	Name        string `json:"name"`
	Product     string `json:"product,omitempty" doc:"The product's code when the SKU is catalogued"`
	ProductName string `json:"product_name,omitempty"`
	Supplier    string `json:"supplier,omitempty"`
	Quantity    int    `json:"quantity"`
	UnitPrice   string `json:"unit_price"`
	Received    int    `json:"received" doc:"Units that arrived"`
	Passed      int    `json:"passed" doc:"Units that passed inspection"`
	Failed      int    `json:"failed" doc:"Units that failed inspection"`

	price int64
}

// Override is a supervisor's decision to accept a request outside its
// terms.
type Override struct {
	Reason string    `json:"reason"`
	By     string    `json:"by"`
	ByID   string    `json:"by_id"`
	At     time.Time `json:"at"`
}

// Refusal is why a request was refused: a standard rule with its
// explanation in both languages, and the agent's note.
type Refusal struct {
	Rule          string    `json:"rule"`
	Explanation   string    `json:"explanation"`
	ExplanationZh string    `json:"explanation_zh"`
	Note          string    `json:"note,omitempty"`
	By            string    `json:"by"`
	At            time.Time `json:"at"`
}

// Signed is a decision with who made it and when.
type Signed struct {
	Note string    `json:"note,omitempty"`
	By   string    `json:"by"`
	ByID string    `json:"by_id"`
	At   time.Time `json:"at"`
}

// Return is how goods come back.
type Return struct {
	Method         string     `json:"method,omitempty" enum:"pickup,self_ship," doc:"pickup: the shop's carrier collects; self_ship: the customer sends it"`
	PickupDate     string     `json:"pickup_date,omitempty" doc:"YYYY-MM-DD"`
	PickupWindow   string     `json:"pickup_window,omitempty" doc:"Such as 09:00-12:00"`
	Address        string     `json:"address,omitempty" doc:"Where the carrier collects, or where to send it"`
	Instructions   string     `json:"instructions,omitempty" doc:"What the customer is to do, in their language"`
	Carrier        string     `json:"carrier,omitempty"`
	TrackingNumber string     `json:"tracking_number,omitempty"`
	ArrangedAt     *time.Time `json:"arranged_at,omitempty"`
	ShippedAt      *time.Time `json:"shipped_at,omitempty"`
	ReceivedAt     *time.Time `json:"received_at,omitempty"`
}

// Estimate is a repair's plan, cost and expected duration.
type Estimate struct {
	Plan string    `json:"plan"`
	Cost string    `json:"cost" doc:"Decimal, in the case's currency; 0 for a repair under warranty"`
	Days int       `json:"days" doc:"Expected working days once received"`
	By   string    `json:"by"`
	At   time.Time `json:"at"`
}

// Consent is the customer's answer to an estimate, in their words.
type Consent struct {
	Accepted   bool      `json:"accepted"`
	Channel    string    `json:"channel" doc:"Where they answered: phone, chat, email, …"`
	At         time.Time `json:"at" doc:"When they answered"`
	Words      string    `json:"words" doc:"What they said"`
	RecordedBy string    `json:"recorded_by"`
}

// Shipment is a parcel to the customer: an exchange's replacement or a
// repaired item.
type Shipment struct {
	SKU            string    `json:"sku,omitempty"`
	Name           string    `json:"name,omitempty"`
	Quantity       int       `json:"quantity,omitempty"`
	OrderItemID    string    `json:"order_item_id,omitempty" doc:"An exchange's replacement: the line Kefu added to the order for it (origin exchange)"`
	Carrier        string    `json:"carrier"`
	TrackingNumber string    `json:"tracking_number"`
	At             time.Time `json:"at"`
	By             string    `json:"by"`
}

// Statement is what a complaint's owner told the customer.
type Statement struct {
	Text    string    `json:"text"`
	Channel string    `json:"channel"`
	By      string    `json:"by"`
	At      time.Time `json:"at"`
}

// Photo is a picture on a case; its content is fetched by id.
type Photo struct {
	ID          string    `json:"id"`
	Purpose     string    `json:"purpose" enum:"evidence,inspection,repair"`
	Filename    string    `json:"filename"`
	ContentType string    `json:"content_type"`
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"`
	ByCustomer  bool      `json:"by_customer"`
	CreatedAt   time.Time `json:"created_at"`
}

// Photo purposes.
const (
	PhotoEvidence   = "evidence"
	PhotoInspection = "inspection"
	PhotoRepair     = "repair"
)

// Inspection is one round of quality inspection.
type Inspection struct {
	Round     int       `json:"round"`
	Passed    bool      `json:"passed" doc:"Every unit inspected passed"`
	Notes     string    `json:"notes"`
	Inspector string    `json:"inspector"`
	At        time.Time `json:"at"`
}

// RemedyKind is how a customer is made whole.
type RemedyKind string

const (
	RefundRemedy RemedyKind = "refund"
	Replacement  RemedyKind = "replacement"
	Voucher      RemedyKind = "voucher"
	Goodwill     RemedyKind = "goodwill_credit"
)

// RemedyKinds lists every remedy.
var RemedyKinds = []RemedyKind{RefundRemedy, Replacement, Voucher, Goodwill}

// Remedy states.
const (
	Pending   = "pending"   // a refund due, a replacement to send
	Paid      = "paid"      // a refund paid
	Issued    = "issued"    // a voucher or credit given
	Redeemed  = "redeemed"  // a voucher used
	Shipped   = "shipped"   // a replacement sent
	Cancelled = "cancelled" // withdrawn before it was paid
)

// RemedyStates lists every state of a remedy.
var RemedyStates = []string{Pending, Paid, Issued, Redeemed, Shipped, Cancelled}

// Remedy is a refund, a replacement, a discount voucher or goodwill
// credit, with who approved it.
type Remedy struct {
	ID         string     `json:"id"`
	Kind       RemedyKind `json:"kind" enum:"refund,replacement,voucher,goodwill_credit"`
	State      string     `json:"state" enum:"pending,paid,issued,redeemed,shipped,cancelled"`
	Amount     string     `json:"amount" doc:"Decimal in currency: refunded, voucher value or credit"`
	Currency   string     `json:"currency"`
	Method     string     `json:"method,omitempty" doc:"Refunds: original_payment (the order's payment method)"`
	Reference  string     `json:"reference,omitempty" doc:"The payment's reference; a replacement's tracking number"`
	Code       string     `json:"code,omitempty" doc:"A voucher's code"`
	ExpiresOn  string     `json:"expires_on,omitempty" doc:"A voucher's last day (YYYY-MM-DD)"`
	ApprovedBy string     `json:"approved_by"`
	Note       string     `json:"note,omitempty"`
	StartedAt  time.Time  `json:"started_at"`
	DueAt      *time.Time `json:"due_at,omitempty" doc:"A refund's deadline"`
	DoneAt     *time.Time `json:"done_at,omitempty" doc:"Paid, redeemed or shipped"`
	DoneRef    string     `json:"done_ref,omitempty" doc:"A voucher: the order it was redeemed on"`
	CreatedAt  time.Time  `json:"created_at"`

	amount int64
	caseID string
}

// StepEntry is one line of a case's tracking record.
type StepEntry struct {
	ID     string         `json:"id"`
	Action Action         `json:"action"`
	Step   Step           `json:"step" doc:"The step after the action"`
	By     string         `json:"by"`
	ByKind string         `json:"by_kind" enum:"staff,customer,system"`
	Note   string         `json:"note,omitempty"`
	Data   map[string]any `json:"data,omitempty"`
	Public bool           `json:"public" doc:"The customer was told"`
	At     time.Time      `json:"at"`
}

// Notice is a mail to the customer about a step.
type Notice struct {
	StepID    string    `json:"step_id"`
	Language  string    `json:"language"`
	To        string    `json:"to"`
	Subject   string    `json:"subject"`
	State     string    `json:"state" enum:"pending,sent,failed,skipped"`
	Detail    string    `json:"detail,omitempty" doc:"Why it was skipped"`
	CreatedAt time.Time `json:"created_at"`
}

// KeyPrefix starts every case key.
const KeyPrefix = "AS-"
