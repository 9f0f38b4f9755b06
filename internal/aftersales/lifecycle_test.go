package aftersales

import (
	"slices"
	"strings"
	"testing"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/shop"
)

// TestNextActions checks what each kind of case offers at each step, to
// whom: the console's buttons and the API's next come from it.
func TestNextActions(t *testing.T) {
	agent := kefu.Actor{Kind: kefu.ActorStaff, ID: "a", Role: kefu.RoleAgent}
	supervisor := kefu.Actor{Kind: kefu.ActorStaff, ID: "s", Role: kefu.RoleSupervisor}
	auditor := kefu.Actor{Kind: kefu.ActorStaff, ID: "u", Role: kefu.RoleAuditor}
	customer := kefu.Actor{Kind: kefu.ActorCustomer, ID: "c"}
	steps := func(as ...Action) []Action { return append(as, Note, AddPhotos, SetResponsible, AddRemedy) }
	for _, c := range []struct {
		name       string
		kind       Kind
		step       Step
		open       bool
		closedFrom Step
		actor      kefu.Actor
		want       []Action
	}{
		{"a new return", shop.Return, Requested, true, "", agent, steps(Approve, Refuse, Withdraw)},
		{"an approved return", shop.Return, Approved, true, "", agent, steps(ArrangeReturn, ShipReturn, Receive, Withdraw)},
		{"a return on its way back", shop.Return, InTransit, true, "", agent, steps(ShipReturn, Receive)},
		{"a received return", shop.Return, Received, true, "", agent, steps(Inspect)},
		{"a failed inspection, agent", shop.Return, QCFailed, true, "", agent, steps(Close)},
		{"a failed inspection, supervisor", shop.Return, QCFailed, true, "", supervisor, steps(Reopen, Close)},
		{"a refund due", shop.Return, RefundPending, true, "", agent, steps(Refund)},
		{"a refused return, agent", shop.Return, Refused, false, Requested, agent, []Action{}},
		{"a refused return, supervisor", shop.Return, Refused, false, Requested, supervisor, []Action{OverrideTerms}},
		{"a return closed after a refund", shop.Return, Closed, false, Refunded, supervisor, []Action{}},
		{"a return closed after a failed inspection", shop.Return, Closed, false, QCFailed, supervisor, []Action{Reopen}},
		{"an exchange that passed", shop.Exchange, ExchangePending, true, "", agent, steps(ShipExchange)},
		{"a refund without return", shop.RefundOnly, Requested, true, "", agent, steps(Approve, Refuse, Withdraw)},
		{"a new repair", shop.Repair, Requested, true, "", agent, steps(Assess, Refuse, Withdraw)},
		{"an estimated repair", shop.Repair, Estimated, true, "", agent, steps(GiveEstimate, RecordConsent, Withdraw)},
		{"a consented repair", shop.Repair, Consented, true, "", agent, steps(ArrangeReturn, ShipReturn, Receive)},
		{"a repair that failed inspection", shop.Repair, QCFailed, true, "", agent, steps(RepairDone)},
		{"a declined repair", shop.Repair, Declined, true, "", agent, steps(Close)},
		{"a new complaint, agent", shop.Complaint, Requested, true, "", agent, steps(Reply, Resolve)},
		{"a new complaint, supervisor", shop.Complaint, Requested, true, "", supervisor, append(steps(Reply, Resolve), AssignOwner)},
		{"a closed complaint", shop.Complaint, Closed, false, Resolved, supervisor, []Action{Reopen}},
		{"an auditor", shop.Return, Requested, true, "", auditor, []Action{}},
		{"the customer, before the parcel leaves", shop.Return, Approved, true, "", customer, []Action{AddPhotos, ShipReturn}},
		{"the customer, once it is received", shop.Return, Received, true, "", customer, []Action{AddPhotos}},
		{"the customer, a closed case", shop.Return, Closed, false, Refunded, customer, []Action{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			k := &Case{Key: "AS-1001", Kind: c.kind, Step: c.step, Open: c.open, Detail: Detail{ClosedFrom: c.closedFrom}}
			if got := allowed(k, c.actor); !slices.Equal(got, c.want) {
				t.Errorf("%s at %s offers %v, want %v", c.kind, c.step, got, c.want)
			}
		})
	}
}

// TestStepRefusals checks that an action out of order is refused with
// words that name the case's step and where the action belongs.
func TestStepRefusals(t *testing.T) {
	for _, c := range []struct {
		kind       Kind
		step       Step
		open       bool
		closedFrom Step
		act        Action
		want       []string
	}{
		{shop.Return, InTransit, true, "", Refund, []string{`at step "in_transit"`, `"refund" is possible at refund_pending`}},
		{shop.Return, Requested, true, "", Inspect, []string{`at step "requested"`, "possible at received"}},
		{shop.Return, Approved, true, "", Approve, []string{`"approve" is possible at requested`}},
		{shop.Complaint, Requested, true, "", Approve, []string{"a complaint case has no step"}},
		{shop.RefundOnly, Requested, true, "", Receive, []string{"a refund-only case has no step"}},
		{shop.Return, Closed, false, Refunded, Reopen, []string{`closed at step "refunded"`, "failed inspection"}},
		{shop.Return, Closed, false, Refunded, Note, []string{"is closed; reopen it first"}},
		{shop.Repair, Requested, true, "", RepairDone, []string{"possible at received or qc_failed"}},
	} {
		k := &Case{Key: "AS-1001", Kind: c.kind, Step: c.step, Open: c.open, Detail: Detail{ClosedFrom: c.closedFrom}}
		why := canTake(k, c.act)
		for _, w := range c.want {
			if !strings.Contains(why, w) {
				t.Errorf("%s %s at %s: %q, want it to say %q", c.act, c.kind, c.step, why, w)
			}
		}
		err := stepError(k, c.act, why)
		if !kefu.IsCode(err, kefu.Conflict) || !strings.Contains(err.Error(), "AS-1001") {
			t.Errorf("%s: %v, want a conflict naming the case", c.act, err)
		}
	}
	// Every action a lifecycle lists is offered somewhere, and leads to
	// a known step.
	for kind, actions := range lifecycles {
		for act, tr := range actions {
			if !slices.Contains(actionOrder, act) {
				t.Errorf("%s: %s is not in the offered order", kind, act)
			}
			if tr.to != "" && !slices.Contains(Steps, tr.to) {
				t.Errorf("%s: %s leads to unknown step %s", kind, act, tr.to)
			}
			for _, from := range tr.from {
				if !slices.Contains(Steps, from) {
					t.Errorf("%s: %s from unknown step %s", kind, act, from)
				}
			}
		}
	}
}
