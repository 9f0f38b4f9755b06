package workflow

import (
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/sla"
)

var (
	keyRE      = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
	amountRE   = regexp.MustCompile(`^[0-9]{1,15}(\.[0-9]{1,4})?$`)
	currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)
)

// Known answers whether a reference in a document names something that
// exists: a department slug ("department"), a ticket category
// ("category") or a calendar name ("calendar"). Pure tests pass nil.
type Known func(kind, ref string) bool

// maxMinutes bounds a deadline: a year.
const maxMinutes = 366 * 24 * 60

// roles a stage may require, least first.
var stageRoles = []kefu.Role{kefu.RoleStaff, kefu.RoleAgent, kefu.RoleSupervisor}

// Validate checks d and reports every problem at once, each under its
// field ("stages[2].decisions[1].to") with a message naming the stage.
// It normalizes d first.
func Validate(d *Document, known Known) error {
	d.normalize()
	var fs kefu.Fields
	exists := func(kind, ref string) bool { return known == nil || known(kind, ref) }
	d.Key = strings.TrimSpace(d.Key)
	if !keyRE.MatchString(d.Key) {
		fs.Add("key", "use 1 to 64 lower-case letters, digits, - and _, like \"quality\"")
	}
	checkText(&fs, "name", d.Name, true, 200)
	checkText(&fs, "description", d.Description, false, 2000)
	if d.Position < 0 {
		fs.Add("position", "must not be negative")
	}
	for i, c := range d.Entry.Causes {
		if !keyRE.MatchString(c) {
			fs.Add(fmt.Sprintf("entry.causes[%d]", i), "use lower-case letters, digits, - and _, like \"service_attitude\"")
		}
	}
	for i, c := range d.Entry.Categories {
		if !exists("category", c) {
			fs.Add(fmt.Sprintf("entry.categories[%d]", i), "no ticket category %q", c)
		}
	}
	for i, k := range d.Entry.CaseKinds {
		if !slices.Contains(CaseKinds, k) {
			fs.Add(fmt.Sprintf("entry.case_kinds[%d]", i), "must be one of %s", strings.Join(CaseKinds, ", "))
		}
	}
	if a := d.Entry.AmountOver; a != "" && !amountRE.MatchString(a) {
		fs.Add("entry.amount_over", "must be an amount such as 500 or 500.00")
	}
	if c := d.Entry.Currency; c != "" && !currencyRE.MatchString(c) {
		fs.Add("entry.currency", "must be a three-letter currency code such as CNY")
	}
	if d.Calendar != "" && !exists("calendar", d.Calendar) {
		fs.Add("calendar", "no calendar named %q", d.Calendar)
	}
	if d.MinProgressUpdates < 0 || d.MinProgressUpdates > 100 {
		fs.Add("min_progress_updates", "must be from 0 to 100")
	}
	last := 0
	for i, e := range d.Escalation {
		f := fmt.Sprintf("escalation[%d]", i)
		if e.AfterMinutes <= last || e.AfterMinutes > maxMinutes {
			fs.Add(f+".after_minutes", "must be positive and grow from level to level")
		}
		last = e.AfterMinutes
		if !exists("department", e.Department) {
			fs.Add(f+".department", "no department %q", e.Department)
		}
	}
	if len(d.Stages) == 0 {
		fs.Add("stages", "a chain needs at least one stage")
		return fs.Err()
	}
	if len(d.Stages) > 50 {
		fs.Add("stages", "at most 50 stages")
	}
	index := map[string]int{}
	for i, st := range d.Stages {
		if _, dup := index[st.Key]; !dup && st.Key != "" {
			index[st.Key] = i
		}
	}
	for i := range d.Stages {
		checkStage(&fs, d, i, index, exists)
	}
	checkGraph(&fs, d, index)
	return fs.Err()
}

func checkText(fs *kefu.Fields, field string, t Text, required bool, limit int) {
	if required && strings.TrimSpace(t["en"]) == "" {
		fs.Add(field+".en", "is required")
	}
	for lang, s := range t {
		if !slices.Contains(Languages, lang) {
			fs.Add(field+"."+lang, "languages are en and zh-CN")
		} else if utf8.RuneCountInString(s) > limit {
			fs.Add(field+"."+lang, "too long (%d characters at most)", limit)
		}
	}
}

func checkStage(fs *kefu.Fields, d *Document, i int, index map[string]int, exists func(kind, ref string) bool) {
	st := &d.Stages[i]
	f := fmt.Sprintf("stages[%d]", i)
	st.Key = strings.TrimSpace(st.Key)
	name := st.Key
	switch {
	case !keyRE.MatchString(st.Key):
		fs.Add(f+".key", "stage %d: use 1 to 64 lower-case letters, digits, - and _, like \"warehouse_inspection\"", i+1)
		name = fmt.Sprintf("#%d", i+1)
	case index[st.Key] != i:
		fs.Add(f+".key", "stage %q is listed twice", st.Key)
	}
	checkText(fs, f+".name", st.Name, true, 200)
	checkText(fs, f+".customer", st.Customer, false, 500)
	if !exists("department", st.Department) {
		fs.Add(f+".department", "stage %q: no department %q", name, st.Department)
	}
	if st.Role != "" && !slices.Contains(stageRoles, st.Role) {
		fs.Add(f+".role", "stage %q: must be staff, agent or supervisor", name)
	}
	s := st.SLA
	if s.Minutes < 1 || s.Minutes > maxMinutes {
		fs.Add(f+".sla.minutes", "stage %q: must be from 1 to %d (a year)", name, maxMinutes)
	}
	if s.Unit != sla.Business && s.Unit != sla.Elapsed {
		fs.Add(f+".sla.unit", "stage %q: must be business or calendar", name)
	}
	if s.WarnPercent < 0 || s.WarnPercent > 99 {
		fs.Add(f+".sla.warn_percent", "stage %q: must be from 0 to 99", name)
	}
	if s.PickupMinutes < 0 || s.PickupMinutes > maxMinutes {
		fs.Add(f+".sla.pickup_minutes", "stage %q: must be from 0 to %d", name, maxMinutes)
	}
	for j, what := range st.Sees {
		if !slices.Contains(Sights, what) {
			fs.Add(fmt.Sprintf("%s.sees[%d]", f, j), "stage %q: must be one of %s", name, strings.Join(Sights, ", "))
		}
	}
	fields := map[string]bool{}
	for j, fd := range st.Fields {
		ff := fmt.Sprintf("%s.fields[%d]", f, j)
		if !keyRE.MatchString(fd.Key) || fields[fd.Key] {
			fs.Add(ff+".key", "stage %q: a field key is required, unique within the stage", name)
		}
		fields[fd.Key] = true
		checkText(fs, ff+".label", fd.Label, true, 200)
		switch fd.Type {
		case FieldText, FieldNumber:
		case FieldChoice:
			if len(fd.Options) == 0 {
				fs.Add(ff+".options", "stage %q: a choice needs options", name)
			}
		default:
			fs.Add(ff+".type", "stage %q: must be text, number or choice", name)
		}
	}
	if len(st.Decisions) == 0 {
		fs.Add(f+".decisions", "stage %q is a dead end: it offers no decision", name)
	}
	seen := map[string]bool{}
	for j, dc := range st.Decisions {
		df := fmt.Sprintf("%s.decisions[%d]", f, j)
		if !slices.Contains(DecisionKinds, dc.Kind) {
			fs.Add(df+".kind", "stage %q: must be one of approve, reject, forward, return, arbitrate, close", name)
			continue
		}
		checkText(fs, df+".label", dc.Label, false, 100)
		sig := string(dc.Kind) + "→" + dc.To + string(dc.Outcome)
		if seen[sig] {
			fs.Add(df, "stage %q: %s is offered twice with the same result", name, dc.Kind)
		}
		seen[sig] = true
		switch {
		case dc.Outcome != "" && !slices.Contains(Outcomes, dc.Outcome):
			fs.Add(df+".outcome", "stage %q: must be resolved, approved or rejected", name)
		case dc.Outcome != "" && dc.To != "":
			fs.Add(df, "stage %q: %s either leads to a stage (to) or ends the chain (outcome), not both", name, dc.Kind)
		case dc.Kind == Return && dc.Outcome != "":
			fs.Add(df+".outcome", "stage %q: a return goes back to a stage; it does not end the chain", name)
		case dc.Kind == Return && dc.To == "" && i == 0:
			fs.Add(df+".to", "stage %q is the first stage: there is no previous stage to return to; name one with to", name)
		case dc.To == "" && dc.Outcome == "" && dc.Kind != Return:
			fs.Add(df, "stage %q: %s must lead to a stage (to) or end the chain (outcome)", name, dc.Kind)
		case dc.To != "" && dc.To == st.Key:
			fs.Add(df+".to", "stage %q: %s leads back to the same stage", name, dc.Kind)
		case dc.To != "":
			if _, ok := index[dc.To]; !ok {
				fs.Add(df+".to", "stage %q: %s leads to %q, which is not a stage of this chain", name, dc.Kind, dc.To)
			}
		}
	}
}

// checkGraph finds the stages no instance can reach, and the reachable
// ones from which no path ends the chain.
func checkGraph(fs *kefu.Fields, d *Document, index map[string]int) {
	n := len(d.Stages)
	next := make([][]int, n)
	var ends []int
	for i, st := range d.Stages {
		for _, dc := range st.Decisions {
			if j, ok := index[dc.To]; ok && dc.To != "" {
				next[i] = append(next[i], j)
			}
			if dc.Ends() && dc.Kind != Return && slices.Contains(Outcomes, dc.Outcome) {
				ends = append(ends, i)
			}
		}
	}
	// A bare return goes back to any stage that leads here.
	for i, st := range d.Stages {
		for _, dc := range st.Decisions {
			if dc.Kind == Return && dc.To == "" {
				for j := range d.Stages {
					if slices.Contains(next[j], i) {
						next[i] = append(next[i], j)
					}
				}
			}
		}
	}
	reach := make([]bool, n)
	var walk func(int)
	walk = func(i int) {
		if reach[i] {
			return
		}
		reach[i] = true
		for _, j := range next[i] {
			walk(j)
		}
	}
	walk(0)
	for i, st := range d.Stages {
		if !reach[i] {
			fs.Add(fmt.Sprintf("stages[%d]", i), "stage %q cannot be reached: no decision from the first stage %q leads to it", st.Key, d.Stages[0].Key)
		}
	}
	if len(ends) == 0 {
		fs.Add("stages", "no decision ends the chain: give at least one decision an outcome (resolved, approved or rejected)")
		return
	}
	// Stages from which an end can be reached: walk the edges backwards.
	done := make([]bool, n)
	var back func(int)
	back = func(i int) {
		if done[i] {
			return
		}
		done[i] = true
		for j := range d.Stages {
			if slices.Contains(next[j], i) {
				back(j)
			}
		}
	}
	for _, i := range ends {
		back(i)
	}
	for i, st := range d.Stages {
		if reach[i] && !done[i] && len(st.Decisions) > 0 {
			fs.Add(fmt.Sprintf("stages[%d].decisions", i), "stage %q is a dead end: no path from it ever ends the chain", st.Key)
		}
	}
}

// amountOver reports whether amount is larger than threshold; both are
// decimal strings. An amount that does not parse is not over anything.
func amountOver(amount, threshold string) bool {
	a, ok1 := new(big.Rat).SetString(strings.TrimSpace(amount))
	t, ok2 := new(big.Rat).SetString(threshold)
	return ok1 && ok2 && a.Cmp(t) > 0
}
