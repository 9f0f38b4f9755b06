package workflow

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kefu-desk/kefu"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// demoSlugs are the departments of internal/demo the shipped chains name.
var demoSlugs = []string{"customer-service", "after-sales", "warehouse", "storage-transport", "finance", "legal", "quality",
	"management", "customer-relations", "technical-support"}

func demoKnown(kind, ref string) bool {
	switch kind {
	case "department":
		return slices.Contains(demoSlugs, ref)
	case "category":
		return slices.Contains([]string{"complaint", "billing", "return_exchange", "repair", "logistics"}, ref)
	}
	return ref == "Nanbei Chao"
}

func TestDefaultsAreValid(t *testing.T) {
	ds := Defaults()
	var keys []string
	for i := range ds {
		if err := Validate(&ds[i], demoKnown); err != nil {
			t.Errorf("%s: %v", ds[i].Key, err)
		}
		keys = append(keys, ds[i].Key)
		for _, st := range ds[i].Stages {
			if st.Name["zh-CN"] == "" || st.Customer["en"] == "" || st.Customer["zh-CN"] == "" {
				t.Errorf("%s/%s: every stage speaks to staff and customers in both languages", ds[i].Key, st.Key)
			}
		}
	}
	if want := []string{"quality", "transport", "billing", "service_attitude", "complaint"}; !slices.Equal(keys, want) {
		t.Errorf("defaults %v, want %v", keys, want)
	}
	// Seed 002's chains, stage by stage.
	chains := map[string][]string{
		"quality":          {"customer-service", "warehouse", "after-sales", "quality", "legal"},
		"transport":        {"customer-service", "storage-transport", "after-sales"},
		"billing":          {"customer-service", "finance", "legal", "management"},
		"service_attitude": {"customer-service", "management"},
	}
	for _, d := range ds {
		want, ok := chains[d.Key]
		if !ok {
			continue
		}
		var got []string
		for _, st := range d.Stages {
			got = append(got, st.Department)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s departments %v, want %v", d.Key, got, want)
		}
	}
}

// base is a small valid chain the table below breaks one way at a time.
func base() Document {
	return Document{Key: "demo", Name: Text{"en": "Demo"}, Stages: []Stage{
		{Key: "intake", Name: Text{"en": "Intake"}, Department: "customer-service", SLA: StageSLA{Minutes: 30},
			Decisions: []Decision{{Kind: Forward, To: "check"}, {Kind: Close, Outcome: Resolved}}},
		{Key: "check", Name: Text{"en": "Check"}, Department: "warehouse", SLA: StageSLA{Minutes: 60},
			Fields:    []Field{{Key: "findings", Label: Text{"en": "Findings"}, Type: FieldText, Required: true}},
			Decisions: []Decision{{Kind: Approve, Outcome: Approved}, {Kind: Return}}},
	}}
}

func TestValidateNamesTheBrokenStage(t *testing.T) {
	cases := []struct {
		name   string
		break_ func(d *Document)
		field  string
		words  string
	}{
		{"unknown target", func(d *Document) { d.Stages[0].Decisions[0].To = "chek" }, "stages[0].decisions[0].to", `stage "intake": forward leads to "chek", which is not a stage`},
		{"dead end", func(d *Document) { d.Stages[1].Decisions = nil }, "stages[1].decisions", `stage "check" is a dead end`},
		{"unreachable", func(d *Document) {
			d.Stages = append(d.Stages, Stage{Key: "orphan", Name: Text{"en": "Orphan"}, Department: "finance", SLA: StageSLA{Minutes: 5},
				Decisions: []Decision{{Kind: Close, Outcome: Resolved}}})
		}, "stages[2]", `stage "orphan" cannot be reached`},
		{"no end", func(d *Document) {
			d.Stages[0].Decisions = []Decision{{Kind: Forward, To: "check"}}
			d.Stages[1].Decisions = []Decision{{Kind: Return}}
		}, "stages", "no decision ends the chain"},
		{"loop without an end", func(d *Document) {
			d.Stages = append(d.Stages, Stage{Key: "loop", Name: Text{"en": "Loop"}, Department: "finance", SLA: StageSLA{Minutes: 5},
				Decisions: []Decision{{Kind: Forward, To: "loop2"}}},
				Stage{Key: "loop2", Name: Text{"en": "Loop 2"}, Department: "finance", SLA: StageSLA{Minutes: 5},
					Decisions: []Decision{{Kind: Forward, To: "loop"}}})
			d.Stages[0].Decisions = append(d.Stages[0].Decisions, Decision{Kind: Arbitrate, To: "loop"})
		}, "stages[2].decisions", `stage "loop" is a dead end: no path from it ever ends the chain`},
		{"return from the first stage", func(d *Document) { d.Stages[0].Decisions = append(d.Stages[0].Decisions, Decision{Kind: Return}) },
			"stages[0].decisions[2].to", `stage "intake" is the first stage`},
		{"unknown department", func(d *Document) { d.Stages[1].Department = "ware-house" }, "stages[1].department", `stage "check": no department "ware-house"`},
		{"both to and outcome", func(d *Document) { d.Stages[0].Decisions[1].To = "check" }, "stages[0].decisions[1]", `stage "intake": close either leads`},
		{"duplicate stage", func(d *Document) { d.Stages[1].Key = "intake" }, "stages[1].key", `stage "intake" is listed twice`},
		{"no deadline", func(d *Document) { d.Stages[1].SLA.Minutes = 0 }, "stages[1].sla.minutes", `stage "check": must be from 1`},
		{"bad sight", func(d *Document) { d.Stages[1].Sees = []string{"everything"} }, "stages[1].sees[0]", `stage "check": must be one of`},
		{"choice without options", func(d *Document) { d.Stages[1].Fields[0].Type = FieldChoice }, "stages[1].fields[0].options", `stage "check": a choice needs options`},
		{"bad role", func(d *Document) { d.Stages[1].Role = kefu.RoleAdmin }, "stages[1].role", `stage "check": must be staff, agent or supervisor`},
		{"ladder", func(d *Document) {
			d.Escalation = []Escalation{{AfterMinutes: 60, Department: "management"}, {AfterMinutes: 30, Department: "nowhere"}}
		},
			"escalation[1].after_minutes", "grow from level to level"},
		{"entry amount", func(d *Document) { d.Entry.AmountOver = "lots" }, "entry.amount_over", "must be an amount"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := base()
			c.break_(&d)
			err := Validate(&d, demoKnown)
			var e *kefu.Error
			if err == nil || !asError(err, &e) {
				t.Fatalf("accepted: %v", err)
			}
			for _, f := range e.Fields {
				if f.Field == c.field && strings.Contains(f.Message, c.words) {
					return
				}
			}
			t.Errorf("no %s %q in %v", c.field, c.words, e.Fields)
		})
	}
	d := base()
	if err := Validate(&d, demoKnown); err != nil {
		t.Fatalf("the base chain: %v", err)
	}
}

func asError(err error, e **kefu.Error) bool {
	x, ok := err.(*kefu.Error)
	*e = x
	return ok
}

func TestEntryMatches(t *testing.T) {
	e := Entry{Causes: []string{"billing"}, CaseKinds: []string{"refund_only"}, AmountOver: "500", Currency: "CNY"}
	cases := []struct {
		sub  Subject
		ok   bool
		text string
	}{
		{Subject{Cause: "billing", CaseKind: "refund_only", Amount: "500.01", Currency: "CNY"}, true, ""},
		{Subject{Cause: "billing", CaseKind: "refund_only", Amount: "500.00", Currency: "CNY"}, false, "claims over 500 CNY"},
		{Subject{Cause: "billing", CaseKind: "refund_only", Amount: "900", Currency: "USD"}, false, "claims over"},
		{Subject{Cause: "quality", CaseKind: "refund_only", Amount: "900", Currency: "CNY"}, false, `the cause "quality"`},
		{Subject{Cause: "billing"}, false, "applies to after-sales cases"},
	}
	for _, c := range cases {
		ok, why := e.Matches(c.sub)
		if ok != c.ok || !strings.Contains(why, c.text) {
			t.Errorf("%+v: %v %q", c.sub, ok, why)
		}
	}
}

func TestRouteAndReturn(t *testing.T) {
	d := Defaults()[0] // quality
	steps := []Step{
		{Kind: stepDecision, Stage: "customer_service", Decision: Forward, ToStage: "warehouse_inspection"},
		{Kind: stepDecision, Stage: "warehouse_inspection", Decision: Approve, ToStage: "after_sales_appraisal"},
		{Kind: stepDecision, Stage: "after_sales_appraisal", Decision: Return, ToStage: "warehouse_inspection"},
	}
	if got := route(&d, steps); !slices.Equal(got, []string{"customer_service", "warehouse_inspection"}) {
		t.Errorf("route %v", got)
	}
	if p := previous(&d, steps); p != "customer_service" {
		t.Errorf("a second return goes to %q", p)
	}
	dc, to, err := resolveDecision(&d, d.Stage("warehouse_inspection"), DecideInput{Decision: Return}, steps)
	if err != nil || to != "customer_service" || dc.Kind != Return {
		t.Errorf("return: %v %q %v", dc, to, err)
	}
	if _, _, err := resolveDecision(&d, d.Stage("customer_service"), DecideInput{Decision: Return}, nil); !kefu.IsCode(err, kefu.Invalid) {
		t.Errorf("the first stage offers no return: %v", err)
	}
	if got := mainLine(&d, "customer_service"); !slices.Equal(got, []string{"warehouse_inspection", "after_sales_appraisal"}) {
		t.Errorf("main line %v", got)
	}
}

func TestCheckResults(t *testing.T) {
	d := Defaults()[0]
	st := d.Stage("measurement_arbitration")
	_, err := checkResults(st, Decision{Kind: Approve}, map[string]any{"institute": "国家计量院", "upheld": "maybe", "colour": "red"})
	var e *kefu.Error
	if !asError(err, &e) {
		t.Fatal(err)
	}
	var fields []string
	for _, f := range e.Fields {
		fields = append(fields, f.Field)
	}
	slices.Sort(fields)
	if diff := cmp.Diff([]string{"results.colour", "results.measurement", "results.upheld"}, fields); diff != "" {
		t.Error(diff)
	}
	if _, err := checkResults(st, Decision{Kind: Return}, nil); err != nil {
		t.Errorf("a return needs no results: %v", err)
	}
}

// TestDiagram compares the quality chain's diagram, with an instance's
// route through a return and an arbitration, to its golden file, and
// checks that every stage and decision is drawn.
func TestDiagram(t *testing.T) {
	d := Defaults()[0]
	route := []Hop{{From: "customer_service", Decision: Forward, To: "warehouse_inspection"},
		{From: "warehouse_inspection", Decision: Return, To: "customer_service"},
		{From: "customer_service", Decision: Forward, To: "warehouse_inspection"},
		{From: "warehouse_inspection", Decision: Approve, To: "after_sales_appraisal"},
		{From: "after_sales_appraisal", Decision: Forward, To: "factory_appraisal"},
		{From: "factory_appraisal", Decision: Arbitrate, To: "measurement_arbitration"}}
	svg := Diagram(&d, "zh-CN", route, "measurement_arbitration")
	for _, st := range d.Stages {
		if !bytes.Contains(svg, []byte(`data-stage="`+st.Key+`"`)) || !bytes.Contains(svg, []byte(esc(st.Name["zh-CN"]))) {
			t.Errorf("stage %s is not drawn", st.Key)
		}
		for _, dc := range st.Decisions {
			if !bytes.Contains(svg, []byte(esc(dc.Label["zh-CN"]))) {
				t.Errorf("decision %s of %s is not labelled", dc.Kind, st.Key)
			}
		}
	}
	if n := bytes.Count(svg, []byte(` on" d=`)); n != 5 {
		t.Errorf("%d edges drawn as taken, want the 5 distinct hops", n)
	}
	if !bytes.Contains(svg, []byte(`class="wf-node visited current" data-stage="measurement_arbitration"`)) {
		t.Error("the current stage is not outlined")
	}
	golden(t, "quality-route.svg", svg)
	golden(t, "billing.svg", Diagram(&Defaults()[2], "en", nil, ""))
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run with -update and look at it)", name)
	}
}

// TestDocumentRoundTrip: what is exported imports as the same document.
func TestDocumentRoundTrip(t *testing.T) {
	for _, d := range Defaults() {
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		var back Document
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		back.normalize()
		if diff := cmp.Diff(d, back); diff != "" {
			t.Errorf("%s: %s", d.Key, diff)
		}
	}
}
