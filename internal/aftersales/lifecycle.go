package aftersales

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/shop"
)

// Action is something done to a case.
type Action string

// Actions that move a case along its lifecycle.
const (
	Open          Action = "open"
	Approve       Action = "approve"
	Refuse        Action = "refuse"
	OverrideTerms Action = "override"       // a supervisor accepts a refused request outside its terms
	ArrangeReturn Action = "arrange_return" // pickup or self-ship
	ShipReturn    Action = "ship_return"    // the return's tracking number
	Receive       Action = "receive"
	Inspect       Action = "inspect"
	Reopen        Action = "reopen" // after a failed inspection: inspect again
	Refund        Action = "refund" // pay the pending refund
	ShipExchange  Action = "ship_exchange"
	Assess        Action = "assess"
	GiveEstimate  Action = "estimate"
	RecordConsent Action = "consent" // the customer's answer to an estimate
	RepairDone    Action = "repair"
	ShipBack      Action = "ship_back"
	Reply         Action = "reply"
	Resolve       Action = "resolve"
	Close         Action = "close"
	Withdraw      Action = "withdraw" // the customer no longer wants it
)

// Actions that record something without moving the case.
const (
	Note           Action = "note"
	AddPhotos      Action = "photos"
	SetResponsible Action = "responsibility"
	AddRemedy      Action = "remedy"
	AssignOwner    Action = "assign"
	// RedeemVoucher is recorded when the shop redeems a case's voucher.
	RedeemVoucher Action = "redeem_voucher"
)

// anyOpenStep actions may be taken at any step of an open case.
var anyOpenStep = []Action{Note, AddPhotos, SetResponsible, AddRemedy, AssignOwner}

// transition is an action's steps: from which it may be taken, and the
// step it leads to ("" when the action decides, as an inspection does).
type transition struct {
	from []Step
	to   Step
}

var (
	returnArrival = []Step{Approved, ReturnArranged, InTransit}
	returnLike    = map[Action]transition{
		Approve:       {[]Step{Requested}, Approved},
		Refuse:        {[]Step{Requested}, Refused},
		OverrideTerms: {[]Step{Refused}, Requested},
		ArrangeReturn: {[]Step{Approved, ReturnArranged}, ReturnArranged},
		ShipReturn:    {[]Step{Approved, ReturnArranged, InTransit}, InTransit},
		Receive:       {returnArrival, Received},
		Inspect:       {[]Step{Received}, ""},
		Reopen:        {[]Step{QCFailed, Closed}, Received},
		Withdraw:      {[]Step{Requested, Approved, ReturnArranged}, Withdrawn},
	}
	// lifecycles says, per kind, which action is allowed at which step.
	lifecycles = map[Kind]map[Action]transition{
		shop.Return: merge(returnLike, map[Action]transition{
			Refund: {[]Step{RefundPending}, ""},
			Close:  {[]Step{Refunded, QCFailed}, Closed},
		}),
		shop.Exchange: merge(returnLike, map[Action]transition{
			ShipExchange: {[]Step{ExchangePending}, ExchangeShipped},
			Close:        {[]Step{ExchangeShipped, QCFailed}, Closed},
		}),
		shop.RefundOnly: {
			Approve:       {[]Step{Requested}, RefundPending},
			Refuse:        {[]Step{Requested}, Refused},
			OverrideTerms: {[]Step{Refused}, Requested},
			Refund:        {[]Step{RefundPending}, ""},
			Close:         {[]Step{Refunded}, Closed},
			Withdraw:      {[]Step{Requested}, Withdrawn},
		},
		shop.Repair: {
			Assess:        {[]Step{Requested}, Assessed},
			Refuse:        {[]Step{Requested, Assessed}, Refused},
			OverrideTerms: {[]Step{Refused}, Requested},
			GiveEstimate:  {[]Step{Assessed, Estimated}, Estimated},
			RecordConsent: {[]Step{Estimated}, ""},
			ArrangeReturn: {[]Step{Consented, ReturnArranged}, ReturnArranged},
			ShipReturn:    {[]Step{Consented, ReturnArranged, InTransit}, InTransit},
			Receive:       {[]Step{Consented, ReturnArranged, InTransit}, Received},
			RepairDone:    {[]Step{Received, QCFailed}, Repaired},
			Inspect:       {[]Step{Repaired}, ""},
			ShipBack:      {[]Step{Inspected}, ShippedBack},
			Close:         {[]Step{Declined, ShippedBack}, Closed},
			Withdraw:      {[]Step{Requested, Assessed, Estimated}, Withdrawn},
		},
		shop.Complaint: {
			Reply:   {[]Step{Requested}, Replied},
			Resolve: {[]Step{Requested, Replied}, Resolved},
			Close:   {[]Step{Resolved}, Closed},
			Reopen:  {[]Step{Closed}, Replied},
		},
	}
)

func merge(a, b map[Action]transition) map[Action]transition {
	out := make(map[Action]transition, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// supervisorOnly actions need a supervisor or an administrator: they set
// aside a rule (override, reopen) or give compensation.
var supervisorOnly = []Action{OverrideTerms, Reopen, AssignOwner}

func isSupervisor(a kefu.Actor) bool {
	return a.Kind == kefu.ActorSystem || a.Role.Supervises()
}

// allowed lists the actions the actor may take on c now, lifecycle order
// first, then those of any open step.
func allowed(c *Case, a kefu.Actor) []Action {
	out := []Action{}
	if a.Kind == kefu.ActorCustomer {
		if c.Open {
			out = append(out, AddPhotos)
			if slices.Contains(lifecycles[c.Kind][ShipReturn].from, c.Step) {
				out = append(out, ShipReturn)
			}
		}
		return out
	}
	if !a.CanWrite() {
		return out
	}
	for _, act := range actionOrder {
		if canTake(c, act) == "" && (!slices.Contains(supervisorOnly, act) || isSupervisor(a)) {
			out = append(out, act)
		}
	}
	if c.Open {
		for _, act := range anyOpenStep {
			if act == AssignOwner && (c.Kind != shop.Complaint || !isSupervisor(a)) {
				continue
			}
			out = append(out, act)
		}
	}
	return out
}

// Actions lists every action a case's record may show.
var Actions = slices.Concat([]Action{Open}, actionOrder, anyOpenStep, []Action{RedeemVoucher})

// actionOrder is the order actions are offered in.
var actionOrder = []Action{Approve, Assess, GiveEstimate, RecordConsent, ArrangeReturn, ShipReturn, Receive, RepairDone, Inspect, Refund,
	ShipExchange, ShipBack, Reply, Resolve, Refuse, OverrideTerms, Reopen, Close, Withdraw}

// canTake says why action act cannot be taken on c at its step, or "".
func canTake(c *Case, act Action) string {
	if slices.Contains(anyOpenStep, act) {
		if !c.Open {
			return fmt.Sprintf("case %s is closed; reopen it first", c.Key)
		}
		return ""
	}
	if act == Refund && c.Open && slices.ContainsFunc(c.Remedies, func(r Remedy) bool { return r.Kind == RefundRemedy && r.State == Pending }) {
		// A refund due (a remedy) is paid at any step.
		return ""
	}
	tr, ok := lifecycles[c.Kind][act]
	if !ok {
		return fmt.Sprintf("a %s case has no step %q", kindWord(c.Kind), act)
	}
	if !slices.Contains(tr.from, c.Step) {
		return fmt.Sprintf("case %s is at step %q; %q is possible at %s", c.Key, c.Step, act, joinSteps(tr.from))
	}
	if act == Reopen && c.Kind != shop.Complaint && c.Step == Closed && c.ClosedFrom != QCFailed {
		return fmt.Sprintf("case %s was closed at step %q; only a case closed after a failed inspection can be reopened", c.Key, c.ClosedFrom)
	}
	return ""
}

func joinSteps(ss []Step) string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = string(s)
	}
	if len(out) == 1 {
		return out[0]
	}
	return strings.Join(out[:len(out)-1], ", ") + " or " + out[len(out)-1]
}

func kindWord(k Kind) string { return strings.ReplaceAll(string(k), "_", "-") }

// stepError refuses an action the case's step does not allow, naming the
// step, in the shape the API turns into a 409 problem.
func stepError(c *Case, act Action, why string) error {
	return &kefu.Error{Code: kefu.Conflict, Message: fmt.Sprintf("cannot %s case %s now", strings.ReplaceAll(string(act), "_", " "), c.Key),
		Fields: []kefu.FieldError{{Field: "action", Message: why}}}
}
